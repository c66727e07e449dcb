"""Bad and hostile input on the insured person's app and the operator's twins of its routes:
parallel wrong sign-in codes never get more than the lock-out's tries (PostgreSQL and SQLite),
a filing cannot start beyond a year ahead, a claim cannot be for treatment after today, a `for`
that is not a person number and an amount beyond any bill are refused naming the field. Each
refusal is a 400 and leaves the node's database as it was."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.db.store import Store
from medsettle.adapters.web.app_i18n import FIELDS_ZH
from medsettle.core.calendar import business_date
from medsettle.core.codes import make_id_card
from medsettle.core.errors import AuthenticationFailed
from medsettle.core.policy import PolicyBook
from medsettle.services import person_auth
from medsettle.services.filings import MAX_START_DAYS_AHEAD
from tests.api.conftest import (
    REGION,
    TestClient,
    add_operator,
    bearer,
    snapshot,
    tables_of,
)
from tests.api.test_person_app_api import MOTHER, Node, app_node, code_from_log, sign_in
from tests.conftest import store_on
from tests.e2e import fixtures as f

#: A valid ID number nobody is insured under (its sign-in row does not exist yet).
STRANGER = make_id_card("11010119800101999")


# --- the lock-out under parallel wrong codes ---------------------------------------------------

def guess_in_parallel(store: Store, certno: str, codes: list[str], now: datetime) -> list[str]:
    """Every code tried at once, each in its own transaction; the refusals (or errors) in
    words."""
    start = threading.Barrier(len(codes))
    said: list[str] = []
    lock = threading.Lock()

    def guess(code: str) -> None:
        start.wait()
        try:
            with store.tx() as tx:
                outcome = person_auth.verify_code(tx, certno, code, now)
            answer = "signed in" if outcome.refusal is None else str(outcome.refusal)
        except Exception as exc:  # an error is an answer the test counts
            answer = f"{type(exc).__name__}: {exc}"
        with lock:
            said.append(answer)
    threads = [threading.Thread(target=guess, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return said


def checked(answers: list[str]) -> list[str]:
    """The answers of codes that were checked (not refused by the lock before checking)."""
    return [a for a in answers if "wrong or expired" in a or "locked for" in a]


@pytest.fixture(params=["sqlite", "postgresql"])
def sign_in_store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    """A province's store with fixtures.ROWS["440000"], on SQLite or fresh PostgreSQL."""
    yield from store_on(request, tmp_path, "p", lambda url: load_rows(url, f.ROWS[REGION]))


def test_parallel_wrong_codes_are_checked_no_more_than_the_lock_out_allows(
        sign_in_store: Store) -> None:
    now = datetime.now(UTC)
    with sign_in_store.tx() as tx:
        sent = person_auth.request_code(tx, f.CHEN["certno"], now)
    assert sent.code is not None
    wrong = [c for c in (f"{n * 7919 % 10**6:06d}" for n in range(1, 32)) if c != sent.code][:30]
    answers = guess_in_parallel(sign_in_store, f.CHEN["certno"], wrong, now)
    assert len(checked(answers)) == person_auth.MAX_FAILURES, answers
    assert sum("locked until" in a for a in answers) == len(wrong) - person_auth.MAX_FAILURES
    # the right code now finds the number locked, and nothing was checked after the lock
    with pytest.raises(AuthenticationFailed, match="locked until"), sign_in_store.tx() as tx:
        person_auth.verify_code(tx, f.CHEN["certno"], sent.code, now)
    # a number tried for the first time by many at once: its row is made once, no conflict
    strangers = guess_in_parallel(sign_in_store, STRANGER, wrong, now)
    assert len(checked(strangers)) == person_auth.MAX_FAILURES, strangers
    assert all("wrong or expired" in a or "locked" in a for a in strangers), strangers


