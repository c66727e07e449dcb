"""Two operators doing the same thing at once on PostgreSQL: suspending (or reinstating, or
marking networked) one institution, or disabling one operator. Each reads the row under its
lock, so the second finds the first's change: one succeeds (one audit line, one 'changed'),
the other is refused or told nothing changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from medsettle.adapters.db import store as store_module
from medsettle.adapters.db.store import Store
from medsettle.core.errors import StateConflict
from medsettle.services import institutions, operators
from medsettle.services.audit import Actor, run_audited
from tests.e2e import fixtures as f
from tests.integration.races import Meeting, both, loaded_node, rows, succeeded

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 11, 20, 3, tzinfo=UTC)
H = f.SHENZHEN_H


@pytest.fixture()
def node(pg_url: str) -> Iterator[tuple[Store, str]]:
    yield from loaded_node(pg_url, f.ROWS["440000"])


def pause_before_writing(monkeypatch: pytest.MonkeyPatch, url: str, table: str) -> None:
    """Each thread's first write of `table` waits until both have read (races.Meeting)."""
    meeting, real = Meeting(url), store_module.Tx.change

    def change(self: Any, name: Any, /, keys: Any, **values: Any) -> int:
        if name == table:
            meeting.wait()
        return real(self, name, keys, **values)
    monkeypatch.setattr(store_module.Tx, "change", change)


CHANGES: dict[str, tuple[dict[str, object], Callable[[Any], Any]]] = {
    "suspend": ({}, lambda tx: institutions.suspend(tx, H, "audit findings")),
    "reinstate": ({"suspended": True, "suspension_reason": "audit findings"},
                  lambda tx: institutions.reinstate(tx, H, "rectified")),
    "not_networked": ({}, lambda tx: institutions.set_networked(tx, H, False)),
}


@pytest.mark.parametrize("action", sorted(CHANGES))
def test_one_change_of_an_institution_made_twice_at_once_is_made_once(
        node: tuple[Store, str], monkeypatch: pytest.MonkeyPatch, action: str) -> None:
    store, url = node
    earlier, work = CHANGES[action]
    if earlier:
        with store.tx() as tx:
            tx.change("institutions", {"fixmedins_code": H}, **earlier)
    pause_before_writing(monkeypatch, url, "institutions")

    def console() -> Any:  # as /console/institutions/{code}/{action} runs it
        return run_audited(store, Actor("op", "operator", "440000"), f"institution.{action}",
                           H, work, NOW, lambda tx: institutions.state(tx, H))
    out = both(console, console)
    lines = rows(store.engine, "SELECT count(*) FROM audit_log WHERE target = :c", c=H)
    assert len(succeeded(out)) == 1 and lines == [(1,)], (out, lines)
    assert all(isinstance(v, StateConflict) for v in out.values() if isinstance(v, Exception))


def test_an_operator_disabled_twice_at_once_is_disabled_once(
        node: tuple[Store, str], monkeypatch: pytest.MonkeyPatch) -> None:
    store, url = node
    with store.tx() as tx:
        operators.create_operator(tx, "clerk", "province", "440000", NOW)
    pause_before_writing(monkeypatch, url, "operators")

    def disable() -> bool:
        with store.tx() as tx:
            return operators.disable_operator(tx, "clerk")[1]
    out = both(disable, disable)
    assert sorted(out.values()) == [False, True], out
