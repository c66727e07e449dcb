"""Structured JSON-line logs and Prometheus metrics for a node."""

from __future__ import annotations

import gc
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message and every `extra` field."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        doc = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname.lower(), "node": self.node, "logger": record.name,
               "msg": record.getMessage()}
        doc.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def setup_logging(node: str, level: str = "INFO") -> None:
    """Send every log record of the process to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines(node))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


@contextmanager
def quieter(name: str, level: int) -> Iterator[None]:
    """Records of logger `name` below `level` dropped while the block runs, its level as it was
    afterwards (a command may run inside another program, such as a test run, whose logs must
    not stay silenced)."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


@contextmanager
def silenced() -> Iterator[None]:
    """No log record at all while the block runs; logging as it was afterwards (also when the
    caller had silenced it already)."""
    before = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(before)


def mask(certno: str | None) -> str:
    """An ID number with all but the first 4 and last 2 characters hidden (never log it whole)."""
    if not certno:
        return ""
    return certno[:4] + "*" * max(0, len(certno) - 6) + certno[-2:]


class Metrics:
    """A node's Prometheus metrics, in a registry of its own (several nodes may share a process
    in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("medsettle_requests_total", "Messages handled, by infno/op and "
                                "outcome", ["infno", "outcome"], registry=self.registry)
        self.latency = Histogram("medsettle_request_seconds", "Time to answer a message",
                                 ["infno"], registry=self.registry,
                                 buckets=(.002, .005, .01, .02, .05, .1, .2, .5, 1, 3, 5))
        self.settlements = Counter("medsettle_settlements_total", "Settlements written, by role "
                                   "and kind", ["role", "kind"], registry=self.registry)
        self.errors = Counter("medsettle_errors_total", "Errors answered, by code", ["code"],
                              registry=self.registry)
        self.frozen = Gauge("medsettle_heap_frozen_objects", "Objects the node froze out of "
                            "the cyclic collector's reach once it had started (0 before)",
                            registry=self.registry)
        self.frozen.set_function(gc.get_freeze_count)
        self.peer_calls = Histogram("medsettle_peer_call_seconds", "Calls to other nodes",
                                    ["op", "outcome"], registry=self.registry,
                                    buckets=(.002, .005, .01, .02, .05, .1, .2, .5, 1, 3, 5))

    def watch_reversals(self, pending: Callable[[], tuple[int, int]]) -> None:
        """At a province node: `medsettle_pending_reversals` (reversals of settles whose answer
        never came, still to send) and `medsettle_pending_reversal_max_attempts` (the most
        failed attempts of any: alert from 10), read when /metrics is scraped."""
        Gauge("medsettle_pending_reversals", "reversals (冲正) still to send to insured places",
              registry=self.registry).set_function(lambda: pending()[0])
        Gauge("medsettle_pending_reversal_max_attempts", "the most failed attempts of any "
              "pending reversal (from 10 on, each failure is logged as an ERROR)",
              registry=self.registry).set_function(lambda: pending()[1])

    def watch_catch_up(self, owed: Callable[[], bool]) -> None:
        """At a province node: `medsettle_index_catch_up_owed`, 1 while `owed()` (an index
        catch-up or its repeat is still to be sent to the hub), read when /metrics is scraped."""
        Gauge("medsettle_index_catch_up_owed", "1 while the node still owes the hub an index "
              "catch-up or its repeat, else 0", registry=self.registry
              ).set_function(lambda: int(owed()))
