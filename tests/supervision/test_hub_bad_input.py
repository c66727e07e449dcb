"""The hub's supervision and statistics against what it must not answer or keep, on PostgreSQL:
every province's prepayment and the clearing totals only for hub operators; a province's
malformed statistics report refused at collection and skipped in the figures; malformed batch
hits, a non-ASCII refused amount and absurd console amounts answered 400 (or the console's
message) naming the field, with nothing changed."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.api.hub_supervision import MAX_HITS
from medsettle.adapters.federation import signed_headers
from medsettle.services import supervision_cases as svc
from medsettle.services.audit import Actor
from medsettle.services.operators import create_operator
from medsettle.services.statistics import OPERATORS_ONLY
from tests.api.conftest import REGION, Province, snapshot, start_province, tables_of
from tests.api.test_console_pages import PASSWORD, csrf_of, sign_in
from tests.conftest import fresh_database, send_json
from tests.e2e import fixtures as f
from tests.supervision.test_statistics import row

KEYS = {"440000": "k-gd", "510000": "k-sc", "110000": "k-bj"}
NOW = datetime.now(UTC)
MONTH = NOW.strftime("%Y-%m")
HIT = {"rule": "R09", "unit": "institution", "key": "H51010100001", "severity": "warning",
       "message": "surge", "threshold": "r09.surge_ratio = 1.20", "source": "shipped",
       "measured": {"ratio": "1.30"}, "settlements": ["S1"], "lines": [],
       "institution": "H51010100001", "person": "", "amount": 100}


class Hub:
    """The hub behind a TestClient, its operator's token and a case between 440000 (insured)
    and 510000 (treating), requested."""

    def __init__(self, http: TestClient, token: str, case_id: str) -> None:
        self.http, self.token, self.case_id = http, token, case_id
        self.store = http.app.state.store  # type: ignore[attr-defined]
        self.tables = tables_of(self.store.engine)

    def snapshot(self) -> dict[str, tuple[int, str]]:
        return snapshot(self.store.engine, self.tables)

    def post(self, path: str, doc: Any, node: str) -> Any:
        body = json.dumps(doc).encode()
        return self.http.post(path, content=body,
                              headers=signed_headers(KEYS[node], node, path, body))

    def get(self, path: str, node: str | None = None, query: str = "",
            headers: dict[str, str] | None = None) -> Any:
        signed = signed_headers(KEYS[node], node, path, b"", query) if node else {}
        return self.http.get(path + (f"?{query}" if query else ""),
                             headers=signed | (headers or {}))


@pytest.fixture(scope="module")
def hub(pg_url: str) -> Iterator[Hub]:
    with fresh_database(pg_url) as url:
        app = create_hub_app(HubConfig(db_url=url, keys=KEYS))
        with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as http:
            store = app.state.store
            with store.tx() as tx:
                _, token = create_operator(tx, "hub-ops", "hub", None, NOW, PASSWORD)
                tx.add("settlement_index", row("S1", "440100", "510100", "inpatient", 200_000,
                                               100_000, when=NOW))
            gd = Actor("gd", "province", "440000")
            case = svc.create_case(store, kind="verification", insured="440000",
                                   treating="510000", institution="", reason="test",
                                   settlement_ids=["S1"], actor=gd, now=NOW)
            svc.act(store, case.case_id, "request", gd, NOW, {})
            hub = Hub(http, token, case.case_id)
            assert hub.post("/prepayment/440000/topup", {"amount": 12_345_678,
                                                         "reference": "GD-0001"},
                            "440000").status_code == 200
            yield hub
        app.state.store.engine.dispose()


# --- 1. every province's prepayment and the clearing totals are the hub operators' ----------
def test_the_public_statistics_leave_out_the_prepayment_and_the_clearing(hub: Hub) -> None:
    anonymous = hub.get(f"/statistics/{MONTH}")
    signed = hub.get(f"/statistics/{MONTH}", "510000")
    for answer in (anonymous, signed):
        assert answer.status_code == 200, answer.text
        assert "totals" in answer.json() and not set(OPERATORS_ONLY) & set(answer.json())
        assert "12345678" not in answer.text
    operator = hub.get(f"/statistics/{MONTH}",
                       headers={"authorization": f"Bearer {hub.token}"})
    assert operator.status_code == 200
    accounts = {a["province"]: a for a in operator.json()["prepayment"]}
    assert accounts["440000"]["balance"] == 12_345_678 and "status" in operator.json()["clearing"]
    wrong = hub.get(f"/statistics/{MONTH}", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401  # credentials that fail are refused, as on /prepayment


def test_an_operator_signed_in_to_the_console_reads_them(hub: Hub) -> None:
    console = TestClient(hub.http.app, follow_redirects=False)
    sign_in(console, "hub-ops")
    page = console.get(f"/console/statistics?month={MONTH}")
    assert page.status_code == 200 and f'href="/statistics/{MONTH}"' in page.text
    linked = console.get(f"/statistics/{MONTH}")  # the page's JSON link, with the session
    assert linked.status_code == 200
    assert {a["province"]: a["balance"] for a in linked.json()["prepayment"]
            }["440000"] == 12_345_678


# --- 2. a province's malformed statistics report ---------------------------------------------
BAD_REPORT = {"province": "510000", "manual": [
    {"treating_region": "440100", "visit_type": "inpatient", "claims": "lots", "medfee": 0}]}


class Fake(BaseHTTPRequestHandler):
    """A province answering GET /fed/v1/statistics/{month} with BAD_REPORT."""

    def do_GET(self) -> None:
        send_json(self, {"ok": True, "result": BAD_REPORT})

    def log_message(self, *args: Any) -> None:
        pass


def test_a_malformed_report_is_refused_and_the_figures_still_answer(
        hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    server = HTTPServer(("127.0.0.1", 0), Fake)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        registered = hub.post("/fed/v1/register",
                              {"endpoint": f"http://127.0.0.1:{server.server_port}"}, "510000")
        assert registered.status_code == 200, registered.text
        with caplog.at_level(logging.WARNING):
            collected = hub.post(f"/statistics/{MONTH}/collect", {}, "440000")
        assert collected.status_code == 200, collected.text
        assert "manual[0].claims" in collected.json()["result"]["510000"]
        warned = [r for r in caplog.records if r.getMessage() == "province report refused"]
        assert [(r.province, r.field) for r in warned] == [  # type: ignore[attr-defined]
            ("510000", "manual[0].claims")]
    finally:
        server.shutdown()
    with hub.store.tx() as tx:
        assert tx.one("node_reports", province="510000", month=MONTH, kind="node") is None


def test_a_malformed_stored_report_is_skipped_with_a_warning(
        hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    """A report kept before the hub checked them: skipped, the other province's counts."""
    good = {"manual": [{"treating_region": "510100", "visit_type": "inpatient", "claims": 3,
                        "medfee": 0}], "tiers": {"hifp": 5}, "filings": []}
    month = "2025-05"  # a month of its own: these reports stay
    with hub.store.tx() as tx:
        for province, doc in (("440000", good), ("110000", BAD_REPORT)):
            tx.add("node_reports", {"province": province, "month": month, "kind": "node",
                                    "document": doc, "received_at": NOW})
    with caplog.at_level(logging.WARNING):
        figures = hub.get(f"/statistics/{month}")
        csv = hub.get(f"/statistics/{month}", query="format=csv")
    assert figures.status_code == 200 and csv.status_code == 200, figures.text
    assert figures.json()["totals"]["manual"] == 3  # Guangdong's, not Beijing's
    assert figures.json()["funds_by_tier"]["hifp"] == 5
    assert csv.text.splitlines()[1].startswith("2025-05,440000,510000,inpatient,0,0,3,")
    skipped = {(r.province, r.field) for r in caplog.records  # type: ignore[attr-defined]
               if r.getMessage() == "province report skipped"}
    assert skipped == {("110000", "manual[0].claims")}


