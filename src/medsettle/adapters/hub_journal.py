"""The hub's message log and settlement index, written in batches off the request path."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from medsettle.adapters.db.store import Store
from medsettle.services import hub as svc

logger = logging.getLogger(__name__)
#: Failed flushes of a batch before it is written row by row.
RETRIES = 5


class Journal:
    """Rows wait in memory at most `interval` seconds; `flush()` writes them at once (shutdown,
    tests, clearing). A crash can lose the last moments of the log, never a settlement: the
    insured node's database is the record, its catch-up after a hub restart and reconciliation
    (对账) index it again.
    """

    def __init__(self, store: Store, clock: Callable[[], datetime], interval: float = 0.25, *,
                 background: bool = True) -> None:
        self.store = store
        self.clock = clock
        self.interval = interval
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.index: list[dict[str, Any]] = []
        self.failures = 0  # flushes in a row that failed
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="journal", daemon=True)
        if background:  # without it the owner calls flush() (a simulation, on its own clock)
            self.thread.start()

    def add(self, message: dict[str, Any], index: list[dict[str, Any]]) -> None:
        """Queue one log line and, for a settlement or its cancel, its index rows."""
        with self.lock:
            self.messages.append(message)
            self.index.extend(index)

    def flush(self) -> None:
        """Write everything queued. A batch that fails goes back to the front of the queue
        for the next flush; one that failed RETRIES times is written row by row, and a row
        that fails by itself is dropped (logged; the node's catch-up or reconciliation indexes
        it again). If no row can be written, a look at the log's end tells which fails: the
        database (every row waits again) or the rows (a lone row, say: dropped, so it does not
        make every later flush, and the clearing run behind it, fail for good)."""
        with self.lock:
            messages, self.messages = self.messages, []
            index, self.index = self.index, []
        if not messages and not index:
            return
        try:
            self._write(messages, index)
        except Exception:
            self.failures += 1
            if self.failures >= RETRIES:
                self.failures = 0
                messages, index = self._write_one_by_one(messages, index)
            with self.lock:
                self.messages[:0], self.index[:0] = messages, index
            raise
        self.failures = 0

    def _write(self, messages: list[dict[str, Any]], index: list[dict[str, Any]]) -> None:
        with self.store.tx() as tx:
            svc.write_journal(tx, messages, index, self.clock())

    def _write_one_by_one(self, messages: list[dict[str, Any]], index: list[dict[str, Any]]
                          ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Write each row by itself; the rows to queue again (none, or all if none could be
        written and the database does not answer either)."""
        Rows = list[dict[str, Any]]
        alone: list[tuple[Rows, Rows]] = [([m], []) for m in messages]
        alone += [([], [r]) for r in index]
        failed = self._each_alone(alone)
        if len(failed) == len(alone):  # the database, or every row (a lone row, say)?
            if not self._database_answers():
                return messages, index
            failed = self._each_alone(failed)  # once more: the database may have just come back
        for one_message, one_row in failed:
            row = (one_message or one_row)[0]
            logger.error("journal row dropped: it fails by itself", extra={
                "msgid": row.get("msgid"), "setl_id": row.get("setl_id"),
                "op": row.get("op") or row.get("kind"),
                "table": "hub_messages" if one_message else "settlement_index"})
        return [], []

    def _each_alone(self, alone: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]
                    ) -> list[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
        """Write each (messages, index rows) in a transaction of its own; those that failed."""
        failed = []
        for one in alone:
            try:
                self._write(*one)
            except Exception:
                failed.append(one)
        return failed

    def _database_answers(self) -> bool:
        """Whether a transaction reading the message log's end succeeds (the database is up)."""
        try:
            with self.store.tx() as tx:
                tx.rows_after("hub_messages", "id", 0, limit=1, descending=True)
        except Exception:
            return False
        return True

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # keep journaling: the batch waits for the next flush
                logger.exception("journal flush failed")

    def close(self) -> None:
        """Stop the writer after a last flush."""
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(5)
        self.flush()
