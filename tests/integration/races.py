"""Two actions at once on PostgreSQL, made deterministic: each runs in its own thread and
transaction, and a pause put (by monkeypatch) between an action's read and its write holds the
first to get there until the other has also read, or until the other waits on a lock the first
holds. Without a lock both read the same state and then both write (the race); with one, the
second waits for the first to commit and reads what it wrote."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import Engine, text

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.db.store import Store
from tests.conftest import fresh_database
from tests.integration.test_clearing_db import waiting_on_a_lock

#: How long a pause waits at most (a test that hangs fails; it never waits this long).
PATIENCE = 10.0


def both(first: Callable[[], Any], second: Callable[[], Any]) -> dict[str, Any]:
    """Run both at once, each in its thread: {"first": result or exception, "second": …}."""
    out: dict[str, Any] = {}

    def run(name: str, fn: Callable[[], Any]) -> None:
        try:
            out[name] = fn()
        except Exception as exc:  # the outcome is what the test asserts on
            out[name] = exc

    threads = [threading.Thread(target=run, args=(name, fn), name=name)
               for name, fn in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(3 * PATIENCE)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return out


class Meeting:
    """Where two threads meet: `wait()` returns once both have called it, or once a session
    of the database waits on a lock (the other thread is held before it can get here)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.arrived: set[int] = set()
        self.guard = threading.Lock()

    def wait(self) -> None:
        """Once per thread: wait for the other (see the class)."""
        with self.guard:
            me = threading.get_ident()
            if me in self.arrived:
                return
            self.arrived.add(me)
        deadline = time.monotonic() + PATIENCE
        while len(self.arrived) < 2 and time.monotonic() < deadline:
            if waiting_on_a_lock(self.url):
                return
            time.sleep(0.02)

    def before(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """`fn`, called once both threads met (see `wait`)."""
        def paused(*args: Any, **kwargs: Any) -> Any:
            self.wait()
            return fn(*args, **kwargs)
        return paused


def until_waiting(url: str, done: threading.Event) -> None:
    """Wait until `done` is set or a session waits on a lock (the other thread is held)."""
    deadline = time.monotonic() + PATIENCE
    while not done.is_set() and time.monotonic() < deadline:
        if waiting_on_a_lock(url):
            return
        time.sleep(0.02)


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows of a query, as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def succeeded(out: dict[str, Any]) -> list[str]:
    """Which of `both`'s actions returned (did not raise)."""
    return [name for name, value in out.items() if not isinstance(value, BaseException)]


def first_holds_until_second_waits(first: Callable[[], None], reached: threading.Event,
                                   second: Callable[[], None], release: threading.Event,
                                   url: str) -> None:
    """Run `first` in its thread until it sets `reached` (it then holds what it locked until
    `release`), then `second` in another; release `first` once `second` waits on a lock (or
    has finished), and join both."""
    a = threading.Thread(target=first, name="first")
    a.start()
    assert reached.wait(PATIENCE), "the first never got there"
    b = threading.Thread(target=second, name="second")
    b.start()
    deadline = time.monotonic() + PATIENCE
    while b.is_alive() and not waiting_on_a_lock(url) and time.monotonic() < deadline:
        time.sleep(0.02)
    release.set()
    for thread in (a, b):
        thread.join(3 * PATIENCE)
    assert not a.is_alive() and not b.is_alive(), "a thread hung"


def loaded_node(pg_url: str, seed: Mapping[str, list[dict[str, Any]]]
                ) -> Iterator[tuple[Store, str]]:
    """A province's node store in a fresh PostgreSQL database loaded with `seed` (the body of
    a fixture: `yield from loaded_node(pg_url, rows)`), and its URL."""
    with fresh_database(pg_url) as url:
        load_rows(url, seed)
        engine = make_engine(url)
        yield Store(engine), url
        engine.dispose()