# --- 3. a province's malformed batch hits ----------------------------------------------------
@pytest.mark.parametrize(("hits", "field"), [
    (["x"], "hits[0]"),
    ([{}], "hits[0].rule"),
    ([HIT, {**HIT, "amount": "1.5"}], "hits[1].amount"),
    ([{**HIT, "amount": 1.5}], "hits[0].amount"),
    ([{**HIT, "amount": 10**30}], "hits[0].amount"),
    ([{**HIT, "settlements": {"a": 1}}], "hits[0].settlements"),
    ([{**HIT, "settlements": ["S" * 31]}], "hits[0].settlements"),
    ([{**HIT, "rule": ["R01"]}], "hits[0].rule"),
    ([{**HIT, "unit": "planet"}], "hits[0].unit"),
    ([{**HIT, "severity": "x" * 11}], "hits[0].severity"),
    ([{**HIT, "key": ""}], "hits[0].key"),
    ([{**HIT, "institution": "H" * 13}], "hits[0].institution"),
    ([{**HIT, "person": 7}], "hits[0].person"),
    ([{**HIT, "measured": ["ratio"]}], "hits[0].measured"),
    ([{**HIT, "measured": {"ratio": 1.3}}], "hits[0].measured"),
    ([{**HIT, "key": "a\x00b"}], "hits[0].key"),  # PostgreSQL's text refuses NUL
    ([{**HIT, "person": "P\x00"}], "hits[0].person"),
    ([{**HIT, "institution": "H\x00"}], "hits[0].institution"),
    ([{**HIT, "settlements": ["S\x001"]}], "hits[0].settlements"),
    ([HIT] * (MAX_HITS + 1), "hits"),
])
def test_malformed_hits_are_refused_naming_the_field(hub: Hub, hits: list[Any],
                                                     field: str) -> None:
    before = hub.snapshot()
    answer = hub.post("/fed/v1/supervision/hits", {"month": "2026-10", "hits": hits}, "440000")
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field
    assert hub.snapshot() == before


