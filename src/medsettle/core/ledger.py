"""A tamper-evident double-entry ledger (domain.md §8; issue "money trail").

Every movement of money is a journal entry whose postings sum to zero (debits positive, credits
negative, integer fen). Entries are never changed: a correction is a new entry. Each entry's hash
covers its canonical content and the previous entry's hash, so the chain proves that nothing was
modified, deleted, inserted or reordered; chain heads sent to the hub (anchors) prove that the
chain was not rewritten as a whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from medsettle.core.errors import LedgerError, UnbalancedEntry

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an entry: an account and a signed amount (debit > 0, credit < 0)."""

    account: str
    amount: int


@dataclass(frozen=True, slots=True)
class Entry:
    """A journal entry before it is chained: what happened, when, and its postings."""

    entry_id: str
    kind: str
    ref: str
    booked_at: datetime
    postings: tuple[Posting, ...]
    record: str = ""  # digest of the record this entry books (core.evidence); "" for none


@dataclass(frozen=True, slots=True)
class ChainedEntry:
    """An entry as stored: its place in the chain and its hashes."""

    seq: int
    entry: Entry
    prev_hash: str
    hash: str


def balanced(entry_id: str, kind: str, ref: str, booked_at: datetime,
             postings: Iterable[tuple[str, int]], record: str = "") -> Entry:
    """An entry from (account, amount) pairs; zero lines dropped; refuses an unbalanced one.
    An entry may end with no postings (a settlement paid wholly in cash moves nothing at the
    insured place); it is still chained, so the record of the event is complete."""
    lines = tuple(Posting(account, amount) for account, amount in postings if amount)
    if any(type(p.amount) is not int for p in lines):
        raise UnbalancedEntry(f"{entry_id}: amounts must be integer fen")
    total = sum(p.amount for p in lines)
    if total != 0:
        raise UnbalancedEntry(f"{entry_id}: debits and credits differ by {total} fen")
    return Entry(entry_id, kind, ref, booked_at, lines, record)


def canonical(seq: int, entry: Entry) -> str:
    """The exact text the hash covers (sorted keys, no spaces, UTC time in ISO form). The
    digest of the booked record is covered when there is one (entries written before records
    were digested have none, and keep their hash)."""
    doc: dict[str, object] = {"seq": seq, "id": entry.entry_id, "kind": entry.kind,
                              "ref": entry.ref, "at": entry.booked_at.astimezone(UTC).isoformat(),
                              "postings": [[p.account, p.amount] for p in entry.postings]}
    if entry.record:
        doc["record"] = entry.record
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, seq: int, entry: Entry) -> str:
    """SHA-256 of the previous hash and this entry's canonical content."""
    return hashlib.sha256((prev_hash + canonical(seq, entry)).encode()).hexdigest()


def chain(prev: ChainedEntry | None, entry: Entry) -> ChainedEntry:
    """Append `entry` after `prev` (None: the first entry)."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    return ChainedEntry(seq, entry, prev_hash, chain_hash(prev_hash, seq, entry))


@dataclass(frozen=True, slots=True)
class Finding:
    """The first place where a chain is not what was written."""

    seq: int
    problem: str  # modified | deleted | inserted | reordered | anchor_mismatch
    detail: str


def verify(entries: Sequence[ChainedEntry], anchors: Mapping[int, str] | None = None,
           start: tuple[int, str] | None = None) -> Finding | None:
    """Check a chain read in seq order against its hashes and anchors (seq → hash at that seq);
    from genesis, or from `start` (the seq and hash the first entry follows, for a stretch of
    the chain whose first entry an anchor vouches for).

    Returns None when the chain is intact, else the finding with the lowest seq: an entry changed
    (modified), one missing (deleted), a forged one (inserted), two swapped (reordered), or an
    anchor the chain no longer reaches with the same hash (rewritten from there back).
    """
    rows = list(entries)
    findings = [f for f in (_walk(rows, start), _against_anchors(rows, anchors or {})) if f]
    return min(findings, key=lambda f: f.seq) if findings else None


def _sealed(row: ChainedEntry, seq: int) -> bool:
    """Whether the row's hash is the one written for its content at `seq`."""
    return chain_hash(row.prev_hash, seq, row.entry) == row.hash


def _walk(rows: list[ChainedEntry], start: tuple[int, str] | None = None) -> Finding | None:
    """The first row whose seq, hash, link or balance is wrong."""
    prev_hash, expected = (GENESIS, 1) if start is None else (start[1], start[0] + 1)
    for i, row in enumerate(rows):
        if row.seq > expected:
            return Finding(expected, "deleted", f"seq {expected} is missing; the next entry is "
                                                f"seq {row.seq}")
        if row.seq < expected:
            return Finding(row.seq, "inserted", f"a second entry with seq {row.seq}")
        if not _sealed(row, row.seq):
            return _unsealed(rows, i, prev_hash)
        if row.prev_hash != prev_hash:
            return _unlinked(rows, i, prev_hash)
        if sum(p.amount for p in row.entry.postings) != 0:
            return Finding(row.seq, "modified", "its postings do not sum to zero, so it was "
                                                "changed after it was written balanced")
        prev_hash, expected = row.hash, expected + 1
    return None


