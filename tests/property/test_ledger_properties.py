"""Hypothesis: any chain verifies intact; any single tampering is named at the right seq."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from medsettle.core.ledger import ChainedEntry, Entry, balanced, chain, verify
from tests.unit.test_ledger import delete, insert, modify, swap

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ACCOUNTS = ["fund:hifp:510100", "fund:hifmi:510100", "personal_account:P1",
            "receivable:province:510000", "payable:province:440000", "patient_cash:P1"]


@st.composite
def entries(draw: st.DrawFn, n: int) -> Entry:
    """A balanced entry with two or more lines (a balancing line closes it)."""
    lines = draw(st.lists(st.tuples(st.sampled_from(ACCOUNTS), st.integers(-10**9, 10**9)
                                    .filter(bool)), min_size=1, max_size=5))
    total = sum(amount for _, amount in lines)
    if total:
        lines = [*lines, ("payable:province:440000", -total)]
    else:  # already balanced: add a pair so the entry still moves money
        lines = [*lines, ("payable:province:440000", 1), ("patient_cash:P1", -1)]
    kind = draw(st.sampled_from(["settle", "cancel"]))
    return balanced(f"{kind}:insured:S{n:05d}", kind, f"S{n:05d}",
                    T0 + timedelta(seconds=draw(st.integers(0, 10**8))), lines)


@st.composite
def chains(draw: st.DrawFn, min_size: int = 0) -> list[ChainedEntry]:
    """A chain of random entries, in seq order."""
    rows: list[ChainedEntry] = []
    for n in range(draw(st.integers(min_size, 12))):
        rows.append(chain(rows[-1] if rows else None, draw(entries(n))))
    return rows


@given(rows=chains())
def test_any_chain_verifies_intact(rows: list[ChainedEntry]) -> None:
    anchors = {rows[-1].seq: rows[-1].hash} if rows else {}
    assert verify(rows, anchors) is None


@settings(max_examples=300)
@given(rows=chains(min_size=2), data=st.data())
def test_any_single_tampering_is_named_at_its_seq(rows: list[ChainedEntry],
                                                  data: st.DataObject) -> None:
    last = len(rows)
    kind = data.draw(st.sampled_from(["modified", "deleted", "inserted", "reordered"]))
    seq = data.draw(st.integers(1, last))
    rehash = data.draw(st.booleans())
    expected = kind
    if kind == "modified":
        tampered = modify(rows, seq, rehash)
        if rehash and seq == last:
            expected = "anchor_mismatch"  # nothing after it: only the anchor shows the rewrite
    elif kind == "deleted":
        tampered = delete(rows, *range(seq, last + 1) if rehash else (seq,))
    elif kind == "inserted":
        tampered = insert(rows, seq, rehash)
    else:
        other = data.draw(st.integers(1, last).filter(lambda s: s != seq))
        tampered, seq = swap(rows, seq, other), min(seq, other)
    found = verify(tampered, {last: rows[-1].hash})
    assert found is not None
    assert (found.seq, found.problem) == (seq, expected), found.detail
