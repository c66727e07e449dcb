"""An institution's credit at the treating province (services/credit.py) changed twice at once
on PostgreSQL: two decided cases (the decision courier and a hub worker), or a decision and an
operator's reinstatement. Each holds the credit row and the institution's before reading them,
so the second reads what the first wrote: no deduction, and no suspension, is lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from medsettle.adapters.db import store as store_module
from medsettle.adapters.db.store import Store
from medsettle.services import credit
from medsettle.services.audit import Actor, run_audited
from tests.api.conftest import his_rows
from tests.e2e import fixtures as f
from tests.integration.races import Meeting, both, loaded_node, rows, succeeded, until_waiting

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 11, 20, 3, tzinfo=UTC)
H = f.SHENZHEN_H


@pytest.fixture()
def node(pg_url: str) -> Iterator[tuple[Store, str]]:
    yield from loaded_node(pg_url, his_rows())


def scored(store: Store, score: int, suspended: bool = False) -> None:
    """The hospital's credit so far (an earlier finding)."""
    with store.tx() as tx:
        tx.add("institution_credit", {"fixmedins_code": H, "score": score,
                                      "suspended_until": None, "reason": "", "updated_at": NOW})
        tx.change("institutions", {"fixmedins_code": H}, suspended=suspended,
                  suspension_reason="credit below 60" if suspended else None)


def decision(store: Store, case_id: str, severity: str = "serious") -> Any:
    """What POST /fed/v1/supervision/decisions runs for one decided case (¥100 refused)."""
    def work(tx: Any) -> Any:
        return credit.apply_decision(tx, case_id=case_id, institution=H, insured="510000",
                                     severity=severity, refused=10_000, now=NOW,
                                     actor="node:hub")
    return lambda: run_audited(store, Actor.node("hub"), "credit.decision", H, work, NOW)


def standing(store: Store) -> tuple[int, bool]:
    score = rows(store.engine, "SELECT score FROM institution_credit WHERE fixmedins_code = :c",
                 c=H)[0][0]
    suspended = rows(store.engine, "SELECT suspended FROM institutions "
                                   "WHERE fixmedins_code = :c", c=H)[0][0]
    return score, suspended


@pytest.mark.parametrize(("earlier", "expected"), [(75, (55, True)), (None, (80, False))])
def test_two_decisions_for_one_institution_at_once_both_deduct_its_credit(
        node: tuple[Store, str], monkeypatch: pytest.MonkeyPatch, earlier: int | None,
        expected: tuple[int, bool]) -> None:
    """From 75: 75 − 10 − 10 = 55 < 60, suspended. With no credit row yet (100), both make it."""
    store, url = node
    if earlier is not None:
        scored(store, earlier)
    monkeypatch.setattr(credit, "apply_finding", Meeting(url).before(credit.apply_finding))
    out = both(decision(store, "C202611200001"), decision(store, "C202611200002"))
    events = rows(store.engine, "SELECT case_id, score_after FROM credit_events "
                                "WHERE action = 'deduct' ORDER BY id")
    assert len(succeeded(out)) == 2, out
    assert standing(store) == expected, (out, events)
    assert sorted(score for _, score in events) == [expected[0], expected[0] + 10], events


def test_one_case_decided_twice_at_once_deducts_once(
        node: tuple[Store, str], monkeypatch: pytest.MonkeyPatch) -> None:
    store, url = node
    scored(store, 75)
    monkeypatch.setattr(credit, "apply_finding", Meeting(url).before(credit.apply_finding))
    out = both(decision(store, "C202611200001"), decision(store, "C202611200001"))
    assert len(succeeded(out)) == 2, out
    assert standing(store) == (65, False), out
    assert rows(store.engine, "SELECT count(*) FROM credit_events WHERE action = 'deduct'"
                ) == [(1,)], out


def test_a_reinstatement_racing_a_fraud_finding_does_not_wipe_it(
        node: tuple[Store, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Suspended at 55, rectified: an operator reinstates while a fraud finding (−30, suspended
    12 months) arrives. The reinstatement has read the institution and its score when the
    finding comes; the finding must not be overwritten."""
    store, url = node
    scored(store, 55, suspended=True)
    read, fraud_done = threading.Event(), threading.Event()
    real_change = store_module.Tx.change

    def change(self: Any, name: Any, /, keys: Any, **values: Any) -> int:
        if name == "institutions" and threading.current_thread().name == "first":
            read.set()  # the reinstatement has read and checked; it writes next
            until_waiting(url, fraud_done)
        return real_change(self, name, keys, **values)
    monkeypatch.setattr(store_module.Tx, "change", change)

    def reinstate() -> Any:
        return run_audited(store, Actor("op", "operator", "440000"), "credit.reinstate", H,
                           lambda tx: credit.reinstate(tx, H, "rectified", NOW, "op"), NOW)

    def fraud() -> Any:
        assert read.wait(10)
        try:
            return decision(store, "C202611200009", "fraud")()
        finally:
            fraud_done.set()
    out = both(reinstate, fraud)
    score, suspended = standing(store)
    assert suspended is True and score < 60, (out, score, suspended)
