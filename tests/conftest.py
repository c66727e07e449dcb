"""Shared fixtures. PostgreSQL tests never skip: without MEDSETTLE_PG_URL they fail loudly."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from medsettle.adapters.db.engine import Role, make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import load_policy_book
from medsettle.core.calendar import business_date
from medsettle.core.policy import PolicyBook

# Property tests check what is true, not how fast it is generated: on a machine loaded by the
# other test workers and the end-to-end nodes, Hypothesis's timing checks (a per-example
# deadline, "input generation is slow") failed tests whose every example held.
settings.register_profile("medsettle", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("medsettle")

#: The files that take longest (each about a minute or more of a worker: hundreds of simulated
#: seeds, whole demos, many node processes, a browser), run first, longest first as measured by
#: `--junitxml` on 2026-11-30 (2,324 s of worker time in all). `make test` hands whole files to
#: three workers in the order collected; one of these collected last kept one worker busy alone
#: for minutes after the others had finished.
LONGEST_FIRST = (
    "tests/simulation/test_simulate.py", "tests/e2e/test_safety.py",
    "tests/web/test_console_browser.py", "tests/e2e/test_federation.py",
    "tests/integration/test_ledger_tamper.py", "tests/unit/test_cli.py",
    "tests/e2e/test_attacker.py", "tests/e2e/test_crash_drill.py",
    "tests/e2e/test_demo_determinism.py", "tests/property/test_settlement_properties.py",
    "tests/unit/test_cli_operators.py", "tests/e2e/test_banded_policy.py",
    "tests/e2e/test_demo_interrupt.py", "tests/api/test_openapi_fuzz.py",
    "tests/web/test_app_browser.py", "tests/e2e/test_supervision.py",
    "tests/unit/test_cli_load.py", "tests/e2e/test_netns.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the files of LONGEST_FIRST first, in that order (the rest keep theirs)."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def business_today() -> date:
    """Today in Asia/Shanghai, as the nodes date what they receive (from 16:00 UTC it is
    already tomorrow there: a test dating its input by the machine's date fails then)."""
    return business_date(datetime.now(UTC))


@pytest.fixture(scope="session")
def book() -> PolicyBook:
    """The shipped policy parameters, loaded and validated once."""
    return load_policy_book()


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL server URL; `make test` always sets it."""
    url = os.environ.get("MEDSETTLE_PG_URL")
    if not url:
        pytest.fail("MEDSETTLE_PG_URL is not set: PostgreSQL tests must run (use `make test`)")
    return url


@contextmanager
def fresh_database(pg_url: str) -> Iterator[str]:
    """Create an empty database on the server, yield its URL, then drop it."""
    import psycopg

    name = f"medsettle_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(pg_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required and unreachable at {pg_url}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield pg_url.rsplit("/", 1)[0] + "/" + name
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store_on(request: pytest.FixtureRequest, tmp_path: Path, name: str,
             prepare: Callable[[str], None]) -> Iterator[Store]:
    """A store on SQLite (`request.param` "sqlite") or in a fresh PostgreSQL database
    (anything else), for a fixture parametrized over both; `prepare(url)` fills the database
    first."""
    def opened(url: str) -> Iterator[Store]:
        prepare(url)
        engine = make_engine(url)
        try:
            yield Store(engine)
        finally:
            engine.dispose()
    if request.param == "sqlite":
        yield from opened(f"sqlite:///{tmp_path / f'{name}.db'}")
    else:
        with fresh_database(request.getfixturevalue("pg_url")) as url:
            yield from opened(url)


def migrated_store(request: pytest.FixtureRequest, tmp_path: Path, role: Role
                   ) -> Iterator[Store]:
    """A store of `role`, migrated, on SQLite or PostgreSQL (see store_on)."""
    def prepare(url: str) -> None:
        engine = make_engine(url)
        try:
            migrate(engine, role)
        finally:
            engine.dispose()
    return store_on(request, tmp_path, role, prepare)


@pytest.fixture()
def pg_database(pg_url: str) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards; yields its URL."""
    with fresh_database(pg_url) as url:
        yield url


def _is_snapshot(value: object) -> bool:
    """A database snapshot of tests/api/conftest.snapshot: table → (row count, hash)."""
    return isinstance(value, dict) and bool(value) and all(
        isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], int) for v in value.values())


def pytest_assertrepr_compare(op: str, left: object, right: object) -> list[str] | None:
    """Two database snapshots that differ are told by the tables that changed (the default diff
    of two dicts of hashes says nothing useful)."""
    if op != "==" or not (_is_snapshot(left) and _is_snapshot(right)):
        return None
    assert isinstance(left, dict) and isinstance(right, dict)
    changed = sorted(k for k in left.keys() | right.keys() if left.get(k) != right.get(k))
    return ["database snapshots differ in " + ", ".join(changed), *(
        f"  {name}: {left.get(name, (None,))[0]} rows → {right.get(name, (None,))[0]} rows"
        for name in changed)]


def send_json(handler: BaseHTTPRequestHandler, doc: object) -> None:
    """A stub server's answer: `doc` as a JSON body with status 200."""
    body = json.dumps(doc).encode()
    handler.send_response(200)
    handler.send_header("content-type", "application/json")
    handler.send_header("content-length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