def test_sound_hits_are_kept(hub: Hub) -> None:
    answer = hub.post("/fed/v1/supervision/hits", {"month": "2026-09", "hits": [HIT]}, "440000")
    assert answer.status_code == 200 and answer.json()["result"]["kept"] == 1
    with hub.store.tx() as tx:
        kept = tx.rows("supervision_hits", month="2026-09")
    assert [(h.rule, h.amount, h.settlement_id, h.document["reported_by"]) for h in kept] == [
        ("R09", 100, "S1", "440000")]


def test_a_report_in_parts_keeps_every_part_and_the_next_report_replaces_them(
        hub: Hub) -> None:
    def report(hits: list[Any], replace: Any = None) -> Any:
        doc = {"month": "2026-08", "hits": hits} | ({} if replace is None
                                                   else {"replace": replace})
        return hub.post("/fed/v1/supervision/hits", doc, "440000")

    def current() -> list[str]:
        with hub.store.tx() as tx:
            return sorted(h.key for h in tx.rows("supervision_hits", month="2026-08",
                                                 source="batch"))
    assert report([{**HIT, "key": "a"}]).status_code == 200
    assert report([{**HIT, "key": "b"}], replace=False).status_code == 200
    assert current() == ["a", "b"]
    assert report([{**HIT, "key": "c"}], replace=True).status_code == 200
    assert current() == ["c"]
    refused = report([HIT], replace="no")
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "replace"


@pytest.mark.parametrize(("path", "query", "field"), [
    ("/supervision/hits", "rule=R0%001", "rule"), ("/supervision/hits", "rule=R99", "rule"),
    ("/supervision/cases", "state=a%00", "state"), ("/supervision/cases", "state=x", "state")])
def test_a_malformed_filter_is_refused_naming_it(hub: Hub, path: str, query: str,
                                                 field: str) -> None:
    answer = hub.get(path, "440000", query)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field


@pytest.mark.parametrize("ids", [["S\x001"], ["S" * 31], ["S 1"]])
def test_a_case_on_a_malformed_settlement_id_is_refused(hub: Hub, ids: list[str]) -> None:
    before = hub.snapshot()
    answer = hub.post("/supervision/cases", {"kind": "verification", "insured": "440000",
                                             "treating": "510000", "reason": "x",
                                             "settlements": ids}, "440000")
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == "settlements"
    assert hub.snapshot() == before


# --- 4. the refused amount of a case's answer ------------------------------------------------
def test_a_province_not_party_to_the_case_is_refused_before_its_amount_is_read(
        hub: Hub) -> None:
    before = hub.snapshot()
    answer = hub.post(f"/supervision/cases/{hub.case_id}/answer", {"refused": "²"}, "110000")
    assert answer.status_code == 403, answer.text
    assert hub.snapshot() == before


@pytest.mark.parametrize("refused", ["²", "١٢", "-5", "1.5", "1e3", 1.5, True, None,
                                     10**13, "99999999999999"])
