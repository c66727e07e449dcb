"""A province database whose personal data is sealed opens only with the key that sealed it:
a node started with another key (or none) refuses to start, naming MEDSETTLE_DATA_KEY, and
changes nothing (adapters/db/crypto.check_key_opens, run before every province migration)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from medsettle.adapters.db import crypto
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.seed import load_rows
from medsettle.core.errors import InvalidInput
from tests.conftest import fresh_database
from tests.e2e import fixtures as f

OTHER_KEY = "ab" * 32


@pytest.fixture(params=["sqlite", "postgresql"])
def sealed_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A province database holding persons sealed with the dev key (the tests' key)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'p.db'}"
        load_rows(url, f.ROWS["440000"])
        yield url
        return
    with fresh_database(request.getfixturevalue("pg_url")) as url:
        load_rows(url, f.ROWS["440000"])
        yield url


def revision_and_rows(url: str) -> tuple[str, list[str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            sealed = [str(v) for (v,) in conn.exec_driver_sql("SELECT certno FROM persons")]
        return str(revision), sealed
    finally:
        engine.dispose()


def test_another_key_is_refused_before_anything_is_migrated(sealed_db: str) -> None:
    before = revision_and_rows(sealed_db)
    engine = make_engine(sealed_db)
    try:
        crypto.configure(OTHER_KEY)
        with pytest.raises(InvalidInput) as refused:
            migrate(engine, "province")
        assert refused.value.field == "MEDSETTLE_DATA_KEY"
        crypto.configure(None)
        migrate(engine, "province")  # the key that sealed it opens it
    finally:
        crypto.configure(None)
        engine.dispose()
    assert revision_and_rows(sealed_db) == before


def test_a_database_with_nothing_sealed_takes_any_key(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        crypto.configure(OTHER_KEY)
        migrate(engine, "province")
    finally:
        crypto.configure(None)
        engine.dispose()


def test_the_cli_says_so_in_one_line(sealed_db: str) -> None:
    """A command run with another key in its environment (its own process: the key is read
    when the process starts) prints one line and exits 2."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("medsettle")), "institution", "keys", f.SHENZHEN_H,
         "--signing", "hmac", "--db", sealed_db],
        env={**os.environ, "MEDSETTLE_DATA_KEY": OTHER_KEY}, capture_output=True, text=True,
        timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()
             and "DEV_ONLY_INSECURE" not in line]
    assert len(lines) == 1 and "MEDSETTLE_DATA_KEY" in lines[0], lines
