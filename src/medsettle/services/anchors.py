"""Anchors: the chain heads each province sends the hub (every few minutes, and at each clearing
and reconciliation run), kept by the hub; the hub's own heads, kept by the provinces.

A node that rewrote its chain from some entry on (recomputing every later hash) still has a
consistent chain; only an anchor kept elsewhere shows that seq S once had another hash, and one
beyond the end shows that the last entries were deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from medsettle.core.calendar import business_date
from medsettle.core.errors import LedgerError, MedSettleError
from medsettle.services.ports import Database, UnitOfWork
from medsettle.services.verify import ledger_tables

logger = logging.getLogger(__name__)
Head = tuple[int, str]


def chain_head(tx: UnitOfWork, role: str) -> Head | None:
    """The (seq, hash) of the node's last ledger entry, or None when its chain is empty."""
    last = tx.rows_after(ledger_tables(role)[0], "seq", 0, limit=1, descending=True)
    return (int(last[0].seq), str(last[0].hash)) if last else None


def store_anchor(tx: UnitOfWork, node: str, seq: int, hash: str, day: date,
                 now: datetime) -> bool:
    """Keep a node's chain head (hub side); True if new, False if already kept.

    The same head sent twice is kept once. A different hash for an anchored seq is refused: the
    node's chain was rewritten, and the anchor that proves it must not be replaced.
    """
    kept = tx.one("anchors", node=node, seq=seq)
    if kept is not None:
        if str(kept.hash) != hash:
            logger.warning("anchor conflict", extra={"node": node, "seq": seq})
            raise LedgerError(f"node {node} already anchored seq {seq} with another hash")
        return False
    tx.add("anchors", {"node": node, "seq": seq, "hash": hash, "day": day, "received_at": now})
    return True


def anchors_of(tx: UnitOfWork, node: str) -> dict[int, str]:
    """A node's anchors: seq → hash."""
    return {int(row.seq): str(row.hash) for row in tx.rows("anchors", order_by="seq", node=node)}


def send_anchor(db: Database, post: Callable[[str, Mapping[str, Any]], Any], last: Head | None,
                now: datetime) -> Head | None:
    """Send the province's chain head to the hub (POST /fed/v1/anchor), unless the chain is
    empty or its head is `last` (already anchored); returns the head the hub now keeps."""
    with db.tx() as tx:
        head = chain_head(tx, "province")
    if head is None or head == last:
        return last
    day = business_date(now)
    answer = post("/fed/v1/anchor", {"seq": head[0], "hash": head[1], "day": day.isoformat()})
    if not isinstance(answer, dict) or not answer.get("ok"):
        logger.warning("anchor refused by the hub", extra={"seq": head[0], "answer": answer})
        return last
    logger.info("chain head anchored", extra={"seq": head[0]})
    keep_hub_heads(db, answer.get("result", {}).get("hub_heads", {}), now)
    return head


def hub_heads(tx: UnitOfWork) -> dict[str, dict[str, Any]]:
    """The hub's own chain heads: its message log and its ledger (for counter-anchors)."""
    heads: dict[str, dict[str, Any]] = {}
    for kind, table, column in (("log", "hub_messages", "id"), ("ledger", "ledger_entries",
                                                                 "seq")):
        last = tx.rows_after(table, column, 0, limit=1, descending=True)
        if last:
            heads[kind] = {"seq": int(getattr(last[0], column)), "hash": str(last[0].hash)}
    return heads


def keep_hub_heads(db: Database, heads: Mapping[str, Any], now: datetime) -> None:
    """A province keeps the hub's heads it was given, so the hub's log and ledger can be checked
    against copies the hub does not hold."""
    rows = [{"kind": kind, "seq": int(head["seq"]), "hash": str(head["hash"]),
             "received_at": now} for kind, head in heads.items()
            if kind in ("log", "ledger") and isinstance(head, Mapping)]
    if rows:
        with db.tx() as tx:
            tx.add_ignore("hub_anchors", rows)


def hub_anchors_of(tx: UnitOfWork, kind: str) -> dict[int, str]:
    """The hub heads of one kind a province kept (seq → hash)."""
    return {int(r.seq): str(r.hash) for r in tx.rows("hub_anchors", kind=kind)}


def exchange(db: Database, heads: Mapping[str, Any], now: datetime) -> Head | None:
    """A province's side of an anchor round the hub starts (at each clearing and reconciliation
    run): keep the hub's heads, answer with our own chain head (None when the chain is empty)."""
    keep_hub_heads(db, heads, now)
    with db.tx() as tx:
        return chain_head(tx, "province")


Ask = Callable[[str, str, Mapping[str, Any]], Any]  # (province, endpoint, body) → its answer


def take_anchors(store: Database, ask: Ask, now: datetime) -> dict[str, str]:
    """The hub asks every registered province for its chain head, handing it the hub's own heads,
    and keeps each head as an anchor. Returns each province's outcome; a province down fails
    alone, and a head that contradicts a kept anchor is logged as the tampering it proves."""
    with store.tx() as tx:
        nodes = [(str(r.region), str(r.endpoint)) for r in tx.rows("nodes", order_by="region")]
        heads = hub_heads(tx)
    outcomes: dict[str, str] = {}
    for region, endpoint in nodes:
        try:
            head = ask(region, endpoint, {"hub_heads": heads})["result"]["head"]
            if head is None:
                outcomes[region] = "empty chain"
                continue
            seq, digest = int(head["seq"]), str(head["hash"])
            with store.tx() as tx:
                new = store_anchor(tx, region, seq, digest, business_date(now), now)
            outcomes[region] = f"seq {seq}" + ("" if new else " (already anchored)")
        except LedgerError as exc:
            logger.error("anchor contradicts a kept one", extra={"node": region})
            outcomes[region] = f"CONFLICT: {exc}"
        except (MedSettleError, OSError, KeyError, TypeError, ValueError) as exc:
            logger.warning("anchor not taken", extra={"node": region, "why": str(exc)})
            outcomes[region] = f"failed: {exc}"
    return outcomes
