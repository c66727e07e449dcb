"""The hash-chained ledger: balanced entries, and tampering of each kind named at its seq."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from medsettle.core.errors import UnbalancedEntry
from medsettle.core.ledger import (
    GENESIS,
    ChainedEntry,
    Entry,
    Finding,
    Posting,
    balanced,
    balances,
    chain,
    chain_hash,
    verify,
)

T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def entry(n: int, amount: int = 100) -> Entry:
    """The n-th settlement entry of a hand-built chain."""
    return balanced(f"settle:insured:S{n:04d}", "settle", f"S{n:04d}", T0 + timedelta(minutes=n),
                    [("fund:hifp:510100", amount + n), ("payable:province:440000", -amount - n)])


def build(count: int) -> list[ChainedEntry]:
    """A chain of `count` entries, as read ORDER BY seq."""
    rows: list[ChainedEntry] = []
    for n in range(1, count + 1):
        rows.append(chain(rows[-1] if rows else None, entry(n)))
    return rows


def by_seq(rows: list[ChainedEntry]) -> list[ChainedEntry]:
    return sorted(rows, key=lambda r: r.seq)


def modify(rows: list[ChainedEntry], seq: int, rehash: bool = False) -> list[ChainedEntry]:
    """Change one fen of the entry at `seq` (balanced), optionally recomputing its hash."""
    def changed(row: ChainedEntry) -> ChainedEntry:
        first, *middle, last = row.entry.postings
        postings = (Posting(first.account, first.amount + 1), *middle,
                    Posting(last.account, last.amount - 1))
        new = dataclasses.replace(row.entry, postings=postings)
        digest = chain_hash(row.prev_hash, row.seq, new) if rehash else row.hash
        return dataclasses.replace(row, entry=new, hash=digest)
    return [changed(r) if r.seq == seq else r for r in rows]


def delete(rows: list[ChainedEntry], *seqs: int) -> list[ChainedEntry]:
    """Remove the rows at `seqs`."""
    return [r for r in rows if r.seq not in seqs]


def insert(rows: list[ChainedEntry], seq: int, rehash: bool = True) -> list[ChainedEntry]:
    """Shift seqs >= `seq` up by one and put a forged entry at `seq`."""
    prev_hash = next((r.hash for r in rows if r.seq == seq - 1), GENESIS)
    forged = balanced("settle:insured:FORGED", "settle", "FORGED", T0,
                      [("fund:hifp:510100", 99_999), ("payable:province:440000", -99_999)])
    digest = chain_hash(prev_hash, seq, forged) if rehash else "f" * 64
    shifted = [dataclasses.replace(r, seq=r.seq + 1) if r.seq >= seq else r for r in rows]
    return by_seq([*shifted, ChainedEntry(seq, forged, prev_hash, digest)])


def swap(rows: list[ChainedEntry], a: int, b: int) -> list[ChainedEntry]:
    """Swap the seq values of two rows."""
    swapped = {a: b, b: a}
    return by_seq([dataclasses.replace(r, seq=swapped.get(r.seq, r.seq)) for r in rows])


def test_an_untouched_chain_verifies_intact() -> None:
    rows = build(10)
    assert verify(rows) is None
    assert verify(rows, {5: rows[4].hash, 10: rows[9].hash}) is None
    assert verify([]) is None


def test_balanced_refuses_postings_that_do_not_sum_to_zero() -> None:
    with pytest.raises(UnbalancedEntry, match="differ by 1 fen"):
        balanced("e1", "settle", "S1", T0, [("a", 100), ("b", -99)])


@pytest.mark.parametrize("amount", [1.5, "100", True])
def test_balanced_refuses_amounts_that_are_not_integer_fen(amount: object) -> None:
    with pytest.raises(UnbalancedEntry, match="integer fen"):
        balanced("e1", "settle", "S1", T0, [("a", amount), ("b", -100)])  # type: ignore[list-item]


def test_balanced_drops_zero_lines_and_keeps_an_empty_entry() -> None:
    made = balanced("e1", "settle", "S1", T0, [("a", 0), ("b", 0)])
    assert made.postings == ()


def test_balances_sum_each_account() -> None:
    assert balances(build(3)) == {"fund:hifp:510100": 306, "payable:province:440000": -306}


def test_a_changed_amount_is_named_as_modified() -> None:
    assert verify(modify(build(10), 4)) == Finding(4, "modified",
                                                   "its content does not match its hash")


def test_a_modified_entry_with_a_recomputed_hash_is_caught_by_the_next_link() -> None:
    found = verify(modify(build(10), 4, rehash=True))
    assert found is not None and (found.seq, found.problem) == (4, "modified")


def test_an_unbalanced_entry_whose_hash_was_recomputed_is_modified() -> None:
    rows = build(5)
    bad = dataclasses.replace(rows[2].entry, postings=(Posting("fund:hifp:510100", 1),))
    rows[2] = dataclasses.replace(rows[2], entry=bad, hash=chain_hash(rows[2].prev_hash, 3, bad))
    found = verify(rows)
    assert found is not None and (found.seq, found.problem) == (3, "modified")


def test_a_changed_first_prev_hash_is_modified_at_seq_1() -> None:
    rows = build(3)
    first = rows[0]
    rows[0] = dataclasses.replace(first, prev_hash="1" * 64,
                                  hash=chain_hash("1" * 64, 1, first.entry))
    found = verify(rows)
    assert found is not None and (found.seq, found.problem) == (1, "modified")


def test_the_last_entry_modified_and_rehashed_needs_an_anchor() -> None:
    rows = build(6)
    tampered = modify(rows, 6, rehash=True)
    assert verify(tampered) is None
    found = verify(tampered, {6: rows[5].hash})
    assert found is not None and (found.seq, found.problem) == (6, "anchor_mismatch")


@pytest.mark.parametrize("seq", [1, 5, 9])
def test_a_deleted_row_leaves_a_gap_named_as_deleted(seq: int) -> None:
    found = verify(delete(build(10), seq))
    assert found is not None and (found.seq, found.problem) == (seq, "deleted")


def test_deleted_last_entries_are_found_only_with_an_anchor_beyond_the_end() -> None:
    rows = build(10)
    tampered = delete(rows, 9, 10)
    assert verify(tampered) is None
    found = verify(tampered, {5: rows[4].hash, 10: rows[9].hash})
    assert found is not None and (found.seq, found.problem) == (9, "deleted")


def test_a_deleted_row_with_later_seqs_renumbered_is_deleted() -> None:
    rows = delete(build(8), 3)
    renumbered = [dataclasses.replace(r, seq=r.seq - 1) if r.seq > 3 else r for r in rows]
    found = verify(renumbered)
    assert found is not None and (found.seq, found.problem) == (3, "deleted")


@pytest.mark.parametrize("rehash", [True, False])
@pytest.mark.parametrize("seq", [1, 4, 8])
def test_a_forged_row_with_seqs_shifted_up_is_inserted(seq: int, rehash: bool) -> None:
    found = verify(insert(build(8), seq, rehash))
    assert found is not None and (found.seq, found.problem) == (seq, "inserted")


def test_a_forged_row_with_the_shifted_rows_rehashed_is_inserted() -> None:
    rows = insert(build(6), 3)
    rows = [dataclasses.replace(r, hash=chain_hash(r.prev_hash, r.seq, r.entry))
            if r.seq > 3 else r for r in rows]
    found = verify(rows)
    assert found is not None and (found.seq, found.problem) == (3, "inserted")


def test_a_forged_row_linked_to_nothing_is_inserted() -> None:
    rows = insert(build(6), 3)
    forged = rows[2]
    rows[2] = dataclasses.replace(forged, prev_hash="2" * 64,
                                  hash=chain_hash("2" * 64, 3, forged.entry))
    found = verify(rows)
    assert found is not None and (found.seq, found.problem) == (3, "inserted")


def test_a_duplicate_seq_is_inserted() -> None:
    rows = build(4)
    found = verify([*rows[:2], rows[1], *rows[2:]])
    assert found is not None and (found.seq, found.problem) == (2, "inserted")


@pytest.mark.parametrize(("a", "b"), [(1, 2), (3, 7), (9, 10), (1, 10)])
def test_two_swapped_seqs_are_reordered_at_the_first(a: int, b: int) -> None:
    found = verify(swap(build(10), a, b))
    assert found is not None and (found.seq, found.problem) == (a, "reordered")


def test_an_anchor_the_chain_no_longer_matches_is_named() -> None:
    rows = build(5)
    found = verify(rows, {2: rows[1].hash, 4: "0" * 63 + "1"})
    assert found is not None and (found.seq, found.problem) == (4, "anchor_mismatch")
    assert "at or after seq 3" in found.detail


def test_an_empty_chain_with_an_anchor_was_deleted_from_seq_1() -> None:
    found = verify([], {3: "a" * 64})
    assert found is not None and (found.seq, found.problem) == (1, "deleted")


def test_the_lowest_finding_wins_over_a_later_anchor() -> None:
    rows = build(8)
    found = verify(swap(rows, 2, 6), {6: rows[5].hash})
    assert found is not None and (found.seq, found.problem) == (2, "reordered")
