"""亲情账户 links (services/person_scope) on PostgreSQL, two devices at once: the member consents
while the link is ended, or the agent asks twice. A link is changed only while it has the status
its change read, and an agent's asks run one at a time, so what a person was told stands."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from medsettle.adapters.db import store as store_module
from medsettle.adapters.db.store import Store
from medsettle.core.errors import StateConflict
from medsettle.services import person_scope as scope
from tests.e2e import fixtures as f
from tests.integration.races import Meeting, both, loaded_node, rows, succeeded, until_waiting

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 11, 20, 3, tzinfo=UTC)
AGENT, MEMBER = f.WANG["psn_no"], f.LI["psn_no"]


@pytest.fixture()
def node(pg_url: str) -> Iterator[tuple[Store, str]]:
    yield from loaded_node(pg_url, f.ROWS["510000"])


def asked(store: Store) -> int:
    with store.tx() as tx:
        tx.add("family_links", {"agent_psn_no": AGENT, "member_psn_no": MEMBER,
                                "relationship": "spouse", "status": "asked", "asked_at": NOW})
    return int(rows(store.engine, "SELECT id FROM family_links")[0][0])


@pytest.mark.parametrize("last", ["consent", "end"])
def test_a_link_ended_while_its_member_consents_ends_as_the_one_that_succeeded(
        node: tuple[Store, str], monkeypatch: pytest.MonkeyPatch, last: str) -> None:
    """Both read the asked link; `last` writes once the other has committed."""
    store, url = node
    link_id = asked(store)
    names = {"first": "consent", "second": "end"}
    done = {name: threading.Event() for name in names.values()}
    last_read, real = threading.Event(), store_module.Tx.change

    def change(self: Any, name: Any, /, keys: Any, **values: Any) -> int:
        me = names.get(threading.current_thread().name)
        if name == "family_links" and me == last:
            last_read.set()
            until_waiting(url, done["end" if last == "consent" else "consent"])
        elif name == "family_links" and me is not None:
            assert last_read.wait(10)  # both have read the link
        return real(self, name, keys, **values)
    monkeypatch.setattr(store_module.Tx, "change", change)

    def act(action: str) -> Any:
        try:
            with store.tx() as tx:
                return scope.decide(tx, MEMBER, link_id, action, NOW)["status"]
        finally:
            done[action].set()
    out = both(lambda: act("consent"), lambda: act("end"))
    status = rows(store.engine, "SELECT status FROM family_links WHERE id = :i", i=link_id)
    won = succeeded(out)
    assert len(won) == 1 and [(out[won[0]],)] == status, (out, status)
    lost = out["first" if won == ["second"] else "second"]
    assert isinstance(lost, StateConflict) and lost.field == "status", out


def ask(store: Store, member: dict[str, Any]) -> Any:
    doc = {"certno": member["certno"], "name": member["psn_name"], "relationship": "other"}

    def run() -> Any:
        with store.tx() as tx:
            return scope.ask(tx, AGENT, doc, NOW)["status"]
    return run


@pytest.mark.parametrize("members", [(f.LI, f.LI), (f.LI, f.ZHAO)],
                         ids=["same member", "over the limit"])
def test_two_asks_of_one_agent_at_once_keep_the_rules_of_asking(
        node: tuple[Store, str], monkeypatch: pytest.MonkeyPatch,
        members: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """One member asked twice, or two members when one more is all the agent may ask."""
    store, url = node
    monkeypatch.setattr(scope, "MAX_LINKS", 1)
    meeting, real = Meeting(url), store_module.Tx.add

    def add(self: Any, name: Any, row: Any) -> None:
        if name == "family_links":
            meeting.wait()  # both have read the agent's links
        real(self, name, row)
    monkeypatch.setattr(store_module.Tx, "add", add)
    out = both(ask(store, members[0]), ask(store, members[1]))
    links = rows(store.engine, "SELECT member_psn_no FROM family_links")
    assert len(links) == 1 and len(succeeded(out)) == 1, (out, links)
    assert all(isinstance(v, StateConflict) for v in out.values() if v != "asked"), out
