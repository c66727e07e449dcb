"""Two decisions on one proposed parameter set at once (PostgreSQL): an approval and a
rejection, or two approvals by two checkers. Each step read the row without a lock and then
changed it by id alone, so a rejection made while an approval was between its read and its
write left both recorded (audit log: policy.reject then policy.approve; the set approved, the
rejection's note kept). Now a step holds the row (SELECT … FOR UPDATE) and writes only if the
status is still the one it read: the second decision waits and is refused (state_conflict)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import load_policy_book, policies_dir
from medsettle.core.errors import StateConflict
from medsettle.core.operators import Operator
from medsettle.core.served import ServedBook
from medsettle.services import policy_sets
from medsettle.services.operators import create_operator, operator_named

pytestmark = pytest.mark.postgres

NOW = datetime.now(UTC)
SEED = policies_dir() / "440100" / "resident" / "440100-resident-2025.yaml"


@pytest.fixture()
def node(pg_database: str) -> Iterator[tuple[Store, dict[str, Operator]]]:
    engine = make_engine(pg_database)
    migrate(engine, "province")
    store = Store(engine)
    with store.tx() as tx:
        for name in ("clerk", "checker", "second"):
            create_operator(tx, name, "province", "440000", NOW)
        people = {name: operator_named(tx, name, "province", "440000")
                  for name in ("clerk", "checker", "second")}
    try:
        yield store, people
    finally:
        engine.dispose()


def proposal(store: Store, clerk: Operator) -> int:
    doc = yaml.safe_load(SEED.read_text(encoding="utf-8")) | {
        "id": "440100-resident-2027", "valid_from": "2027-01-01"}
    return int(policy_sets.propose(store, doc, "gz.yaml", clerk, NOW, "440000")["id"])


def outcome(step: Callable[[], Any]) -> str:
    try:
        step()
    except StateConflict:
        return "refused"
    return "done"


class Other:
    """A step run in another thread once approve has read the proposal: it is given 2 s (it
    ends at once unless it waits for approve's lock), then approve goes on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, step: Callable[[], Any]) -> None:
        self.step, self.thread, self.outcome = step, threading.Thread(target=self._run), ""
        original = policy_sets._proposed

        def interleaved(tx: Any, set_row: int, province: str) -> Any:
            found = original(tx, set_row, province)
            if not self.thread.is_alive() and not self.outcome:
                self.thread.start()
                self.thread.join(timeout=2)
            return found
        monkeypatch.setattr(policy_sets, "_proposed", interleaved)

    def _run(self) -> None:
        self.outcome = outcome(self.step)

    def ended(self) -> str:
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the other decision never ended"
        return self.outcome


def decisions(store: Store, set_row: int) -> tuple[str, list[str]]:
    with store.tx() as tx:
        row = tx.one("policy_sets", id=set_row)
        actions = [r.action for r in tx.rows("audit_log", order_by="id")]
    return row.status, actions


def test_a_rejection_while_an_approval_is_under_way_is_refused(
        node: tuple[Store, dict[str, Operator]], monkeypatch: pytest.MonkeyPatch) -> None:
    store, people = node
    set_row = proposal(store, people["clerk"])
    other = Other(monkeypatch, lambda: policy_sets.reject(
        store, set_row, people["clerk"], "撤回: 文号有误", NOW, "440000"))
    approved = outcome(lambda: policy_sets.approve(store, ServedBook(load_policy_book()),
                                                   set_row, people["checker"], NOW, "440000"))
    assert (approved, other.ended()) == ("done", "refused")
    status, actions = decisions(store, set_row)
    assert (status, actions) == ("approved", ["policy.propose", "policy.approve"])
    with store.tx() as tx:
        row = tx.one("policy_sets", id=set_row)
    assert (row.approved_by, row.rejected_by, row.note) == ("checker", None, "")


def test_two_approvals_at_once_record_one(
        node: tuple[Store, dict[str, Operator]], monkeypatch: pytest.MonkeyPatch) -> None:
    store, people = node
    set_row = proposal(store, people["clerk"])
    other = Other(monkeypatch, lambda: policy_sets.approve(
        store, ServedBook(load_policy_book()), set_row, people["second"], NOW, "440000"))
    first = outcome(lambda: policy_sets.approve(store, ServedBook(load_policy_book()), set_row,
                                                people["checker"], NOW, "440000"))
    assert (first, other.ended()) == ("done", "refused")
    status, actions = decisions(store, set_row)
    assert (status, actions) == ("approved", ["policy.propose", "policy.approve"])
    with store.tx() as tx:
        assert tx.one("policy_sets", id=set_row).approved_by == "checker"


def test_a_decided_proposal_is_refused_by_the_status_guard_too(
        node: tuple[Store, dict[str, Operator]]) -> None:
    store, people = node
    set_row = proposal(store, people["clerk"])
    with store.tx() as tx:  # as if another node decided it between a read and a write
        tx.change("policy_sets", {"id": set_row}, status="rejected")
        with pytest.raises(StateConflict, match="changed meanwhile; it is no longer proposed"):
            policy_sets._set_status(tx, set_row, "proposed", "approved", approved_by="checker")
