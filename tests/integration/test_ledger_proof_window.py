"""A drill-down's hash-chain proof reads the stretch between the hub's anchors around the entry,
not the whole chain: the cost of a proof does not grow with the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medsettle.adapters.db.store import Store
from medsettle.core import ledger
from medsettle.services.console import ledger_proof
from medsettle.services.ledger import post
from tests.conftest import migrated_store

NOW = datetime(2026, 11, 29, 8, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from migrated_store(request, tmp_path, "province")


def chain_of(store: Store, count: int) -> dict[int, str]:
    """`count` balanced entries; their hashes by seq."""
    hashes = {}
    with store.tx() as tx:
        for n in range(1, count + 1):
            chained = post(tx, ledger.balanced(f"e{n}", "settle", f"S{n}", NOW,
                                               [("fund:a", n), ("payable:b", -n)]))
            hashes[chained.seq] = chained.hash
    return hashes


def test_a_proof_reads_from_the_anchor_before_to_the_anchor_after(store: Store) -> None:
    hashes = chain_of(store, 40)
    anchors = {10: hashes[10], 30: hashes[30]}
    proof = ledger_proof(store, 20, anchors)
    assert proof["intact"] and proof["sealed"] and proof["anchor_seq"] == 30
    assert proof["entries_checked"] == 21  # seq 10 … 30, not 1 … 30
    assert proof["detail"] == ("the chain from seq 10 to seq 30 verifies (seq 10 as anchored "
                               "at the hub)")
    early = ledger_proof(store, 5, anchors)  # before any anchor: from genesis
    assert early["intact"] and early["entries_checked"] == 10
    unanchored = ledger_proof(store, 35, anchors)  # after the last anchor: up to the entry
    assert unanchored["intact"] and unanchored["entries_checked"] == 6
    assert unanchored["anchor_seq"] is None


def test_a_chain_that_no_longer_reaches_an_anchor_of_the_stretch_is_not_intact(
        store: Store) -> None:
    hashes = chain_of(store, 12)
    rewritten = {4: hashes[4], 8: "0" * 64}  # the hub anchored another hash at seq 8
    proof = ledger_proof(store, 6, rewritten)
    assert not proof["intact"] and "anchor_mismatch" in proof["detail"]
    wrong_base = ledger_proof(store, 10, {8: "0" * 64})  # the anchor vouching for the start
    assert not wrong_base["intact"] and wrong_base["detail"].startswith("seq 8:")
