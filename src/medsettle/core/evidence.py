"""What the money depends on, checked against the ledger entries that produced it.

A settlement record (结算记录) and a manual-reimbursement claim (手工报销) are booked together with
their ledger entry, and the entry's hash covers a digest of the record as written (`record`).
So a record changed behind the application's back no longer matches its entry, a record with no
entry was never booked, and an entry whose record is gone lost its record. The mutable columns
(a settlement's status, a claim's status) are checked against the entries that changed them: a
settlement is cancelled exactly when a cancel record names it.

A person's accumulators (累计) are the opening value loaded with the person plus the deltas of
the settlements and claims that still count (a cancelled settlement's delta was subtracted, a
rejected claim's was restored), so each stored value is checked against that sum.

Pure: rows come in as mappings; a problem comes back as a `ledger.Finding`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from medsettle.core.ledger import ChainedEntry, Finding, settlement_postings

#: Columns a record may change after it was booked; the digest leaves them out.
MUTABLE = {"settlements": ("status",), "reimbursement_claims": ("status", "reason", "paid_at")}
#: Ledger entry kinds at a province that are each the booking of one record.
RECORD_KINDS = {"settle": "settlements", "cancel": "settlements",
                "reimburse": "reimbursement_claims"}


def _plain(value: object) -> object:
    """A JSON-ready form that reads the same from SQLite and PostgreSQL."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_digest(table: str, row: Mapping[str, Any]) -> str:
    """SHA-256 of a record's immutable columns (sorted keys, UTC times): what its ledger entry's
    hash covers."""
    kept = {k: _plain(v) for k, v in row.items() if k not in MUTABLE.get(table, ())}
    text = json.dumps({"table": table, "row": kept}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def settlement_entry_id(row: Mapping[str, Any]) -> str:
    """The ledger entry id that booked a settlement record."""
    return f"{row['kind']}:{row['role']}:{row['setl_id']}"


def claim_entry_id(claim_id: str, kind: str = "reimburse") -> str:
    """The ledger entry id of a claim's booking (reimburse, reimburse_reject, reimburse_pay)."""
    return f"{kind}:insured:{claim_id}"


def _written(entry: ChainedEntry) -> list[tuple[str, int]]:
    return [(p.account, p.amount) for p in entry.entry.postings]


def _expected_postings(row: Mapping[str, Any]) -> list[tuple[str, int]]:
    amounts = {name: int(row[name]) for name in ("hifp_pay", "hifmi_pay", "hifob_pay",
                                                 "cvlserv_pay", "maf_pay", "fund_pay_sumamt",
                                                 "acct_pay", "psn_cash_pay")}
    lines = settlement_postings(str(row["role"]), amounts, insured=str(row["insu_admdvs"]),
                                treating=str(row["mdtrtarea_admvs"]), psn_no=str(row["psn_no"]),
                                fixmedins_code=str(row["fixmedins_code"]))
    return [(account, amount) for account, amount in lines if amount]


@dataclass(frozen=True, slots=True)
class Books:
    """A province's stored records and ledger entries, as read for one check."""

    entries: Mapping[str, ChainedEntry]  # entry_id → entry
    settlements: Sequence[Mapping[str, Any]]
    claims: Sequence[Mapping[str, Any]]

    def cancelled(self) -> set[tuple[str, str]]:
        """(setl_id, role) of every settlement a cancel record names."""
        return {(str(r["ref_setl_id"]), str(r["role"])) for r in self.settlements
                if r["kind"] == "cancel"}


def check_records(books: Books) -> Finding | None:
    """The first settlement record or claim that differs from the entry that booked it, or
    that lost or never had one; then the first booking entry whose record is gone."""
    cancelled = books.cancelled()
    for row in books.settlements:
        found = _check_settlement(books, row, cancelled)
        if found is not None:
            return found
    for claim in books.claims:
        found = _check_claim(books, claim)
        if found is not None:
            return found
    return _orphan_entry(books)


def _check_booked(books: Books, table: str, entry_id: str, row: Mapping[str, Any],
                  name: str) -> ChainedEntry | Finding:
    entry = books.entries.get(entry_id)
    if entry is None:
        return Finding(0, "unbooked", f"{name} has no ledger entry {entry_id}: it was "
                                      "written behind the application's back")
    if entry.entry.record and entry.entry.record != record_digest(table, row):
        return Finding(entry.seq, "record_modified", f"{name} no longer matches the digest "
                                                     f"its ledger entry seq {entry.seq} covers")
    return entry


def _check_settlement(books: Books, row: Mapping[str, Any],
                      cancelled: set[tuple[str, str]]) -> Finding | None:
    name = f"settlement {row['setl_id']} ({row['role']})"
    entry = _check_booked(books, "settlements", settlement_entry_id(row), row, name)
    if isinstance(entry, Finding):
        return entry
    if sorted(_written(entry)) != sorted(_expected_postings(row)):
        return Finding(entry.seq, "record_modified", f"{name}'s amounts, regions, person or "
                                                     f"institution differ from the postings "
                                                     f"of ledger entry seq {entry.seq}")
    if row["kind"] == "settle":
        status = "cancelled" if (row["setl_id"], row["role"]) in cancelled else "settled"
        if row["status"] != status:
            return Finding(entry.seq, "status_modified", f"{name} says {row['status']}, but "
                                                         f"the ledger has it {status}")
    return None


def _check_claim(books: Books, claim: Mapping[str, Any]) -> Finding | None:
    claim_id = str(claim["claim_id"])
    name = f"reimbursement claim {claim_id}"
    entry = _check_booked(books, "reimbursement_claims", claim_entry_id(claim_id), claim, name)
    if isinstance(entry, Finding):
        return entry
    for kind, status in (("reimburse_reject", "rejected"), ("reimburse_pay", "paid")):
        booked = claim_entry_id(claim_id, kind) in books.entries
        if booked != (claim["status"] == status):
            return Finding(entry.seq, "status_modified", f"{name} says {claim['status']}, "
                                                         f"but the ledger {'has' if booked else 'has no'} "
                                                         f"{kind} entry for it")
    return None


def _orphan_entry(books: Books) -> Finding | None:
    keys = {settlement_entry_id(r) for r in books.settlements}
    keys |= {claim_entry_id(str(c["claim_id"])) for c in books.claims}
    for entry_id, entry in sorted(books.entries.items(), key=lambda item: item[1].seq):
        table = RECORD_KINDS.get(entry.entry.kind)
        if table is not None and entry_id not in keys:
            return Finding(entry.seq, "record_deleted", f"ledger entry {entry_id} booked a "
                                                        f"record that is no longer in {table}")
    return None


AccKey = tuple[str, str, str]  # psn_no, year ("" for the account balance), dotted path


def counted_deltas(settlements: Iterable[Mapping[str, Any]],
                   claims: Iterable[Mapping[str, Any]]) -> dict[AccKey, int]:
    """The sum of the deltas that still count, by accumulator: settled insured-place
    settlements and claims not rejected."""
    sums: dict[AccKey, int] = {}
    rows = [r for r in settlements if r["role"] == "insured" and r["kind"] == "settle"
            and r["status"] == "settled"]
    rows += [c for c in claims if c["status"] != "rejected"]
    for row in rows:
        year = str(row["medical_year"])
        for path, value in (row["delta"] or {}).items():
            key = (str(row["psn_no"]), "" if path == "acct_balance" else year, str(path))
            sums[key] = sums.get(key, 0) + int(value)
    return sums


def check_accumulators(stored: Iterable[Mapping[str, Any]],
                       deltas: Mapping[AccKey, int]) -> Finding | None:
    """The first accumulator whose value is not its opening plus the deltas that count."""
    seen: set[AccKey] = set()
    for row in stored:
        key = (str(row["psn_no"]), str(row["year"]), str(row["path"]))
        seen.add(key)
        expected = int(row["opening"]) + deltas.get(key, 0)
        if int(row["value"]) != expected:
            return Finding(0, "accumulator_modified", f"accumulator {'/'.join(key)} is "
                                                      f"{row['value']}, but its opening plus "
                                                      f"the settlements' deltas is {expected}")
    missing = sorted(k for k, v in deltas.items() if v and k not in seen)
    if missing:
        return Finding(0, "accumulator_deleted", f"accumulator {'/'.join(missing[0])} is gone, "
                                                 f"but settlements add {deltas[missing[0]]} to it")
    return None