def _forged_before(rows: list[ChainedEntry], i: int, prev_hash: str) -> bool:
    """Whether the row after rows[i] was written at rows[i]'s seq, right after `prev_hash`."""
    after = rows[i + 1] if i + 1 < len(rows) else None
    return after is not None and after.prev_hash == prev_hash and _sealed(after, rows[i].seq)


def _unsealed(rows: list[ChainedEntry], i: int, prev_hash: str) -> Finding:
    """Name a row whose hash does not match its content at its seq."""
    row, seq = rows[i], rows[i].seq
    bound = min(rows[-1].seq, 2 * len(rows)) + 2  # a moved entry was written near the chain
    written = next((s for s in range(1, bound) if _sealed(row, s)), None)
    if written is None:
        if _forged_before(rows, i, prev_hash):
            return Finding(seq, "inserted", f"a forged entry: the entry after it was written "
                                            f"as seq {seq}")
        return Finding(seq, "modified", "its content does not match its hash")
    if written < seq:
        return Finding(written, "inserted", f"the entry written as seq {written} now sits at "
                                            f"seq {seq}: entries were put before it")
    if any(_sealed(other, seq) for other in rows[i + 1:]):
        return Finding(seq, "reordered", f"it holds the entry written as seq {written}; the "
                                         f"entry of seq {seq} was moved later")
    return Finding(seq, "deleted", f"it holds the entry written as seq {written}; the entry "
                                   f"of seq {seq} is gone and later seqs were renumbered")


def _unlinked(rows: list[ChainedEntry], i: int, prev_hash: str) -> Finding:
    """Name the cause when a row matches its hash but not the hash of the row before it."""
    row = rows[i]
    if _forged_before(rows, i, prev_hash):
        return Finding(row.seq, "inserted", f"a forged entry: the entry after it was written "
                                            f"as seq {row.seq}")
    earlier = {r.hash: r.seq for r in rows[:max(i - 1, 0)]}
    if row.prev_hash in earlier or (i > 0 and row.prev_hash == GENESIS):
        first = earlier.get(row.prev_hash, 0) + 1
        return Finding(first, "inserted", f"seq {row.seq} was chained after seq {first - 1}; "
                                          f"seq {first}..{row.seq - 1} were put in between")
    if row.seq == 1:
        return Finding(1, "modified", "the first entry does not start from the genesis hash")
    return Finding(row.seq - 1, "modified", f"its hash was recomputed: seq {row.seq} was "
                                            "chained after a different entry")


def _against_anchors(rows: list[ChainedEntry], anchors: Mapping[int, str]) -> Finding | None:
    """The first anchor the chain no longer reaches with the anchored hash."""
    stored = {row.seq: row.hash for row in rows}
    last = rows[-1].seq if rows else 0
    matched = 0
    for seq, anchored in sorted(anchors.items()):
        if seq not in stored:
            first = min(seq, last + 1)
            return Finding(first, "deleted", f"anchored seq {seq} is no longer in the chain "
                                             f"(it ends at seq {last})")
        if stored[seq] != anchored:
            return Finding(seq, "anchor_mismatch", f"the chain was rewritten: seq {seq} no "
                                                   f"longer has its anchored hash (changed at "
                                                   f"or after seq {matched + 1})")
        matched = seq
    return None


def balances(entries: Iterable[ChainedEntry]) -> dict[str, int]:
    """Each account's balance (sum of its postings)."""
    result: dict[str, int] = {}
    for stored in entries:
        for posting in stored.entry.postings:
            result[posting.account] = result.get(posting.account, 0) + posting.amount
    return result


def settlement_postings(role: str, amounts: Mapping[str, int], *, insured: str, treating: str,
                        psn_no: str, fixmedins_code: str) -> list[tuple[str, int]]:
    """The postings of a settlement (a cancel passes negated amounts, reversing every line).

    Insured place (参保地): each fund's expense and the personal account are debited; the amount
    owed to the treating province (funds + account, 3261's optins_pay_sumamt) is credited.
    Treating place (就医地): that amount is receivable from the insured province and payable to
    the institution; the patient's cash goes to the institution.
    """
    owed = amounts["fund_pay_sumamt"] + amounts["acct_pay"]
    if role == "insured":
        return [(f"fund:hifp:{insured}", amounts["hifp_pay"]),
                (f"fund:hifmi:{insured}", amounts["hifmi_pay"]),
                (f"fund:hifob:{insured}", amounts["hifob_pay"]),
                (f"fund:cvlserv:{insured}", amounts["cvlserv_pay"]),
                (f"fund:maf:{insured}", amounts["maf_pay"]),
                (f"personal_account:{psn_no}", amounts["acct_pay"]),
                (f"payable:province:{treating[:2]}0000", -owed)]
    if role == "treating":
        return [(f"receivable:province:{insured[:2]}0000", owed),
                (f"payable:institution:{fixmedins_code}", -owed),
                (f"patient_cash:{psn_no}", amounts["psn_cash_pay"]),
                (f"institution_cash:{fixmedins_code}", -amounts["psn_cash_pay"])]
    raise LedgerError(f"unknown ledger role {role!r}")


def record_hash(prev_hash: str, seq: int, record: Mapping[str, object]) -> str:
    """The chain hash of any record (e.g. a line of the hub's message log)."""
    text = json.dumps({"seq": seq, **record}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)
    return hashlib.sha256((prev_hash + text).encode()).hexdigest()
