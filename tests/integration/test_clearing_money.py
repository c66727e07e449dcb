"""The hub's money under concurrency and after a lost answer: a prepayment balance that agrees
with its moves and its ledger when a top-up meets a clearing run or two months are cleared at
once (PostgreSQL, real threads); a month first run while it had nothing to clear; a top-up
resent after its answer was lost (booked once per payment reference); a province down when the
hub paid its statement, told to pay its institutions when the same /paid is sent again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core import ledger
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import InvalidInput, StateConflict
from medsettle.services import clearing as svc
from medsettle.services.hub import add_to_index
from tests.conftest import fresh_database, send_json
from tests.integration.test_clearing_db import (
    AFTER,
    OCT,
    SEP,
    _app,
    _post,
    hub_chain,
    index_row,
    load,
    waiting_on_a_lock,
)


@pytest.fixture()
def hub(pg_url: str) -> Iterator[tuple[Store, str]]:
    with fresh_database(pg_url) as url:
        engine = make_engine(url)
        migrate(engine, "hub")
        yield Store(engine), url
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    else:
        url = request.getfixturevalue("pg_database")
        engine = make_engine(url)
    migrate(engine, "hub")
    yield Store(engine)
    engine.dispose()


def books(store: Store, province: str) -> tuple[int, int, int]:
    """The account's balance, Σ of its top-up and draw moves, and what the ledger says it holds."""
    with store.tx() as tx:
        account = tx.one("prepayment_accounts", province=province)
        moves = sum(int(m.amount) for m in tx.rows("prepayment_moves", province=province)
                    if m.kind in ("topup", "draw"))
        ledger = -sum(int(p.amount) for p in tx.rows("ledger_postings",
                                                       account=f"prepayment:{province}"))
    return int(account.balance) if account else 0, moves, ledger


def meanwhile(url: str, work: Callable[[], Any], threads: list[threading.Thread],
              out: dict[str, Any], name: str) -> Callable[[str, int, int], None]:
    """A clearing run's progress: once its draws are written (uncommitted), `work` starts in
    another thread and the run goes on when that thread waits on a lock (or has finished)."""
    def progress(_step: str, done: int, _total: int) -> None:
        if done == 4:
            thread = threading.Thread(target=lambda: out.setdefault(name, work()))
            thread.start()
            threads.append(thread)
            while thread.is_alive() and not waiting_on_a_lock(url):
                thread.join(0.01)
    return progress


@pytest.mark.postgres
def test_a_top_up_during_a_clearing_run_loses_no_draw(hub: tuple[Store, str]) -> None:
    store, url = hub
    load(store, [index_row("B1", "settle", "110000", "440000", OCT.bounds()[0] + timedelta(days=3),
                           140_000, 10_000, 0)])
    svc.top_up(store, "110000", 1_000_000, AFTER, reference="T1")
    threads: list[threading.Thread] = []
    out: dict[str, Any] = {}
    def top_up() -> Any:
        return svc.top_up(store, "110000", 50_000, AFTER, reference="T2")
    progress = meanwhile(url, top_up, threads, out, "topup")
    assert svc.run_clearing(store, OCT, AFTER, progress)["created"]
    threads[0].join(10)
    assert out["topup"]["balance"] == 900_000  # the top-up waited for the draw, then added
    assert books(store, "110000") == (900_000, 900_000, 900_000)


@pytest.mark.postgres
def test_two_months_cleared_at_once_lose_no_draw(hub: tuple[Store, str]) -> None:
    store, url = hub
    load(store, [index_row("A1", "settle", "110000", "440000", SEP.bounds()[0] + timedelta(days=3),
                           90_000, 10_000, 0),
                 index_row("B1", "settle", "110000", "440000", OCT.bounds()[0] + timedelta(days=3),
                           140_000, 10_000, 0)])
    svc.top_up(store, "110000", 1_000_000, AFTER, reference="T1")
    threads: list[threading.Thread] = []
    out: dict[str, Any] = {}
    progress = meanwhile(url, lambda: svc.run_clearing(store, OCT, AFTER), threads, out, "oct")
    assert svc.run_clearing(store, SEP, AFTER, progress)["created"]
    threads[0].join(10)
    assert out["oct"]["created"]
    assert books(store, "110000") == (750_000, 750_000, 750_000)
    assert books(store, "440000")[0] == 0  # a receiver's account is not drawn


