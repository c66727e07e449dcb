"""Verify a node's stored ledger chain (and the hub's chained message log) in seq order."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from medsettle.core import ledger
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
    for seq, digest in sorted((anchors or {}).items()):
        if seq not in kept:
            return Finding(seq, "deleted", f"anchored log line {seq} is no longer in the log")
        if kept[seq] != digest:
            return Finding(seq, "anchor_mismatch", f"the log was rewritten: line {seq} no "
                                                   "longer has its anchored hash")
    return None


def log_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a message-log line's hash covers (as services.hub._log_fields), time in UTC."""
    fields = {k: row[k] for k in LOG_FIELDS}
    fields["at"] = fields["at"].astimezone(UTC)
    return fields

