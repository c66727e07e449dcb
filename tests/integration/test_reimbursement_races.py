"""Two steps of one reimbursement claim at once, on PostgreSQL with real threads: each step reads
the claim under a row lock, so the second waits for the first to commit, then finds the status
it wrote and is refused (StateConflict) where the two steps exclude each other. The ledger then
holds exactly one outcome of the claim and the person's payable is settled."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.db.store import Store
from medsettle.core.errors import StateConflict
from medsettle.core.policy import PolicyBook
from medsettle.services import reimbursement as rb
from tests.api.conftest import his_rows
from tests.conftest import fresh_database
from tests.e2e import fixtures as f
from tests.integration.races import first_holds_until_second_waits

pytestmark = pytest.mark.postgres
NOW = datetime(2025, 3, 10, 4, tzinfo=UTC)
CLAIM = {"claim_id": "RACE1", "psn_no": f.CHEN["psn_no"],
         "treating": {"admdvs": "510100", "fixmedins_code": "H51010400001", "level": "L3"},
         "visit_type": "inpatient", "begntime": "2025-03-01T09:00:00", "setl_date": "2025-03-06",
         "lines": [{"cls": "A", "pric": "3000.00", "cnt": "5", "selfpay_prop": "0",
                    "lmt_pric": None, "restricted_ok": True, "code": f.SERVICE_BED}]}
Step = Callable[[Any], dict[str, Any]]


@pytest.fixture()
def node(pg_url: str) -> Iterator[tuple[Store, str]]:
    with fresh_database(pg_url) as url:
        rows = his_rows()
        rows["accumulators"] = [{"psn_no": f.CHEN["psn_no"], "year": "", "path": "acct_balance",
                                 "value": 100000}]
        load_rows(url, rows)
        engine = make_engine(url)
        yield Store(engine), url
        engine.dispose()


def race(store: Store, url: str, first: Step, second: Step) -> dict[str, Any]:
    """`first` runs in its transaction and stays uncommitted until `second` (another thread,
    another transaction) waits on a lock; then `first` commits. The outcome of each: its
    answer, or the StateConflict it raised."""
    out: dict[str, Any] = {}
    done, release = threading.Event(), threading.Event()

    def one() -> None:
        with store.tx() as tx:
            out["first"] = first(tx)
            done.set()
            release.wait(10)

    def two() -> None:
        try:
            with store.tx() as tx:
                out["second"] = second(tx)
        except StateConflict as exc:
            out["second"] = exc

    first_holds_until_second_waits(one, done, two, release, url)
    return out


def outcome(store: Store) -> tuple[str, list[str], int]:
    """The claim's status, the kinds of its ledger entries, the person's payable."""
    with store.tx() as tx:
        status = str(tx.one("reimbursement_claims", claim_id="RACE1").status)
        kinds = sorted(str(r.kind) for r in tx.rows("ledger_entries") if r.ref == "RACE1")
        payable = sum(int(r.amount) for r in tx.rows(
            "ledger_postings", account=f"payable:person:{f.CHEN['psn_no']}"))
    return status, kinds, payable


def submit(store: Store, book: PolicyBook, approved: bool) -> int:
    with store.tx() as tx:
        owed = int(rb.submit_claim(tx, book, rb.parse_claim(CLAIM), NOW)["owed"])
        if approved:
            rb.approve(tx, "RACE1", NOW)
    assert owed > 0
    return owed


def pay(tx: Any) -> dict[str, Any]:
    return rb.pay(tx, "RACE1", NOW)


def reject(tx: Any) -> dict[str, Any]:
    return rb.reject(tx, "RACE1", "duplicate invoice", NOW)


def approve(tx: Any) -> dict[str, Any]:
    return rb.approve(tx, "RACE1", NOW)


@pytest.mark.parametrize(("approved", "first", "second", "status", "entry"), [
    (True, pay, reject, "paid", "reimburse_pay"),  # a reject racing a payment
    (True, reject, pay, "rejected", "reimburse_reject"),  # a payment racing a reject
    (False, reject, approve, "rejected", "reimburse_reject"),  # an approval racing a reject
], ids=["reject-after-pay", "pay-after-reject", "approve-after-reject"])
def test_the_second_of_two_racing_steps_is_refused(
        node: tuple[Store, str], book: PolicyBook, approved: bool, first: Step, second: Step,
        status: str, entry: str) -> None:
    store, url = node
    submit(store, book, approved=approved)
    out = race(store, url, first, second)
    assert out["first"]["status"] == status
    assert isinstance(out["second"], StateConflict) and status in str(out["second"])
    assert outcome(store) == (status, ["reimburse", entry], 0)
    if status == "rejected":  # not brought back: it cannot be paid
        with store.tx() as tx, pytest.raises(StateConflict):
            rb.pay(tx, "RACE1", NOW)


def test_steps_one_after_another_stay_idempotent(node: tuple[Store, str],
                                                 book: PolicyBook) -> None:
    store, url = node
    owed = submit(store, book, approved=False)
    out = race(store, url, approve, approve)
    assert out["first"]["status"] == out["second"]["status"] == "approved"
    out = race(store, url, pay, pay)
    assert out["first"]["status"] == out["second"]["status"] == "paid"
    assert out["second"]["owed"] == owed
    assert outcome(store) == ("paid", ["reimburse", "reimburse_pay"], 0)


def test_an_audit_line_keeps_what_the_step_found_not_a_status_just_replaced(
        node: tuple[Store, str], book: PolicyBook) -> None:
    """The audit line's `before` is read under the claim's lock, as the step reads it: a
    payment repeated while the first commits finds (and records) "paid", not "approved"."""
    from medsettle.adapters.api.province_money import claim_state

    store, url = node
    submit(store, book, approved=True)
    seen: dict[str, Any] = {}

    def audited_pay(tx: Any) -> dict[str, Any]:
        seen["before"] = claim_state(tx, "RACE1")
        return pay(tx)

    out = race(store, url, pay, audited_pay)
    assert out["second"]["status"] == "paid"
    assert seen["before"]["status"] == "paid"
