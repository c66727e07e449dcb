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
from medsettle.core.errors import InvalidInput, PolicyNotInForce
from medsettle.core.policy import PolicyBook
from medsettle.core.policy_view import notices
from medsettle.services import console as view

#: Said of a settlement whose parameter set this node no longer serves with the stored hash.
UNKNOWN_SET = {"en": "The parameter set {id} with hash {hash} is not served by this node any "
                     "more: its provenance cannot be shown.",
               "zh": "本节点已不再提供参数集 {id}（哈希 {hash}），无法显示其来源。"}


def parameters_notice(book: PolicyBook, policy_id: str, policy_hash: str) -> dict[str, str]:
    """The provenance notice (sample or official parameters) of the set a settlement used, by
    language; the set is the one served under that id if its content hash still matches."""
    try:
        ps = book.by_id(policy_id)
    except PolicyNotInForce:
        ps = None
    if ps is not None and (not policy_hash or ps.content_hash == policy_hash):
        return notices(ps)
    return {lang: text.format(id=policy_id, hash=policy_hash[:16])
            for lang, text in UNKNOWN_SET.items()}


def settlement_detail(store: Store, setl_id: str, anchors: Mapping[int, str],
                      book: PolicyBook | None = None) -> dict[str, Any]:
    """Everything this node holds about settlement `setl_id` (empty lists if nothing); with
    the node's policy `book`, the explanation says whether its parameters are sample ones."""
    records = q.settlement_family(store.engine, setl_id)
    refs = sorted({setl_id} | {str(r["setl_id"]) for r in records})
    lines = q.fee_lines(store.engine, setl_id)
    settle = next((r for r in records if r["kind"] == "settle" and r["role"] == "insured"),
                  next((r for r in records if r["kind"] == "settle"), None))
    entries = q.ledger_entries_of(store.engine, refs)
    ledger = [{"seq": e["seq"], "entry_id": e["entry_id"], "kind": e["kind"],
               "booked_at": e["booked_at"], "postings": e["postings"],
               "proof": view.ledger_proof(store, int(e["seq"]), anchors)} for e in entries]
    explanation = view.explain(settle, lines) if settle else None
    if explanation is not None and book is not None and explanation["policy"]:
        explanation["notice"] = parameters_notice(book, str(explanation["policy"]),
                                                  str(explanation["policy_hash"]))
    detail: dict[str, Any] = jsonable({"setl_id": setl_id, "records": records, "lines": lines,
                                       "explanation": explanation, "ledger": ledger})
    return detail


def parse_anchors(text: str | None) -> dict[int, str]:
    """`seq:hash,seq:hash` (the hub's anchors of this node) as a mapping."""
    found: dict[int, str] = {}
    for part in (text or "").split(","):
        if not part:
            continue
        seq, _, digest = part.partition(":")
        if not (seq.isascii() and seq.isdigit()) or len(digest) != 64:
            raise InvalidInput("anchors", "expected seq:hash pairs separated by commas")
        found[int(seq)] = digest
    return found
