"""A journal row that fails by itself is dropped after the retries also when it is alone in the
queue: before, a lone failing row looked like a database that is down (no row could be
written), so it waited again forever and every flush, and the clearing run behind it, failed.
Now a look at the log's end tells the two apart: while the database answers, the row is dropped
(logged with its ids; the node's index catch-up or reconciliation brings its settlement back)."""

from __future__ import annotations

import logging

import pytest

from medsettle.adapters.hub_journal import RETRIES, Journal
from medsettle.services.verify import verify_hub_log
from tests.integration.test_hub_journal import NOW, FailingStore, hub_store, line, logged


def test_a_lone_row_that_fails_by_itself_is_dropped_after_the_retries(
        database: str, caplog: pytest.LogCaptureFixture) -> None:
    store = FailingStore(hub_store(database), fail=0, poison="BAD")
    journal = Journal(store, lambda: NOW, background=False)
    journal.add(line("BAD"), [])
    caplog.set_level(logging.ERROR, "medsettle.adapters.hub_journal")
    for _ in range(RETRIES):
        with pytest.raises(ValueError):
            journal.flush()
    assert journal.messages == [] and journal.index == []
    dropped = [r for r in caplog.records if "dropped" in r.getMessage()]
    assert [r.msgid for r in dropped] == ["BAD"]  # type: ignore[attr-defined]
    journal.flush()  # nothing queued: the next flush (a clearing run's, say) succeeds
    journal.add(line("A"), [])
    journal.flush()
    assert logged(store) == [(1, "A")]
    assert verify_hub_log(store) is None
    store.engine.dispose()


def test_a_lone_row_waits_while_the_database_is_down(database: str) -> None:
    store = FailingStore(hub_store(database), fail=0)
    journal = Journal(store, lambda: NOW, background=False)
    journal.add(line("A"), [])
    store.down = True
    for _ in range(RETRIES * 2):
        with pytest.raises(ConnectionError):
            journal.flush()
    assert len(journal.messages) == 1
    store.down = False
    journal.flush()
    assert logged(store) == [(1, "A")]
    store.engine.dispose()


def test_a_lone_row_is_kept_when_the_database_comes_back_during_the_row_by_row_pass(
        database: str) -> None:
    """The connection drops for the batch and the row alone, then answers: the row is tried
    once more before anything is dropped, and written."""
    store = FailingStore(hub_store(database), fail=RETRIES + 1)
    journal = Journal(store, lambda: NOW, background=False)
    journal.add(line("A"), [])
    for _ in range(RETRIES):
        with pytest.raises(ConnectionError):
            journal.flush()
    assert logged(store) == [(1, "A")]
    assert journal.messages == []
    store.engine.dispose()
