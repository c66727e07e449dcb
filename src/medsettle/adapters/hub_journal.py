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


class Journal:
    """Rows wait in memory at most `interval` seconds; `flush()` writes them at once (shutdown,
    tests, clearing). A crash can lose the last moments of the log, never a settlement: the
    insured node's database is the record, and reconciliation (对账) re-indexes from it.
    """

    def __init__(self, store: Store, clock: Callable[[], datetime], interval: float = 0.25, *,
                 background: bool = True) -> None:
        self.store = store
        self.clock = clock
        self.interval = interval
        self.lock = threading.Lock()
        self.messages: list[dict[str, Any]] = []
        self.index: list[dict[str, Any]] = []
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
        """Write everything queued."""
        with self.lock:
            messages, self.messages = self.messages, []
            index, self.index = self.index, []
        if messages or index:
            with self.store.tx() as tx:
                svc.write_journal(tx, messages, index, self.clock())

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # keep journaling; the next flush retries the next batch
                logger.exception("journal flush failed")

    def close(self) -> None:
        """Stop the writer after a last flush."""
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(5)
        self.flush()
