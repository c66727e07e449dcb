"""The e2e tests' federation is the package's launcher; `running` starts one on a backend."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.launcher import Federation, free_port

__all__ = ["Federation", "free_port", "running"]


@contextmanager
def running(backend: str, workdir: Path, rows: Mapping[str, Any], **options: Any
            ) -> Iterator[Federation]:
    """A federation of `rows` on `backend` ("sqlite" files or "postgres" databases on the
    server MEDSETTLE_PG_URL names: never skipped), started, and closed afterwards."""
    pg_url = None
    if backend == "postgres":
        pg_url = os.environ.get("MEDSETTLE_PG_URL")
        if not pg_url:
            pytest.fail("MEDSETTLE_PG_URL is not set: the PostgreSQL e2e run must not be skipped")
    fed = Federation(workdir, dict(rows), pg_url=pg_url, **options)
    try:
        yield fed.start()
    finally:
        fed.close()


def query(fed: Federation, region: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Rows of a node's database."""
    engine = make_engine(fed.dbs[region])
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql), params).mappings()]
    finally:
        engine.dispose()
