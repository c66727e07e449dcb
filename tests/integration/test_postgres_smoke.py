"""Until the database layer exists, prove the PostgreSQL server the suite depends on is usable."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import fresh_database

pytestmark = pytest.mark.postgres


def test_a_fresh_database_stores_and_returns_integer_fen(pg_database: str) -> None:
    with psycopg.connect(pg_database) as conn:
        conn.execute("CREATE TABLE settlement (id text PRIMARY KEY, fund_pay_sumamt bigint NOT NULL)")
        conn.execute("INSERT INTO settlement VALUES ('E4', 1069152), ('E6', 5035128)")
        total = conn.execute("SELECT sum(fund_pay_sumamt) FROM settlement").fetchone()
    assert total == (6104280,)


def test_the_test_database_is_dropped_afterwards(pg_url: str) -> None:
    with fresh_database(pg_url) as url:
        name = url.rsplit("/", 1)[1]
        assert _exists(pg_url, name)
    assert not _exists(pg_url, name)


def _exists(pg_url: str, name: str) -> bool:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row == (1,)
