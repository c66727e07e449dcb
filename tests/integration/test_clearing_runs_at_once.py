"""Two clearing runs at once apply each pending adjustment (拒付, carry-over, late row) once: runs
take turns on the index, and an adjustment is marked applied only while it is still pending."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.clearing import Obligation, YearMonth
from medsettle.core.errors import StateConflict
from medsettle.services import clearing as svc
from medsettle.services import refusals
from tests.integration.test_clearing_db import index_row, waiting_on_a_lock

OCT, NOV = YearMonth(2026, 10), YearMonth(2026, 11)
NOW = datetime(2026, 12, 5, tzinfo=UTC)


def _month_rows() -> list[dict[str, object]]:
    return [index_row("S-OCT", "settle", "110105", "440106",
                      OCT.bounds()[0] + timedelta(days=3), 10_000, 0, 0),
            index_row("S-NOV", "settle", "110105", "440106",
                      NOV.bounds()[0] + timedelta(days=3), 20_000, 0, 0)]


def hub_with_a_pending_refusal(url: str) -> Store:
    """A migrated hub with October's index rows and a refusal of ¥30 not applied yet."""
    engine = make_engine(url)
    migrate(engine, "hub")
    store = Store(engine)
    with store.tx() as tx:
        tx.add_many("settlement_index", _month_rows())
        refusals.add(tx, "CASE1", "110000", "440000", "refusal", -3_000, NOW)
    return store


@pytest.mark.postgres
def test_a_pending_refusal_is_applied_once_when_two_months_clear_at_once(
        pg_database: str) -> None:
    store = hub_with_a_pending_refusal(pg_database)
    october_applied = threading.Event()
    go_on = threading.Event()
    errors: list[BaseException] = []

    def hold_october(step: str, _done: int, _total: int) -> None:
        if step == "writing clearing lines":  # October applied the refusal, not committed yet
            october_applied.set()
            go_on.wait(10)

    def run(month: YearMonth, progress: svc.Progress | None) -> None:
        try:
            svc.run_clearing(store, month, NOW, progress=progress)
        except BaseException as exc:  # the test reports it
            errors.append(exc)

    october = threading.Thread(target=run, args=(OCT, hold_october))
    november = threading.Thread(target=run, args=(NOV, None))
    try:
        october.start()
        assert october_applied.wait(10)
        november.start()
        while november.is_alive() and not waiting_on_a_lock(pg_database):
            november.join(0.01)
        go_on.set()
        october.join(20)
        november.join(20)
        assert not errors, errors
        with store.tx() as tx:
            lines = {(str(x.month), int(x.obligation), int(x.adjustment))
                     for x in tx.rows("clearing_lines")}
            applied = {str(r.month_applied) for r in tx.rows("clearing_adjustments")}
    finally:
        go_on.set()
        store.engine.dispose()
    assert lines == {("2026-10", 7_000, -3_000), ("2026-11", 20_000, 0)}
    assert applied == {"2026-10"}


@pytest.mark.postgres
def test_two_runs_of_one_month_at_once_clear_it_once(pg_database: str) -> None:
    store = hub_with_a_pending_refusal(pg_database)
    results: list[dict[str, object]] = []
    try:
        threads = [threading.Thread(target=lambda: results.append(
            svc.run_clearing(store, OCT, NOW))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        with store.tx() as tx:
            count = tx.count("clearing_lines", month=str(OCT))
    finally:
        store.engine.dispose()
    assert sorted(bool(r["created"]) for r in results) == [False, False, True]
    assert {r["obligations"] for r in results} == {7_000} and count == 1


def test_an_adjustment_another_run_applied_meanwhile_is_refused_not_applied_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    migrate(engine, "hub")
    store = Store(engine)
    with store.tx() as tx:
        refusals.add(tx, "CASE1", "110000", "440000", "refusal", -3_000, NOW)
        stale = refusals.pending(tx)  # what a run read before another run marked it
        tx.change("clearing_adjustments", {"id": stale[0]["id"]}, month_applied=str(OCT))
    monkeypatch.setattr(refusals, "pending", lambda _tx: stale)
    with pytest.raises(StateConflict) as refused, store.tx() as tx:
        refusals.apply_adjustments(tx, NOV, [Obligation("110000", "440000")])
    with store.tx() as tx:
        applied = [str(r.month_applied) for r in tx.rows("clearing_adjustments")]
    engine.dispose()
    assert refused.value.field == "month_applied" and "CASE1" in str(refused.value)
    assert applied == ["2026-10"]
