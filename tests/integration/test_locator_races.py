"""The hub's locator (services/hub.add_locator) on PostgreSQL: two publications of one hashed ID
number at once. The second's insert waits for the first to commit and then skips the hash; the
hub then finds who holds it, so two provinces publishing one person (insured twice, 重复参保)
are recorded as such, as when they publish one after the other."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.errors import StateConflict
from medsettle.services import hub as svc
from tests.conftest import fresh_database
from tests.integration.races import first_holds_until_second_waits, rows

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 11, 20, 3, tzinfo=UTC)
HASH, OTHER = "ab" * 32, "cd" * 32


def publish_at_once(store: Store, url: str, first: tuple[str, list[str]],
                    second: tuple[str, list[str]]) -> dict[str, Any]:
    """`first` publishes and stays uncommitted until `second`'s publication waits on its lock;
    then both commit. What each was answered."""
    out: dict[str, Any] = {}
    done, release = threading.Event(), threading.Event()

    def one() -> None:
        with store.tx() as tx:
            out["first"] = svc.add_locator(tx, *first, NOW)
            done.set()
            release.wait(10)

    def two() -> None:
        with store.tx() as tx:
            out["second"] = svc.add_locator(tx, *second, NOW)
    first_holds_until_second_waits(one, done, two, release, url)
    return out


@pytest.fixture()
def hub(pg_url: str) -> Any:
    with fresh_database(pg_url) as url:
        engine = make_engine(url)
        migrate(engine, "hub")
        yield Store(engine), url
        engine.dispose()


def test_a_hash_published_by_two_provinces_at_once_is_contested(hub: tuple[Store, str]) -> None:
    store, url = hub
    out = publish_at_once(store, url, ("440000", [HASH]), ("510000", [OTHER, HASH]))
    assert rows(store.engine, "SELECT certno_hash, province FROM locator ORDER BY 1") == [
        (HASH, "440000"), (OTHER, "510000")]
    assert rows(store.engine, "SELECT province, holder FROM locator_also") == [
        ("510000", "440000")]
    assert out["second"].elsewhere == [(HASH, "440000")], out
    with store.tx() as tx, pytest.raises(StateConflict):
        svc.locate(tx, HASH)
    with store.tx() as tx:
        assert svc.add_locator(tx, "440000", [], NOW).twice == 1  # told to both


def test_a_province_publishing_a_hash_twice_at_once_holds_it_once(
        hub: tuple[Store, str]) -> None:
    store, url = hub
    out = publish_at_once(store, url, ("440000", [HASH]), ("440000", [HASH]))
    assert rows(store.engine, "SELECT province FROM locator") == [("440000",)]
    assert rows(store.engine, "SELECT count(*) FROM locator_also") == [(0,)]
    assert out["first"].elsewhere == out["second"].elsewhere == []
    with store.tx() as tx:
        assert svc.locate(tx, HASH) == "440000"
