"""The hub's anchor routes: provinces send their daily chain head; anyone may read them back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.common import SHA256_HEX, signed_body
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import Verifier
from medsettle.core.errors import InvalidInput
from medsettle.services import anchors as svc


def parse_anchor(doc: Any) -> tuple[int, str, date]:
    """The (seq, hash, day) of an anchor body, or InvalidInput naming the bad field."""
    if not isinstance(doc, dict):
        raise InvalidInput("body", "must be a JSON object {seq, hash, day}")
    seq, digest, day = doc.get("seq"), doc.get("hash"), doc.get("day")
    if type(seq) is not int or seq < 1:
        raise InvalidInput("seq", "must be a positive integer")
    if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
        raise InvalidInput("hash", "must be 64 lowercase hex digits")
    try:
        return seq, digest, date.fromisoformat(str(day))
    except ValueError:
        raise InvalidInput("day", "must be a date, YYYY-MM-DD") from None


def add_anchor_routes(app: FastAPI, store: Store, verifier: Verifier) -> None:
    """POST /fed/v1/anchor (signed by the province, checked by `verifier`) and
    GET /fed/v1/anchors/{node}."""

    def keep(node: str, seq: int, digest: str, day: date) -> bool:
        with store.tx() as tx:
            return svc.store_anchor(tx, node, seq, digest, day, datetime.now(UTC))

    def heads() -> dict[str, Any]:
        journal = getattr(app.state, "journal", None)
        if journal is not None:
            journal.flush()
        with store.tx() as tx:
            return svc.hub_heads(tx)

    @app.post("/fed/v1/anchor", summary="A province's chain head (sent daily); the answer carries "
                                        "the hub's own heads, which the province keeps")
    async def anchor(request: Request) -> dict[str, Any]:
        node, doc = await signed_body(request, verifier)
        seq, digest, day = parse_anchor(doc)
        new = await run_in_threadpool(keep, node, seq, digest, day)
        return {"ok": True, "result": {"node": node, "seq": seq, "new": new,
                                       "hub_heads": await run_in_threadpool(heads)}}

    @app.get("/fed/v1/anchors/{node}", summary="A province's anchors (seq → hash)")
    def anchors_of(node: str) -> dict[str, Any]:
        with store.tx() as tx:
            kept = svc.anchors_of(tx, node)
        return {"ok": True, "result": {"node": node,
                                       "anchors": [{"seq": s, "hash": h} for s, h in kept.items()]}}
