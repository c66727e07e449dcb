"""Tx.hold, as Tx.one, finds no row for a key its column cannot hold: an id past 32 bits
(a family link or a policy set named in a URL) was sent to PostgreSQL in SELECT … FOR UPDATE,
which refused it with a 500 instead of "not found"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medsettle.adapters.db.store import Store
from tests.conftest import migrated_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from migrated_store(request, tmp_path, "province")


def test_a_key_past_its_column_holds_nothing(store: Store) -> None:
    with store.tx() as tx:
        assert tx.hold("family_links", id=2**40) is None
        assert tx.hold("policy_sets", id=-(2**31) - 1) is None
        assert tx.hold("family_links", id=1) is None  # in range: asked, and not there