def test_the_treating_province_answers_a_whole_ascii_amount(hub: Hub, refused: Any) -> None:
    before = hub.snapshot()
    answer = hub.post(f"/supervision/cases/{hub.case_id}/answer",
                      {"outcome": "partly_refused", "refused": refused, "severity": "minor"},
                      "510000")
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == "refused"
    assert hub.snapshot() == before


# --- 5. absurd amounts typed in the consoles -------------------------------------------------
def flash_after(console: TestClient, answer: Any, page: str) -> str:
    assert answer.status_code == 303, answer.text
    html: str = console.get(page).text
    return html.split('class="flash error"', 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize("amount", ["1e30", "99999999999999999999", "1e400", "10000000000.01"])
def test_an_absurd_top_up_in_the_hub_console_changes_nothing(hub: Hub, amount: str) -> None:
    console = TestClient(hub.http.app, follow_redirects=False)
    sign_in(console, "hub-ops")
    console.get("/console/lang/en")
    page = console.get("/console/prepayment")
    before = hub.snapshot()
    answer = console.post("/console/prepayment/440000/topup",
                          data={"amount": amount, "reference": "GD-ABSURD",
                                "csrf_token": csrf_of(page.text)})
    assert "amount: must be at most ¥10,000,000,000" in flash_after(
        console, answer, "/console/prepayment")
    assert hub.snapshot() == before


def test_a_top_up_in_the_hub_console_needs_its_transfer_number_and_is_booked_once(
        hub: Hub) -> None:
    console = TestClient(hub.http.app, follow_redirects=False)
    sign_in(console, "hub-ops")
    console.get("/console/lang/en")
    page = console.get("/console/prepayment")
    assert 'name="reference"' in page.text
    before = hub.snapshot()
    answer = console.post("/console/prepayment/110000/topup",
                          data={"amount": "1.00", "csrf_token": csrf_of(page.text)})
    assert "reference" in flash_after(console, answer, "/console/prepayment")
    assert hub.snapshot() == before

    def balance() -> int:  # Beijing's: Guangdong's balance is another test's
        with hub.store.tx() as tx:
            account = tx.one("prepayment_accounts", province="110000")
        return int(account.balance) if account else 0
    start = balance()
    for _ in range(2):  # the operator sends the form again: the first answer never came
        answer = console.post("/console/prepayment/110000/topup",
                              data={"amount": "1.00", "reference": " BJ-CONSOLE-1 ",
                                    "csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303
    assert balance() == start + 100
    answer = console.post("/console/prepayment/110000/topup",
                          data={"amount": "2.00", "reference": "BJ-CONSOLE-1",
                                "csrf_token": csrf_of(page.text)})
    assert "reference" in flash_after(console, answer, "/console/prepayment")
    assert balance() == start + 100


def test_an_absurd_refused_amount_in_the_hub_console_changes_nothing(hub: Hub) -> None:
    console = TestClient(hub.http.app, follow_redirects=False)
    sign_in(console, "hub-ops")
    console.get("/console/lang/en")
    page = console.get(f"/console/supervision/cases/{hub.case_id}")
    before = hub.snapshot()
    answer = console.post(f"/console/supervision/cases/{hub.case_id}/answer", data={
        "refused": "1e30", "outcome": "refused", "severity": "minor",
        "csrf_token": csrf_of(page.text)})
    assert "refused: must be at most ¥10,000,000,000" in flash_after(
        console, answer, f"/console/supervision/cases/{hub.case_id}")
    assert hub.snapshot() == before


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory, book: object) -> Iterator[Province]:
    yield from start_province(tmp_path_factory.mktemp("bad-amounts"), f.ROWS[REGION], book)  # type: ignore[arg-type]


def test_an_absurd_refused_amount_in_a_province_console_changes_nothing(
        province: Province) -> None:
    with province.node.store.tx() as tx:
        create_operator(tx, "gd-clerk", "province", REGION, NOW, PASSWORD)
    console = TestClient(province.http.app, follow_redirects=False)
    sign_in(console, "gd-clerk")
    console.get("/console/lang/en")
    page = console.get("/console/supervision")
    before = province.snapshot()
    answer = console.post("/console/supervision/cases/C1/answer", data={
        "refused": "1e30", "outcome": "refused", "csrf_token": csrf_of(page.text)})
    assert "refused: must be at most ¥10,000,000,000" in flash_after(
        console, answer, "/console/supervision")
    assert province.snapshot() == before
