"""What the benchmark scripts share: the machine's description and a scratch database."""

from __future__ import annotations

import os
import platform
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy import Engine

from medsettle.adapters.db.engine import Role, make_engine, migrate


def machine() -> str:
    """CPU model and core count of this machine."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next(line.split(":", 1)[1].strip() for line in info
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores"


def wait_listening(port: int, seconds: float = 30) -> None:
    """Return once something accepts connections on 127.0.0.1:`port` (a server started)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def cpu_us(run: Callable[[], object], count: int) -> float:
    """Process CPU microseconds per call of `run`, after a warm-up of 200 calls (which also
    lets psycopg prepare a statement it runs again)."""
    for _ in range(200):
        run()
    started = time.process_time()
    for _ in range(count):
        run()
    return round((time.process_time() - started) / count * 1e6, 1)


@contextmanager
def scratch_database(pg_url: str, role: Role) -> Iterator[tuple[str, Engine]]:
    """A new PostgreSQL database migrated to a node's schema (its URL and an engine), dropped
    afterwards whatever happens."""
    name = f"medsettle_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = pg_url.rsplit("/", 1)[0] + "/" + name
        engine = make_engine(url)
        try:
            migrate(engine, role)
            yield url, engine
        finally:
            engine.dispose()
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
