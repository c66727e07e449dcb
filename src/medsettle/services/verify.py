"""Verify a node's stored ledger chain (and the hub's chained message log) in seq order."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from medsettle.core import evidence, ledger
from medsettle.core.ledger import Finding
from medsettle.services.ledger import stored_chain
from medsettle.services.ports import Database

logger = logging.getLogger(__name__)
LOG_FIELDS = ("msgid", "op", "from_region", "to_region", "outcome", "latency_ms", "at")
ROLES = ("province", "hub")


def ledger_tables(role: str) -> tuple[str, str]:
    """The ledger's entries and postings tables in a node's own database. Both roles name them
    ledger_entries and ledger_postings (tables.hub_ledger_entries is the hub's copy of the pair)."""
    if role not in ROLES:
        raise ValueError(f"unknown ledger role {role!r}: province or hub")
    return "ledger_entries", "ledger_postings"


def read_chain(store: Database, role: str) -> list[ledger.ChainedEntry]:
    """The node's ledger entries, ORDER BY seq."""
    with store.tx() as tx:
        return stored_chain(tx.rows(ledger_tables(role)[0], order_by="seq"))


def verify_node(store: Database, role: str, anchors: Mapping[int, str]) -> Finding | None:
    """The first tampered entry of a node's ledger (province or hub), or None if intact.

    The chain is checked against its hashes and `anchors` (seq → hash kept by the hub); then the
    postings table, which reports read, must repeat each entry's postings line for line.
    """
    entries, postings = ledger_tables(role)
    with store.tx() as tx:
        rows = tx.rows(entries, order_by="seq")
        lines = tx.rows(postings, order_by="seq")
    try:
        chain = stored_chain(rows)
    except (TypeError, ValueError) as exc:
        return Finding(_unreadable(rows), "modified", f"its postings cannot be read: {exc}")
    found = ledger.verify(chain, anchors) or _postings_mismatch(chain, lines, postings)
    if found is not None:
        logger.info("ledger tampered", extra={"role": role, "seq": found.seq,
                                                 "problem": found.problem})
    return found


def verify_records(store: Database) -> Finding | None:
    """The first settlement record, claim or accumulator of a province that is not what its
    ledger entries produced (core.evidence), or None."""
    with store.tx() as tx:
        entries = stored_chain(tx.rows("ledger_entries", order_by="seq"))
        settlements = [dict(r._mapping) for r in tx.rows("settlements", order_by="setl_id")]
        claims = [dict(r._mapping) for r in tx.rows("reimbursement_claims", order_by="claim_id")]
        accumulators = [dict(r._mapping) for r in tx.rows("accumulators", order_by="psn_no")]
    books = evidence.Books({e.entry.entry_id: e for e in entries}, settlements, claims)
    found = evidence.check_records(books) or evidence.check_accumulators(
        accumulators, evidence.counted_deltas(settlements, claims))
    if found is not None:
        logger.info("records tampered", extra={"seq": found.seq, "problem": found.problem})
    return found


def verify_all(store: Database, role: str, anchors: Mapping[int, str]) -> Finding | None:
    """Everything `medsettle verify` checks of a node's own database: the chain, its anchors
    and postings table, then (at a province) the records and accumulators against it."""
    found = verify_node(store, role, anchors)
    if found is None and role == "province":
        found = verify_records(store)
    return found


def _unreadable(rows: list[Any]) -> int:
    """The seq of the first row whose postings are not [account, integer] pairs."""
    for row in rows:
        try:
            stored_chain([row])
        except (TypeError, ValueError):
            return int(row.seq)
    return 0


def _postings_mismatch(chain: list[ledger.ChainedEntry], lines: list[Any],
                       table: str) -> Finding | None:
    """The first entry whose rows in the postings table differ from its own postings."""
    stored: dict[int, list[tuple[int, str, int]]] = {}
    for line in lines:
        stored.setdefault(int(line.seq), []).append((int(line.line), str(line.account),
                                                     int(line.amount)))
    for item in chain:
        written = [(i, p.account, p.amount) for i, p in enumerate(item.entry.postings)]
        if sorted(stored.pop(item.seq, [])) != written:
            return Finding(item.seq, "modified", f"its rows in {table} differ from the entry")
    if stored:
        seq = min(stored)
        return Finding(seq, "deleted", f"{table} still has lines for seq {seq}, whose entry "
                                       "is gone")
    return None


def verify_hub_log(store: Database, anchors: Mapping[int, str] | None = None
                   ) -> Finding | None:
    """The first tampered line of the hub's chained message log (hub_messages), or None.
    `anchors` (line → hash, as provinces kept them) also catch lines cut off at the end."""
    with store.tx() as tx:
        rows = tx.rows("hub_messages", order_by="id")
        index = tx.rows("settlement_index", order_by="setl_time")
    found = _walk_log(rows, anchors or {})
    return found or _unlogged(index, {str(r.msgid) for r in rows}, len(rows))


def _walk_log(rows: list[Any], anchors: Mapping[int, str]) -> Finding | None:
    """The first line of the log that does not match its hash, link, place or anchor."""
    prev_hash = ledger.GENESIS
    for expected, row in enumerate(rows, start=1):
        seq = int(row.id)
        if seq != expected:
            return Finding(min(seq, expected), "deleted" if seq > expected else "inserted",
                           f"message log line {expected} is missing or repeated")
        if ledger.record_hash(row.prev_hash, seq, log_fields(row._mapping)) != row.hash:
            return Finding(seq, "modified", "the message log line does not match its hash")
        if row.prev_hash != prev_hash:
            return Finding(max(seq - 1, 1), "modified", "its hash was recomputed: the next "
                                                        "line was chained after another")
        prev_hash = row.hash
    kept = {int(r.id): str(r.hash) for r in rows}
    for seq, digest in sorted(anchors.items()):
        if seq not in kept:
            return Finding(seq, "deleted", f"anchored log line {seq} is no longer in the log")
        if kept[seq] != digest:
            return Finding(seq, "anchor_mismatch", f"the log was rewritten: line {seq} no "
                                                   "longer has its anchored hash")
    return None


def _unlogged(index: list[Any], logged: set[str], last: int) -> Finding | None:
    """A settlement the hub indexed whose message is not in the log: the index rows and their
    log lines are written in one transaction (services.hub.write_journal), so the log was cut
    after it, even past the last line any province keeps a copy of. A settlement later
    cancelled counts as logged when its cancel is (its own line may have been lost in a crash
    before the journal was written)."""
    cancel_msgid = {str(r.ref_setl_id): str(r.msgid) for r in index if r.kind == "cancel"}
    for row in index:
        if str(row.msgid) in logged or cancel_msgid.get(str(row.setl_id)) in logged:
            continue
        return Finding(last + 1, "deleted", f"settlement {row.setl_id} is indexed, but the "
                                            f"line of its message {row.msgid} is gone: the log "
                                            f"was cut after line {last}")
    return None


def log_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a message-log line's hash covers (as services.hub._log_fields), time in UTC."""
    fields = {k: row[k] for k in LOG_FIELDS}
    fields["at"] = fields["at"].astimezone(UTC)
    return fields