def test_sequential_wrong_codes_lock_the_number_on_sqlite(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    load_rows(url, f.ROWS[REGION])
    engine = make_engine(url)
    store, now = Store(engine), datetime.now(UTC)
    try:
        with store.tx() as tx:
            sent = person_auth.request_code(tx, f.CHEN["certno"], now)
        wrong = "000000" if sent.code != "000000" else "111111"
        said = []
        for _ in range(person_auth.MAX_FAILURES):
            with store.tx() as tx:
                said.append(str(person_auth.verify_code(tx, f.CHEN["certno"], wrong, now).refusal))
        assert said == [f"wrong or expired code ({n} tries left)" for n in range(4, 0, -1)] + [
            f"{person_auth.MAX_FAILURES} wrong codes: this ID number is locked for "
            f"{person_auth.LOCK_MINUTES} minutes"]
        for code in (wrong, str(sent.code)):  # locked: not even the right code is checked
            with pytest.raises(AuthenticationFailed, match="locked until"), store.tx() as tx:
                person_auth.verify_code(tx, f.CHEN["certno"], code, now)
        later = now + timedelta(minutes=person_auth.LOCK_MINUTES)
        with store.tx() as tx:
            again = person_auth.request_code(tx, f.CHEN["certno"], later)
        with store.tx() as tx:
            good = person_auth.verify_code(tx, f.CHEN["certno"], str(again.code), later)
        assert good.refusal is None and good.person.psn_no == f.CHEN["psn_no"]
    finally:
        engine.dispose()


# --- the app's node --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gd(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[Node]:
    """The app's node, answering a 500 as a response, so that a crash is seen as one rather
    than raised."""
    yield from app_node(tmp_path_factory.mktemp("person-app-hardening"), book,
                        raise_server_exceptions=False)


def person(gd: Node, who: dict[str, Any], caplog: pytest.LogCaptureFixture) -> TestClient:
    """A client signed in as `who` that answers a server error as a response."""
    signed = sign_in(gd, who, caplog)
    return TestClient(gd.http.app, raise_server_exceptions=False, cookies=signed.cookies,
                      headers=signed.headers)


def operator(gd: Node, name: str) -> TestClient:
    return TestClient(gd.http.app, raise_server_exceptions=False,
                      headers=bearer(add_operator(gd.node, name)))


def state(gd: Node) -> dict[str, tuple[int, str]]:
    """The node's data (not the audit log and sign-in rows, which a signed-in request
    touches)."""
    tables = [t for t in tables_of(gd.node.store.engine)
              if t.name not in ("audit_log", "person_sign_in", "operators")]
    return snapshot(gd.node.store.engine, tables)


def refused(answer: Any, field: str) -> None:
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == field, answer.text


def test_a_filing_cannot_start_beyond_a_year_ahead(gd: Node,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    chen, mother, clerk = person(gd, f.CHEN, caplog), person(gd, MOTHER, caplog), \
        operator(gd, "clerk")
    app_day = business_date(gd.clock.now)  # the app dates by the business date
    beyond = (app_day + timedelta(days=MAX_START_DAYS_AHEAD + 1)).isoformat()
    before = state(gd)
    for client, doc in ((chen, {"category": "other_temp", "destination": "310100",
                                "start": "9999-12-31"}),
                        (chen, {"category": "other_temp", "destination": "310100",
                                "start": beyond}),
                        (mother, {"category": "posted_worker", "destination": "330100",
                                  "commitment": True, "start": "9999-12-01"})):
        refused(client.post("/api/v1/me/filings", json=doc), "start")
    for start in ("9999-12-31", (gd.clock.now.date() + timedelta(
            days=MAX_START_DAYS_AHEAD + 1)).isoformat()):
        refused(clerk.post("/api/v1/filings", json={
            "psn_no": f.CHEN["psn_no"], "category": "other_temp", "destination": "310100",
            "start": start}), "start")
    assert state(gd) == before
    # the last day of the window is a filing like any other: it can be cancelled
    last = (app_day + timedelta(days=MAX_START_DAYS_AHEAD)).isoformat()
    made = chen.post("/api/v1/me/filings", json={"category": "other_temp",
                                                 "destination": "310100", "start": last})
    assert made.status_code == 200 and made.json()["valid_from"] == last, made.text
    cancelled = chen.post(f"/api/v1/me/filings/{made.json()['filing_no']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


CLAIM = {"region": "310100", "institution": "H31010000001", "level": "L3",
         "visit_type": "outpatient", "amount": "100"}


def test_a_claim_cannot_be_for_treatment_after_today(gd: Node,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    chen, clerk = person(gd, f.CHEN, caplog), operator(gd, "reviewer")
    today = business_date(gd.clock.now)
    before = state(gd)
    for day in (today + timedelta(days=1), today + timedelta(days=400), date(9999, 6, 1)):
        refused(chen.post("/api/v1/me/claims", json=CLAIM | {"treated_on": day.isoformat(),
                                                             "amount": "5000"}), "treated_on")
    lines = [{"cls": "A", "pric": "100.00", "cnt": "1"}]
    operator_claim = {"claim_id": "RBFUTURE1", "psn_no": f.CHEN["psn_no"],
                      "treating": {"admdvs": "310100", "fixmedins_code": "H31010000001",
                                   "level": "L3"},
                      "visit_type": "outpatient", "begntime": f"{today.isoformat()}T09:00:00",
                      "setl_date": today.isoformat(), "lines": lines}
    for change, field in (({"begntime": "9999-06-01T09:00:00", "setl_date": "9999-06-01"},
                           "begntime"),
                          ({"begntime": f"{today + timedelta(days=1)}T09:00:00",
                            "setl_date": (today + timedelta(days=1)).isoformat()}, "begntime"),
                          ({"setl_date": (today + timedelta(days=400)).isoformat()},
                           "setl_date")):
        refused(clerk.post("/api/v1/reimbursements", json=operator_claim | change), field)
    assert state(gd) == before
    # treatment today is claimed as before
    ok = chen.post("/api/v1/me/claims", json=CLAIM | {"treated_on": today.isoformat()})
    assert ok.status_code == 200 and ok.json()["setl_date"] == today.isoformat(), ok.text
    assert clerk.post("/api/v1/reimbursements", json=operator_claim).status_code == 200


def test_a_for_that_is_not_a_person_number_is_refused_naming_for(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    chen = person(gd, f.CHEN, caplog)
    today = business_date(gd.clock.now).isoformat()
    before = state(gd)
    for bad in ({"x": 1}, ["x"], 12, True):
        refused(chen.post("/api/v1/me/claims", json=CLAIM | {"treated_on": today,
                                                             "for": bad}), "for")
        refused(chen.post("/api/v1/me/estimate", json={
            "region": "310100", "level": "L3", "visit_type": "outpatient", "amount": "100",
            "for": bad}), "for")
    assert state(gd) == before
    mine = chen.post("/api/v1/me/estimate", json={"region": "310100", "level": "L3",
                                                  "visit_type": "outpatient", "amount": "100",
                                                  "for": ""})
    assert mine.status_code == 200, mine.text  # an empty `for` is oneself, as before


def test_an_amount_beyond_any_bill_is_refused_naming_amount(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    chen = person(gd, f.CHEN, caplog)
    today = business_date(gd.clock.now).isoformat()
    before = state(gd)
    for amount in ("1e30", "1E+999999", "1e400", "10000000.01"):
        refused(chen.post("/api/v1/me/estimate", json={
            "region": "310100", "level": "L3", "visit_type": "outpatient",
            "amount": amount}), "amount")
        refused(chen.post("/api/v1/me/claims", json=CLAIM | {"treated_on": today,
                                                             "amount": amount}), "amount")
        page = chen.get(f"/app/estimate?region=310100&level=L3&visit_type=outpatient"
                        f"&amount={amount}")
        assert page.status_code == 200, page.text[:300]
        shown = page.text.split('id="error">', 1)[-1].split("</p>", 1)[0]
        assert shown.startswith(FIELDS_ZH["amount"]), page.text  # the page names the field
    assert state(gd) == before
    top = chen.post("/api/v1/me/estimate", json={"region": "310100", "level": "L3",
                                                 "visit_type": "outpatient",
                                                 "amount": "10000000"})
    assert top.status_code == 200, top.text  # the maximum itself is a bill


def test_a_sign_in_not_sent_as_json_is_refused_and_starts_no_session(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    """Another site's form can post `text/plain` that reads as JSON, but not application/json:
    a sign-in sent so would sign the victim's browser in to the sender's chosen account."""
    client = gd.client()
    with caplog.at_level(logging.INFO):
        assert client.post("/api/v1/me/sign-in/code",
                           json={"certno": f.CHEN["certno"]}).status_code == 200
        code = code_from_log(caplog)
    gd.clock.now += timedelta(seconds=31)
    body = json.dumps({"certno": f.CHEN["certno"], "code": code})
    forged = client.post("/api/v1/me/sign-in", content=body,
                         headers={"Content-Type": "text/plain"})
    assert forged.status_code == 400 and forged.json()["error"]["field"] == "content-type"
    assert "set-cookie" not in forged.headers
    assert client.get("/api/v1/me").status_code == 401
    signed = client.post("/api/v1/me/sign-in", content=body,
                         headers={"Content-Type": "application/json; charset=utf-8"})
    assert signed.status_code == 200, signed.text  # the same code, unspent by the refusal
