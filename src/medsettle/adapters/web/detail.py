"""A settlement as one node knows it: its records (insured and/or treating role) and cancels,
the fee lines, the explanation (reason codes), and its ledger entries, each with the proof of
the hash chain up to it (services/console.ledger_proof). Served to the hub's drill-down
(signed GET /fed/v1/console/settlements/{setl_id}) and shown by the province's console."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medsettle.adapters.api.common import jsonable
from medsettle.adapters.db import console_queries as q
from medsettle.adapters.db.store import Store
from medsettle.core.errors import InvalidInput
from medsettle.services import console as view


def settlement_detail(store: Store, setl_id: str, anchors: Mapping[int, str]) -> dict[str, Any]:
    """Everything this node holds about settlement `setl_id` (empty lists if nothing)."""
    records = q.settlement_family(store.engine, setl_id)
    refs = sorted({setl_id} | {str(r["setl_id"]) for r in records})
    lines = q.fee_lines(store.engine, setl_id)
    settle = next((r for r in records if r["kind"] == "settle" and r["role"] == "insured"),
                  next((r for r in records if r["kind"] == "settle"), None))
    entries = q.ledger_entries_of(store.engine, refs)
    ledger = [{"seq": e["seq"], "entry_id": e["entry_id"], "kind": e["kind"],
               "booked_at": e["booked_at"], "postings": e["postings"],
               "proof": view.ledger_proof(store, int(e["seq"]), anchors)} for e in entries]
    detail: dict[str, Any] = jsonable({"setl_id": setl_id, "records": records, "lines": lines,
                     "explanation": view.explain(settle, lines) if settle else None,
                     "ledger": ledger})
    return detail


def parse_anchors(text: str | None) -> dict[int, str]:
    """`seq:hash,seq:hash` (the hub's anchors of this node) as a mapping."""
    found: dict[int, str] = {}
    for part in (text or "").split(","):
        if not part:
            continue
        seq, _, digest = part.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise InvalidInput("anchors", "expected seq:hash pairs separated by commas")
        found[int(seq)] = digest
    return found
