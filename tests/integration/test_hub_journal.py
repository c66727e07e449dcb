"""The hub's message log is appended by its journal (batches off the request path) and by
catch-ups and reconciliation (`POST /fed/v1/index`). Two appends at once must chain one after
the other: before, both took the same position, one failed, and the journal dropped its whole
batch (index rows included). A batch that fails now waits for the next flush, and one that
keeps failing is written row by row, dropping only the row that fails by itself."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store, Tx
from medsettle.adapters.hub_journal import RETRIES, Journal
from medsettle.services import hub as svc
from medsettle.services.verify import verify_hub_log

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def line(msgid: str) -> dict[str, Any]:
    return svc.message_row(msgid=msgid, op="settle", from_region="440000", to_region="510000",
                           outcome="ok", latency_ms=3, now=NOW)


def hub_store(database: str) -> Store:
    engine = make_engine(database)
    migrate(engine, "hub")
    return Store(engine)


def logged(store: Store) -> list[tuple[int, str]]:
    with store.read() as tx:
        return [(int(r.id), str(r.msgid)) for r in tx.rows("hub_messages", order_by="id")]


def waiting_for_a_lock(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return bool(conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                 "current_database() AND wait_event_type = 'Lock'"
                                 ).fetchone()[0])  # type: ignore[index]


def test_a_flush_while_another_append_is_open_chains_after_it(pg_database: str) -> None:
    store = hub_store(pg_database)
    journal = Journal(store, lambda: NOW, background=False)
    journal.add(line("J-1"), [])
    journal.add(line("J-2"), [])
    failed: list[BaseException] = []

    def flush() -> None:
        try:
            journal.flush()
        except BaseException as exc:
            failed.append(exc)

    with store.tx() as tx:  # a catch-up's append, still open
        svc.write_journal(tx, [line("C-1")], [], NOW)
        flusher = threading.Thread(target=flush)
        flusher.start()
        deadline = time.monotonic() + 10
        while not waiting_for_a_lock(pg_database.replace("postgresql+psycopg", "postgresql")):
            assert time.monotonic() < deadline, "the flush never waited for the open append"
            time.sleep(0.02)
    flusher.join(10)
    assert failed == []
    assert logged(store) == [(1, "C-1"), (2, "J-1"), (3, "J-2")]
    assert verify_hub_log(store) is None
    store.engine.dispose()


class FailingStore(Store):
    """A store whose next `fail` transactions fail (a dropped connection, say), every one
    while `down`, and every one writing a message named `poison`."""

    def __init__(self, store: Store, fail: int, poison: str = "") -> None:
        super().__init__(store.engine)
        self.fail = fail
        self.poison = poison
        self.down = False

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        with super().tx() as tx:
            yield tx
            if self.down:
                raise ConnectionError("the database is down")
            if self.fail > 0:
                self.fail -= 1
                raise ConnectionError("the connection was dropped")
            if self.poison and any(r.msgid == self.poison for r in tx.rows("hub_messages")):
                raise ValueError(f"{self.poison} cannot be written")


def test_a_batch_that_failed_is_written_by_the_next_flush(database: str) -> None:
    store = FailingStore(hub_store(database), fail=2)
    journal = Journal(store, lambda: NOW, background=False)
    journal.add(line("A"), [])
    for _ in range(2):
        with pytest.raises(ConnectionError):
            journal.flush()
        journal.add(line(f"after-{store.fail}"), [])  # what came since waits behind it
    assert logged(store) == []
    journal.flush()
    assert logged(store) == [(1, "A"), (2, "after-1"), (3, "after-0")]
    assert verify_hub_log(store) is None
    store.engine.dispose()


def test_a_batch_that_keeps_failing_loses_only_the_row_that_fails_by_itself(
        database: str) -> None:
    store = FailingStore(hub_store(database), fail=0, poison="BAD")
    journal = Journal(store, lambda: NOW, background=False)
    for msgid in ("A", "BAD", "B"):
        journal.add(line(msgid), [])
    for _ in range(RETRIES):
        with pytest.raises(ValueError):
            journal.flush()
    assert [m for _, m in logged(store)] == ["A", "B"]
    assert verify_hub_log(store) is None
    journal.flush()  # nothing left queued
    assert [m for _, m in logged(store)] == ["A", "B"]
    store.engine.dispose()


def test_while_the_database_is_down_no_row_is_dropped(database: str) -> None:
    store = FailingStore(hub_store(database), fail=0)
    journal = Journal(store, lambda: NOW, background=False)
    for msgid in ("A", "B"):
        journal.add(line(msgid), [])
    store.down = True
    for _ in range(RETRIES + 2):  # row by row once too: no row can be written, so none goes
        with pytest.raises(ConnectionError):
            journal.flush()
    store.down = False
    journal.flush()
    assert [m for _, m in logged(store)] == ["A", "B"]
    store.engine.dispose()
