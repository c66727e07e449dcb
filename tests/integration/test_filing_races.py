"""Filings (备案) changed twice at once on PostgreSQL (two operators, or the app and the counter):
each change holds the person before it reads their filings, so the second finds what the first
wrote and is refused by the filing rules; one outcome is stored and audited. A pause between
each one's read and its write (races.Meeting) makes the interleaving deterministic."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from medsettle.adapters.db.store import Store
from medsettle.core.errors import MedSettleError, StateConflict
from medsettle.core.policy import PolicyBook
from medsettle.services import filings, insured
from medsettle.services.audit import Actor, row_of, run_audited
from medsettle.services.exchange import OpenVisit
from medsettle.services.records import filing_from_row
from tests.e2e import fixtures as f
from tests.integration.races import Meeting, both, loaded_node, rows, succeeded, until_waiting

pytestmark = pytest.mark.postgres
ON = date(2025, 9, 1)
NOW = datetime(2025, 9, 1, 2, tzinfo=UTC)
WANG_FILING = "BA510100202501010000001"  # WANG: posted_worker → 440300, approved 2025-01-01
PENDING = f.filing("BA510100202508010000001", f.LI, "referral", "440300") | {
    "status": "pending", "route": "materials", "decided_on": None,
    "applied_on": date(2025, 8, 28), "valid_from": date(2025, 8, 28),
    "valid_until": date(2025, 11, 26), "review_due": date(2025, 9, 10)}


@pytest.fixture()
def node(pg_url: str) -> Iterator[tuple[Store, str]]:
    seed = {k: list(v) for k, v in f.ROWS["510000"].items()}
    seed["filings"] = [*seed["filings"], PENDING]
    yield from loaded_node(pg_url, seed)


def audited(store: Store, action: str, filing_no: str, work: Any) -> Any:
    """What the console runs: the change and its audit line, in one transaction."""
    return run_audited(store, Actor("op-" + action, "operator", "510000"), action, filing_no,
                       work, NOW, lambda tx: row_of(tx, "filings", filing_no=filing_no))


def refused(out: dict[str, Any]) -> list[Any]:
    return [v for v in out.values() if isinstance(v, BaseException)]


def test_an_approval_and_a_rejection_of_one_filing_at_once_do_not_both_succeed(
        node: tuple[Store, str], monkeypatch: pytest.MonkeyPatch) -> None:
    store, url = node
    monkeypatch.setattr(filings, "_save", Meeting(url).before(filings._save))
    no = PENDING["filing_no"]
    out = both(lambda: audited(store, "filing.approve", no,
                               lambda tx: filings.decide(tx, no, True, "", ON)),
               lambda: audited(store, "filing.refuse", no,
                               lambda tx: filings.decide(tx, no, False, "materials forged", ON)))
    status = rows(store.engine, "SELECT status FROM filings WHERE filing_no = :n", n=no)
    lines = rows(store.engine, "SELECT after->>'status' FROM audit_log WHERE target = :n", n=no)
    assert len(succeeded(out)) == 1, (out, status, lines)
    assert all(isinstance(e, MedSettleError) for e in refused(out)), out
    assert lines == status, (out, status, lines)  # one line, saying what the row holds


def test_two_changes_of_one_filing_at_once_leave_one_active_filing(
        node: tuple[Store, str], book: PolicyBook, monkeypatch: pytest.MonkeyPatch) -> None:
    store, url = node
    monkeypatch.setattr(filings, "_seq", Meeting(url).before(filings._seq))
    out = both(*(lambda d=d: audited(store, "filing.change", WANG_FILING,
                                     lambda tx: filings.change(tx, book, WANG_FILING, d, ON))
                 for d in ("310000", "110000")))
    active = rows(store.engine, "SELECT destination FROM filings WHERE psn_no = :p "
                                "AND status = 'approved'", p=f.WANG["psn_no"])
    assert len(active) == 1 and len(succeeded(out)) == 1, (out, active)
    assert all(isinstance(e, MedSettleError) for e in refused(out)), out


def test_two_long_term_filings_filed_at_once_are_not_both_approved(
        node: tuple[Store, str], book: PolicyBook, monkeypatch: pytest.MonkeyPatch) -> None:
    store, url = node
    monkeypatch.setattr(filings, "_seq", Meeting(url).before(filings._seq))

    def file(destination: str) -> Any:
        doc = {"psn_no": f.LI["psn_no"], "category": "long_term_resident",
               "destination": destination, "commitment": True, "start": ON.isoformat()}
        return lambda: audited(store, "filing.create", "",
                               lambda tx: filings.create(tx, book, doc, ON))
    out = both(file("310000"), file("440300"))
    active = rows(store.engine, "SELECT destination FROM filings WHERE psn_no = :p "
                                "AND status = 'approved' AND category = 'long_term_resident'",
                  p=f.LI["psn_no"])
    assert len(active) == 1 and len(succeeded(out)) == 1, (out, active)
    assert all(isinstance(e, MedSettleError) for e in refused(out)), out


def test_a_filing_is_stored_only_over_the_status_it_was_read_with(
        node: tuple[Store, str]) -> None:
    store, _ = node
    with store.tx() as tx:
        read = filing_from_row(tx.one("filings", filing_no=PENDING["filing_no"])._mapping)
        filings.decide(tx, PENDING["filing_no"], True, "", ON)  # now approved
    with pytest.raises(StateConflict) as caught, store.tx() as tx:
        filings._save(tx, read, filings.actions.reject(read, ON, "late"))
    assert caught.value.field == "status"
    assert rows(store.engine, "SELECT status FROM filings WHERE filing_no = :n",
                n=PENDING["filing_no"]) == [("approved",)]


def admitting(store: Store, book: PolicyBook) -> Any:
    """WANG's admission in Shenzhen, classed by his filing (as 2401 runs it at his node)."""
    req = OpenVisit("V-RACE-1", f.WANG["psn_no"], "310", "inpatient", "21", "440300",
                    f.SHENZHEN_H, datetime(2025, 9, 1, 1, tzinfo=UTC), "02", f.WANG["certno"])
    with store.tx() as tx:
        return insured.open_visit(tx, book, req, "440000").benefit_class


def test_a_filing_is_not_cancelled_while_an_admission_it_classes_commits(
        node: tuple[Store, str], book: PolicyBook, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cancel reads the person's open stays (none yet), the admission reads the filing
    (approved) and commits: without a lock on the person the filing ends cancelled while a
    stay it classed long-term is open."""
    store, url = node
    checked, admitted = threading.Event(), threading.Event()
    real = filings._standing

    def standing(tx: Any, person: Any) -> Any:
        found = real(tx, person)
        checked.set()
        until_waiting(url, admitted)  # the admission commits, or waits on the cancel
        return found
    monkeypatch.setattr(filings, "_standing", standing)

    def cancel() -> Any:
        with store.tx() as tx:
            return filings.cancel(tx, book, WANG_FILING, ON)["status"]

    def admit() -> Any:
        assert checked.wait(10)
        try:
            return admitting(store, book)
        finally:
            admitted.set()
    out = both(cancel, admit)
    filing = rows(store.engine, "SELECT status FROM filings WHERE filing_no = :n", n=WANG_FILING)
    stays = rows(store.engine, "SELECT status, benefit_class FROM insured_visits "
                               "WHERE psn_no = :p", p=f.WANG["psn_no"])
    assert not (filing == [("cancelled",)] and stays and stays[0][0] == "open"), (
        out, filing, stays)
