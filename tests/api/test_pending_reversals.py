"""The treating node's pending reversals (冲正 of a settle whose answer never came) are retried
with a backoff: each visit counts its failed attempts and waits 2 s, 4 s, 8 s… at most 10
minutes before the next one, never giving up; a failure is a WARNING, an ERROR from the tenth
on. One insured province that does not answer costs a round one call, not one per visit, and a
round starts no call after its time budget, so the heartbeat that runs it is not held up.
Before, every pending reversal was resent on every round, one after the other, logged at INFO."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from medsettle.adapters.db.store import Store
from medsettle.core.errors import NotFound, PeerUnavailable
from medsettle.core.records import VisitStatus
from medsettle.services import exchange as x
from medsettle.services.treating_settle import (
    REVERSAL_ALERT_AFTER,
    retry_pending_reversals,
    reversal_backoff,
)
from tests.conftest import migrated_store
from tests.integration.test_visits_awaiting_reversal import visit

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
LOGGER = "medsettle.services.treating_settle"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from migrated_store(request, tmp_path, "province")


class Insured:
    """Insured places that refuse or do not answer, by region; the others reverse."""

    def __init__(self, refuse: dict[str, Exception] | None = None,
                 answer: x.Reversed | None = None) -> None:
        self.refuse = refuse or {}
        self.answer = answer or x.Reversed(True)
        self.calls: list[tuple[str, str]] = []  # (insured region, visit id)

    def call(self, insured_region: str, op: str, msgid: str, request: Any) -> Any:
        assert op == "reverse"
        self.calls.append((insured_region, request.visit_id))
        if insured_region in self.refuse:
            raise self.refuse[insured_region]
        return self.answer


def pending(store: Store, *numbers: int, region: str = "510100") -> None:
    with store.tx() as tx:
        for n in numbers:
            tx.add_treated_visit(visit(n, status=VisitStatus.MANUAL, manual_reason="timeout",
                                       insured_region=region, reversal_pending=f"M{n}"))


def treating(store: Store, insured: Insured) -> Any:
    return SimpleNamespace(db=store, region="440000", insured=insured)


def state(store: Store, n: int) -> tuple[str | None, int, datetime | None]:
    with store.read() as tx:
        found = tx.treated_visit(visit(n).visit_id)
    assert found is not None
    return found.reversal_pending, found.reversal_attempts, found.reversal_next_at


def test_the_backoff_doubles_from_two_seconds_to_ten_minutes() -> None:
    assert [reversal_backoff(n).total_seconds() for n in range(1, 12)] == [
        2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    assert reversal_backoff(1000) == timedelta(minutes=10)


def test_a_refused_reversal_backs_off_alerts_and_is_never_given_up(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    pending(store, 1)
    insured = Insured({"510100": NotFound("no province node serves region 510100")})
    caplog.set_level(logging.INFO, LOGGER)
    t = treating(store, insured)
    assert retry_pending_reversals(t, NOW) == 0
    assert state(store, 1) == ("M1", 1, NOW + timedelta(seconds=2))
    for seconds in (0, 1, 1.999):  # not due yet: not sent
        assert retry_pending_reversals(t, NOW + timedelta(seconds=seconds)) == 0
    assert len(insured.calls) == 1
    warned = [r for r in caplog.records if r.name == LOGGER]
    assert [r.levelno for r in warned] == [logging.WARNING]
    assert (warned[0].mdtrt_id, warned[0].msgid, warned[0].attempts) == (  # type: ignore[attr-defined]
        visit(1).visit_id, "M1", 1)
    assert "[not_found] no province node serves" in warned[0].why  # type: ignore[attr-defined]

    caplog.clear()
    at = NOW
    for attempt in range(2, REVERSAL_ALERT_AFTER + 3):  # each round when it is due
        at = at + reversal_backoff(attempt - 1)
        assert retry_pending_reversals(t, at) == 0
        assert state(store, 1) == ("M1", attempt, at + reversal_backoff(attempt))
    assert len(insured.calls) == REVERSAL_ALERT_AFTER + 2
    assert state(store, 1)[2] == at + timedelta(minutes=10)  # at the cap, still pending
    levels = [r.levelno for r in caplog.records if r.name == LOGGER]
    assert levels == [logging.WARNING] * (REVERSAL_ALERT_AFTER - 2) + [logging.ERROR] * 3

    insured.refuse.clear()  # the insured place answers at last
    assert retry_pending_reversals(t, at + timedelta(minutes=9)) == 0
    assert retry_pending_reversals(t, at + timedelta(minutes=10)) == 1
    assert state(store, 1) == (None, 0, None)
    with store.read() as tx:
        assert tx.visits_awaiting_reversal() == []


def test_an_answer_that_the_original_settled_nothing_ends_the_pending_state(
        store: Store) -> None:
    pending(store, 1)
    t = treating(store, Insured(answer=x.Reversed(False)))
    assert retry_pending_reversals(t, NOW) == 1
    assert state(store, 1) == (None, 0, None)


def test_a_province_that_does_not_answer_costs_one_call_and_holds_up_no_other(
        store: Store) -> None:
    pending(store, 1, 2, region="650100")  # Xinjiang does not answer
    pending(store, 3, 4)
    insured = Insured({"650100": PeerUnavailable("province 650000 did not answer in time")})
    t = treating(store, insured)
    assert retry_pending_reversals(t, NOW) == 2
    assert insured.calls == [("650100", visit(1).visit_id), ("510100", visit(3).visit_id),
                             ("510100", visit(4).visit_id)]
    assert state(store, 1) == ("M1", 1, NOW + timedelta(seconds=2))
    assert state(store, 2) == ("M2", 0, None)  # not tried: due at the next round

    insured.calls.clear()  # the next round: the one never tried goes first
    assert retry_pending_reversals(t, NOW + timedelta(seconds=2)) == 0
    assert insured.calls == [("650100", visit(2).visit_id)]


def test_a_round_starts_no_call_after_its_budget(store: Store) -> None:
    pending(store, 1, 2, 3, 4)
    insured = Insured()
    ticks = iter(range(100))  # one second passes at every look at the clock

    def clock() -> float:
        return float(next(ticks))

    t = treating(store, insured)
    assert retry_pending_reversals(t, NOW, budget=2.5, clock=clock) == 2
    assert [v for _, v in insured.calls] == [visit(1).visit_id, visit(2).visit_id]
    assert [state(store, n)[0] for n in (1, 2, 3, 4)] == [None, None, "M3", "M4"]
    assert retry_pending_reversals(t, NOW) == 2  # the rest in the next round
    assert [state(store, n)[0] for n in (1, 2, 3, 4)] == [None] * 4


def test_the_metrics_show_how_many_reversals_wait_and_the_most_failures(store: Store) -> None:
    from prometheus_client import generate_latest

    from medsettle.adapters.observability import Metrics
    from medsettle.services.treating_settle import pending_reversals

    metrics = Metrics()
    metrics.watch_reversals(lambda: pending_reversals(store))
    assert "medsettle_pending_reversals 0.0" in generate_latest(metrics.registry).decode()
    pending(store, 1, 2)
    retry_pending_reversals(treating(store, Insured({"510100": PeerUnavailable("down")})), NOW)
    retry_pending_reversals(treating(store, Insured({"510100": PeerUnavailable("down")})),
                            NOW + timedelta(minutes=1))
    retry_pending_reversals(treating(store, Insured({"510100": PeerUnavailable("down")})),
                            NOW + timedelta(minutes=2))
    most = max(state(store, n)[1] for n in (1, 2))
    assert most == 2  # each round tried one (the province did not answer), the oldest first
    shown = generate_latest(metrics.registry).decode()
    assert "medsettle_pending_reversals 2.0" in shown
    assert "medsettle_pending_reversal_max_attempts 2.0" in shown
