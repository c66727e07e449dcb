"""The hub's anchor routes: provinces send their chain head (every few minutes); any node may
start an anchor round (the hub asks every province for its head, as each clearing run does);
anyone may read the anchors back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import read_permission
from medsettle.adapters.api.common import SHA256_HEX, signed_body
from medsettle.adapters.api.fan_out import admit_fan_out
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import Verifier
from medsettle.adapters.hub_link import HubLink
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


def parse_heads(doc: Any, field: str = "hub_heads") -> dict[str, dict[str, Any]]:
    """The hub's heads as a province receives them ({log|ledger: {seq, hash}}), or
    InvalidInput naming the bad field."""
    if not isinstance(doc, dict):
        raise InvalidInput(field, "must be an object {log, ledger}")
    heads = {}
    for kind, head in doc.items():
        if kind not in ("log", "ledger"):
            raise InvalidInput(f"{field}.{kind}", "must be log or ledger")
        seq, digest, _ = parse_anchor({**head, "day": "2000-01-01"} if isinstance(head, dict)
                                      else head)
        heads[kind] = {"seq": seq, "hash": digest}
    return heads


def anchor_round(store: Store, keys: Mapping[str, str], now: datetime,
                 timeout: float = 5.0) -> dict[str, str]:
    """Ask every registered province for its chain head now (POST /fed/v1/anchor-exchange,
    signed as the hub), handing it the hub's heads; returns each province's outcome."""
    link = HubLink(keys, timeout, pool=4)
    try:
        return svc.take_anchors(store, lambda region, endpoint, doc: link.post(
            region, endpoint, "/fed/v1/anchor-exchange", dict(doc)), now)
    finally:
        link.close()


def add_anchor_routes(app: FastAPI, store: Store, verifier: Verifier,
                      keys: Mapping[str, str] | None = None) -> None:
    """POST /fed/v1/anchor (signed by the province, checked by `verifier`),
    GET /fed/v1/anchors/{node} and, with the provinces' `keys`, POST /fed/v1/anchors/round."""

    def keep(node: str, seq: int, digest: str, day: date) -> bool:
        with store.tx() as tx:
            return svc.store_anchor(tx, node, seq, digest, day, datetime.now(UTC))

    def heads() -> dict[str, Any]:
        journal = getattr(app.state, "journal", None)
        if journal is not None:
            journal.flush()
        with store.tx() as tx:
            return svc.hub_heads(tx)

    @app.post("/fed/v1/anchor", summary="A province's chain head (every few minutes); the answer carries "
                                        "the hub's own heads, which the province keeps")
    async def anchor(request: Request) -> dict[str, Any]:
        node, doc = await signed_body(request, verifier)
        seq, digest, day = parse_anchor(doc)
        new = await run_in_threadpool(keep, node, seq, digest, day)
        return {"ok": True, "result": {"node": node, "seq": seq, "new": new,
                                       "hub_heads": await run_in_threadpool(heads)}}

    @app.post("/fed/v1/anchors/round", summary="Take every province's chain head now (signed by "
                                                "any node; the reconciliation run does)")
    async def round_now(request: Request) -> dict[str, Any]:
        node, _ = await signed_body(request, verifier)
        admit_fan_out(request, "/fed/v1/anchors/round", f"node:{node}")
        if keys is None:
            raise InvalidInput("keys", "this hub has no province keys to ask with")

        def work() -> dict[str, str]:
            journal = getattr(app.state, "journal", None)
            if journal is not None:
                journal.flush()  # the heads handed out include every line so far
            return anchor_round(store, keys, datetime.now(UTC))
        return {"ok": True, "result": {"anchors": await run_in_threadpool(work)}}

    @app.get("/fed/v1/anchors/{node}", summary="A province's anchors (seq → hash): the "
                                                "province itself (signed) or hub operators")
    async def anchors_of(node: str, request: Request) -> dict[str, Any]:
        await read_permission(request, store, verifier, node, "anchors")

        def kept_anchors() -> dict[int, str]:
            with store.tx() as tx:
                return svc.anchors_of(tx, node)
        kept = await run_in_threadpool(kept_anchors)
        return {"ok": True, "result": {"node": node,
                                       "anchors": [{"seq": s, "hash": h} for s, h in kept.items()]}}
