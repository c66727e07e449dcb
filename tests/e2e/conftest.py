"""One real federation per backend (SQLite files, PostgreSQL databases) for the e2e module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import fixtures as f
from tests.e2e.harness import Federation


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def federation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Federation]:
    pg_url = None
    if request.param == "postgres":
        pg_url = os.environ.get("MEDSETTLE_PG_URL")
        if not pg_url:
            pytest.fail("MEDSETTLE_PG_URL is not set: the PostgreSQL e2e run must not be skipped")
    workdir: Path = tmp_path_factory.mktemp(f"federation-{request.param}")
    fed = Federation(workdir, f.ROWS, pg_url=pg_url, call_timeout=1.5, his_timeout=2.0,
                     anchor_seconds=1.0)
    try:
        yield fed.start()
    finally:
        fed.close()
