"""A decided case at the hub on PostgreSQL: the decision courier keeps what the treating province
did (services/supervision_cases.note_credit) while an operator closes the case (act 'close').
Both read the case and then write its document; each holds the row as it reads it, so whichever
writes last writes over what the other wrote, not over what it read: the case ends closed, with
its credit note, and not owed to the treating province again."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from medsettle.adapters.db import store as store_module
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.supervision.cases import CaseItem, Party, open_case
from medsettle.services import supervision_cases as svc
from medsettle.services.audit import Actor
from tests.conftest import fresh_database
from tests.integration.races import Meeting, both, until_waiting

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 11, 20, 3, tzinfo=UTC)
HUB = Party("hub-op", "hub", None)
CASE = "C202611100001"
TOLD = {"told": True, "institution": "H44030400123", "score": 65, "suspended": False}


@pytest.fixture()
def node(pg_url: str) -> Iterator[tuple[Store, str]]:
    with fresh_database(pg_url) as url:
        engine = make_engine(url)
        migrate(engine, "hub")
        store = Store(engine)
        case = open_case(CASE, "verification", "510000", "440000", "H44030400123", "surge",
                         (CaseItem("S1", 10_000, "H44030400123"),), HUB, NOW - timedelta(10))
        case = case.request(HUB, NOW - timedelta(9))
        case = case.answer(HUB, NOW - timedelta(5), "refused", 10_000, "serious")
        case = case.decide(HUB, NOW - timedelta(1))
        with store.tx() as tx:
            tx.add("supervision_cases", svc._case_row(case, now=NOW) | {"untold": True})
        yield store, url
        engine.dispose()


@pytest.mark.parametrize("last", ["note", "close"])
def test_closing_a_case_while_the_courier_notes_the_credit_loses_neither(
        node: tuple[Store, str], monkeypatch: pytest.MonkeyPatch, last: str) -> None:
    """Both read the decided case; then `last` writes after the other has committed."""
    store, url = node
    meeting, names = Meeting(url), {"first": "note", "second": "close"}
    done = {name: threading.Event() for name in names.values()}
    paused: set[str] = set()
    real = store_module.Tx.change

    def change(self: Any, name: Any, /, keys: Any, **values: Any) -> int:
        me = names.get(threading.current_thread().name)
        if name == "supervision_cases" and me is not None and me not in paused:
            paused.add(me)
            meeting.wait()  # both have read the case (or the other waits on its lock)
            if me == last:
                until_waiting(url, done["close" if me == "note" else "note"])
        return real(self, name, keys, **values)
    monkeypatch.setattr(store_module.Tx, "change", change)

    def note() -> Any:
        try:
            return svc.note_credit(store, CASE, TOLD, NOW)
        finally:
            done["note"].set()

    def close() -> Any:
        try:
            return svc.act(store, CASE, "close", Actor("hub-op", "hub"), NOW,
                           {"note": "recovered"}).state
        finally:
            done["close"].set()
    out = both(note, close)
    with store.tx() as tx:
        row = tx.one("supervision_cases", case_id=CASE)
    summary = (row.state, row.document.get("state"), row.document.get("credit"), row.untold)
    assert summary == ("closed", "closed", TOLD, False), (out, summary)
