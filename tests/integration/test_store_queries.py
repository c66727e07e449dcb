"""The store's generic queries on both databases: a key given as None matches NULL, as the
services expect (a pending adjustment has no month yet; a line not settled has no settlement)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medsettle.adapters.db.store import Store
from tests.conftest import migrated_store

NOW = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from migrated_store(request, tmp_path, "hub")


def test_a_key_given_as_none_matches_null_and_only_null(store: Store) -> None:
    with store.tx() as tx:
        rows = [("S1", None), ("S2", "2026-11"), ("S3", None)]
        for case_id, month in rows:
            tx.add("clearing_adjustments", {
                "case_id": case_id, "insured": "620000", "treating": "310000",
                "kind": "refusal", "amount": -100, "created_at": NOW,
                "month_applied": month})
    with store.tx() as tx:
        pending = [r.case_id for r in tx.rows("clearing_adjustments", order_by="id",
                                              month_applied=None)]
        applied = tx.one("clearing_adjustments", month_applied="2026-11")
        first_pending = tx.one("clearing_adjustments", month_applied=None, case_id="S3")
    assert pending == ["S1", "S3"]
    assert applied is not None and applied.case_id == "S2"
    assert first_pending is not None and first_pending.case_id == "S3"


def test_reads_see_committed_rows_and_on_postgres_open_no_transaction(store: Store) -> None:
    with store.tx() as tx:
        tx.add("clearing_adjustments", {
            "case_id": "R1", "insured": "620000", "treating": "310000", "kind": "refusal",
            "amount": -100, "created_at": NOW, "month_applied": None})
    with store.read() as tx:
        found = tx.one("clearing_adjustments", case_id="R1")
        if store.dialect == "postgresql":  # each statement is its own transaction
            ids = [tx.conn.exec_driver_sql("SELECT txid_current()").scalar_one()
                   for _ in range(2)]
            assert ids[0] != ids[1]
    assert found is not None and found.amount == -100
    with store.tx() as tx:  # a transaction keeps one id: the contrast the check above relies on
        if store.dialect == "postgresql":
            ids = [tx.conn.exec_driver_sql("SELECT txid_current()").scalar_one()
                   for _ in range(2)]
            assert ids[0] == ids[1]
