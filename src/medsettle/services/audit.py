"""The audit log (审计日志) of a node: every state-changing action of an operator or of another
node, with who, when, what, and the target's state before and after.

`record` is called in the same transaction as the action it records, so an action and its audit
line are committed together or not at all. The table is append-only in the database (triggers,
as the ledger): a line is never changed or deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medsettle.core.operators import Operator
from medsettle.services.ports import Database, UnitOfWork

#: The most lines one page of the audit log shows.
PAGE = 200


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: an operator (name, role, region) or a node (`node:<region>`)."""

    name: str
    role: str
    region: str | None = None

    @classmethod
    def of(cls, operator: Operator) -> Actor:
        """The actor for a signed-in or token-bearing operator."""
        return cls(operator.name, operator.role, operator.region)

    @classmethod
    def node(cls, region: str, on_behalf_of: str | None = None) -> Actor:
        """A node acting by its signature (optionally naming the operator who asked it)."""
        name = f"node:{region}" + (f" ({on_behalf_of[:64]})" if on_behalf_of else "")
        return cls(name, "node", region if region != "hub" else None)


def _plain(value: Any) -> Any:
    """A JSON-safe copy (dates and decimals as text)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def record(tx: UnitOfWork, actor: Actor, action: str, target: str, before: Any, after: Any,
           now: datetime) -> None:
    """Append one line: `actor` did `action` (e.g. `filing.approve`) on `target` at `now`."""
    tx.add("audit_log", {"at": now, "actor": actor.name[:100], "role": actor.role[:12],
                         "region": actor.region, "action": action[:60], "target": target[:120],
                         "before": _plain(before), "after": _plain(after)})


def lines(tx: UnitOfWork, limit: int = PAGE) -> list[dict[str, Any]]:
    """The newest `limit` lines, newest first."""
    return [_view(r._mapping) for r in tx.rows_after("audit_log", "id", 0, limit=limit,
                                                     descending=True)]


def _view(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "at", "actor", "role", "region", "action", "target",
                                "before", "after")}


def run_audited(store: Database, actor: Actor, action: str, target: str | Callable[[Any], str],
                work: Callable[[UnitOfWork], Any], now: datetime,
                before: Callable[[UnitOfWork], Any] | None = None) -> Any:
    """Run `work(tx)` and record it in one transaction: the line holds `before(tx)` (read first)
    and what `work` returned. `target` may be computed from the result (a new filing's number).
    If `work` raises, nothing is written, the audit line neither."""
    with store.tx() as tx:
        prior = before(tx) if before is not None else None
        result = work(tx)
        named = target(result) if callable(target) else target
        record(tx, actor, action, named, prior, result, now)
        return result


def row_of(tx: UnitOfWork, table: str, **keys: object) -> dict[str, Any] | None:
    """A row as a plain dict (the `before` of an audit line), or None."""
    row = tx.one(table, **keys)
    return None if row is None else dict(row._mapping)


def held_row_of(tx: UnitOfWork, table: str, **keys: object) -> dict[str, Any] | None:
    """A row as a plain dict, read under its lock (`Tx.hold`): the `before` of a change that
    locks the row itself, so that it is what the change found, not what a concurrent change
    has just replaced."""
    row = tx.hold(table, **keys)
    return None if row is None else dict(row._mapping)
