"""Posting journal entries in a node's database, chained, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from medsettle.core import evidence, ledger
from medsettle.core.errors import LedgerError
from medsettle.core.records import SettlementRecord
from medsettle.services.ports import UnitOfWork

ENTRIES = ("ledger_entries", "ledger_postings")  # the same tables in a province's and the hub's db


def post(tx: UnitOfWork, entry: ledger.Entry, role: str = "province") -> ledger.ChainedEntry:
    """Append a balanced entry to the node's chain. The chain head is locked by the counter
    row until the transaction ends, so concurrent postings chain one after another."""
    entries, postings = ENTRIES
    seq = tx.next_serial(f"ledger:{role}")
    prev = tx.one(entries, seq=seq - 1) if seq > 1 else None
    prev_hash = ledger.GENESIS if prev is None else str(prev.hash)
    chained = ledger.ChainedEntry(seq, entry, prev_hash, ledger.chain_hash(prev_hash, seq, entry))
    tx.add(entries, {"seq": seq, "entry_id": entry.entry_id, "kind": entry.kind,
                     "ref": entry.ref, "booked_at": entry.booked_at,
                     "postings": [[p.account, p.amount] for p in entry.postings],
                     "prev_hash": prev_hash, "hash": chained.hash,
                     "record_hash": entry.record or None})
    tx.add_many(postings, [{"seq": seq, "line": i, "account": p.account, "amount": p.amount}
                           for i, p in enumerate(entry.postings)])
    return chained


def post_settlement(tx: UnitOfWork, role: str, kind: str, setl_id: str,
                    amounts: Mapping[str, int], row: Mapping[str, Any], now: datetime) -> None:
    """Book a settlement or its cancel at the insured or the treating place."""
    postings = ledger.settlement_postings(
        role, amounts, insured=str(row["insu_admdvs"]), treating=str(row["mdtrtarea_admvs"]),
        psn_no=str(row["psn_no"]), fixmedins_code=str(row["fixmedins_code"]))
    post(tx, ledger.balanced(f"{kind}:{role}:{setl_id}", kind, setl_id, now, postings))


def record_digest(tx: UnitOfWork, table: str, **keys: object) -> str:
    """The digest of a record as it was just written (read back, so it reads as `verify` will
    read it), which its ledger entry's hash then covers."""
    row = tx.one(table, **keys)
    if row is None:
        raise LedgerError(f"no {table} row {keys} to book")
    return evidence.record_digest(table, row._mapping)


def book_settlement(tx: UnitOfWork, record: SettlementRecord, now: datetime) -> None:
    """Book one place's record of a settlement or of its cancel (already added) in the node's
    ledger; the entry covers the record's digest."""
    postings = ledger.settlement_postings(
        record.role.value, record.amounts.as_dict(), insured=record.insured_region,
        treating=record.treating_region, psn_no=record.person_id,
        fixmedins_code=record.institution)
    kind, role = record.kind.value, record.role.value
    digest = record_digest(tx, "settlements", setl_id=record.settlement_id, role=role)
    post(tx, ledger.balanced(f"{kind}:{role}:{record.settlement_id}", kind,
                             record.settlement_id, now, postings, digest))


def stored_chain(rows: list[Any]) -> list[ledger.ChainedEntry]:
    """Stored ledger rows as chained entries, in stored order."""
    return [ledger.ChainedEntry(
        int(r.seq), ledger.Entry(r.entry_id, r.kind, r.ref, r.booked_at,
                                 tuple(ledger.Posting(a, int(v)) for a, v in r.postings),
                                 getattr(r, "record_hash", None) or ""),
        r.prev_hash, r.hash) for r in rows]