# --- a month first run while it had nothing to clear -----------------------------------------
def test_a_month_run_while_empty_is_cleared_once_its_settlements_are_indexed(
        store: Store) -> None:
    first = svc.run_clearing(store, OCT, AFTER)  # the hub lost its journal: nothing indexed yet
    assert (first["status"], first["created"], first["nothing_to_clear"]) == (
        "not_cleared", False, True)
    with store.tx() as tx:
        assert tx.count("ledger_entries") == 0 and tx.count("clearing_lines") == 0
    with store.tx() as tx:  # the catch-up (or reconciliation) indexes October's settlement
        add_to_index(tx, [index_row("B1", "settle", "110000", "440000",
                                    OCT.bounds()[0] + timedelta(days=3), 140_000, 10_000, 0)],
                     AFTER)
        assert tx.count("clearing_adjustments") == 0  # not late: October is not cleared
    again = svc.run_clearing(store, OCT, AFTER)
    assert (again["status"], again["created"], again["obligations"]) == ("drafted", True,
                                                                         150_000)
    assert {s["province"]: s["net"] for s in again["statements"]} == {"110000": -150_000,
                                                                      "440000": 150_000}
    assert svc.run_clearing(store, OCT, AFTER)["created"] is False
    november = svc.run_clearing(store, YearMonth(2026, 11), AFTER + timedelta(days=12))
    assert november["nothing_to_clear"] and november["obligations"] == 0  # not cleared twice
    assert books(store, "110000") == (-150_000, -150_000, -150_000)


def test_a_month_an_older_version_cleared_while_empty_is_cleared_beside_its_empty_entry(
        store: Store) -> None:
    with store.tx() as tx:  # what a run of an empty October left before: an entry, no statements
        svc.post(tx, ledger.balanced(f"clearing:{OCT}", "clearing", str(OCT), AFTER, []),
                 role="hub")
    load(store, [index_row("B1", "settle", "110000", "440000",
                           OCT.bounds()[0] + timedelta(days=3), 140_000, 10_000, 0)])
    result = svc.run_clearing(store, OCT, AFTER)
    assert result["created"] and result["obligations"] == 150_000
    chain = hub_chain(store)
    assert [e.entry.entry_id for e in chain] == [f"clearing:{OCT}", f"clearing:{OCT}:after-empty"]
    assert ledger.verify(chain) is None
    assert ledger.balances(chain) == {"prepayment:110000": 150_000,
                                      "payable:province:440000": -150_000}


def test_a_conflict_that_leaves_the_month_uncleared_is_not_swallowed(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def conflict(*_args: Any, **_kwargs: Any) -> Any:
        raise StateConflict("a concurrent write got there first: duplicate entry_id")
    monkeypatch.setattr(svc, "_clear", conflict)
    with pytest.raises(StateConflict, match="got there first"):
        svc.run_clearing(store, OCT, AFTER)


# --- a top-up is booked once per payment reference -------------------------------------------
KEYS = {"110000": "k-bj", "440000": "k-gd"}
TOPUP = "/prepayment/110000/topup"


def test_a_top_up_resent_after_its_answer_was_lost_is_booked_once(store: Store) -> None:
    client = _app(store, KEYS, AFTER)
    doc = {"amount": 300_000, "reference": "ICBC-2026110100042"}
    first = _post(client, KEYS, "110000", TOPUP, doc)
    again = _post(client, KEYS, "110000", TOPUP, doc)  # the first answer was lost
    assert first.status_code == again.status_code == 200
    assert (first.json()["balance"], first.json()["already"]) == (300_000, False)
    assert (again.json()["balance"], again.json()["already"]) == (300_000, True)
    assert again.json()["reference"] == "ICBC-2026110100042"
    assert books(store, "110000") == (300_000, 300_000, 300_000)
    other = _post(client, KEYS, "110000", TOPUP, {"amount": 300_000, "reference": "ICBC-43"})
    assert other.json()["already"] is False and books(store, "110000")[0] == 600_000
    with store.tx() as tx:
        assert tx.count("ledger_entries", kind="prepayment_topup") == 2
        assert tx.count("prepayment_moves", kind="topup") == 2


def test_a_reference_sent_again_with_another_amount_is_refused(store: Store) -> None:
    svc.top_up(store, "110000", 300_000, AFTER, reference="ICBC-1")
    with pytest.raises(svc.ReferenceReused, match="reference: 'ICBC-1' already topped up") as exc:
        svc.top_up(store, "110000", 300_001, AFTER, reference="ICBC-1")
    assert exc.value.field == "reference" and isinstance(exc.value, StateConflict)
    client = _app(store, KEYS, AFTER)
    refused = _post(client, KEYS, "110000", TOPUP, {"amount": 5, "reference": "ICBC-1"}).json()
    assert refused["error"]["field"] == "reference"
    assert refused["error"]["code"] == "state_conflict"
    assert books(store, "110000") == (300_000, 300_000, 300_000)
    # a reference is the province's: another province's payment may carry the same number
    assert svc.top_up(store, "440000", 7, AFTER, reference="ICBC-1")["already"] is False


@pytest.mark.parametrize("reference", [None, "", " ", "ICBC 1", "转账001", "x" * 41, 12345])
def test_a_top_up_without_a_well_formed_reference_is_refused(store: Store,
                                                            reference: Any) -> None:
    client = _app(store, KEYS, AFTER)
    doc: dict[str, object] = {"amount": 300_000}
    if reference is not None:
        doc["reference"] = reference
    answer = _post(client, KEYS, "110000", TOPUP, doc)
    assert answer.json()["error"]["field"] == "reference"
    with pytest.raises(InvalidInput, match="reference"):
        svc.top_up(store, "110000", 300_000, AFTER, reference=reference)
    assert books(store, "110000") == (0, 0, 0)


@pytest.mark.postgres
def test_the_same_top_up_sent_twice_at_once_is_booked_once(hub: tuple[Store, str]) -> None:
    store, _url = hub
    out: list[Any] = []
    start = threading.Barrier(4)

    def send() -> None:
        start.wait(10)
        out.append(svc.top_up(store, "110000", 300_000, AFTER, reference="ICBC-77"))
    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(a["already"] for a in out) == [False, True, True, True]
    assert books(store, "110000") == (300_000, 300_000, 300_000)


# --- a province down when the hub paid its statement -----------------------------------------
class Province(BaseHTTPRequestHandler):
    """A province node that pays its institutions when the hub tells it (records each call)."""

    calls: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        Province.calls.append(self.path)
        send_json(self, {"ok": True, "result": {"H440000": 150_000}
                         if len(Province.calls) == 1 else {}})

    def log_message(self, *_args: Any) -> None:
        pass


def test_a_province_down_when_its_statement_was_paid_is_told_again_by_the_same_paid(
        store: Store) -> None:
    load(store, [index_row("B1", "settle", "110000", "440000",
                           OCT.bounds()[0] + timedelta(days=3), 140_000, 10_000, 0)])
    keys = KEYS | {"hub": "k-hub"}
    with store.tx() as tx:  # Guangdong's node is registered, but down (nothing listens)
        tx.add("nodes", {"region": "440000", "endpoint": "http://127.0.0.1:9", "status": "up",
                         "since": AFTER, "last_seen": AFTER, "registered_at": AFTER})
    client = _app(store, keys, AFTER)
    assert _post(client, keys, "440000", "/clearing/2026-10/run", {}).status_code == 200
    for side in ("insured", "treating"):
        _post(client, keys, "440000", "/clearing/2026-10/statements/440000/confirm",
              {"side": side})
    paid = "/clearing/2026-10/statements/440000/paid"
    down = _post(client, keys, "440000", paid, {})
    assert down.status_code == 200
    doc = down.json()
    assert (doc["state"], doc["institutions_paid"], doc["province_told"]) == ("paid", None, False)
    assert doc["tell_again"]["method"] == "POST" and doc["tell_again"]["path"] == paid
    assert "send this request again" in doc["tell_again"]["why"]
    server = HTTPServer(("127.0.0.1", 0), Province)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Province.calls = []
    try:
        with store.tx() as tx:  # Guangdong is back
            tx.change("nodes", {"region": "440000"},
                      endpoint=f"http://127.0.0.1:{server.server_address[1]}")
        up = _post(client, keys, "440000", paid, {}).json()
        assert (up["state"], up["institutions_paid"], up["province_told"]) == (
            "paid", {"H440000": 150_000}, True)
        assert "tell_again" not in up
        again = _post(client, keys, "hub", paid, {}).json()  # an operator's check: nothing new
        assert (again["institutions_paid"], again["province_told"]) == ({}, True)
    finally:
        server.shutdown()
        server.server_close()
    assert Province.calls == ["/fed/v1/clearing/2026-10/pay-institutions"] * 2
    with store.tx() as tx:  # the hub paid the statement once
        assert tx.count("ledger_entries", kind="clearing_paid") == 1


def test_the_console_says_when_a_paid_province_could_not_be_told(tmp_path: Any) -> None:
    """The hub's console marks a statement paid; with the province down it says so (the
    statement stays paid, pressing Paid again tells the province), instead of "Done."."""
    from fastapi.testclient import TestClient

    from medsettle.adapters.api.hub import HubConfig, create_hub_app
    from medsettle.adapters.web.hub_pages import NOT_TOLD
    from medsettle.services.operators import create_operator
    from tests.api.test_console_pages import PASSWORD, csrf_of, sign_in

    keys = KEYS | {"hub": "k-hub"}
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{tmp_path / 'hub.db'}", keys=keys))
    with TestClient(app, follow_redirects=False) as http:
        store: Store = app.state.store
        load(store, [index_row("P1", "settle", "110000", "440000",
                               OCT.bounds()[0] + timedelta(days=3), 140_000, 10_000, 0)])
        with store.tx() as tx:  # Guangdong's node is registered, but down (nothing listens)
            create_operator(tx, "hub-ops", "hub", None, AFTER, PASSWORD)
            tx.add("nodes", {"region": "440000", "endpoint": "http://127.0.0.1:9",
                             "status": "up", "since": AFTER, "last_seen": AFTER,
                             "registered_at": AFTER})
        assert _post(http, keys, "440000", "/clearing/2026-10/run", {}).status_code == 200
        for side in ("insured", "treating"):
            assert _post(http, keys, "440000", "/clearing/2026-10/statements/440000/confirm",
                         {"side": side}).status_code == 200
        console = TestClient(app, follow_redirects=False)
        sign_in(console, "hub-ops")
        console.get("/console/lang/en")
        page = console.get("/console/clearing/2026-10")
        answer = console.post("/console/clearing/2026-10/440000/paid",
                              data={"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303, answer.text
        shown = console.get("/console/clearing/2026-10").text
        assert 'class="flash error"' in shown and NOT_TOLD.split(":")[0] in shown
        with store.tx() as tx:
            assert tx.one("clearing_statements", month="2026-10", province="440000"
                          ).status == "paid"
