"""A province's side of an anchor round the hub starts (at each clearing and reconciliation
run): it keeps the hub's heads and answers with its own chain head (docs/security.md)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.common import parse_object, signed_by
from medsettle.adapters.api.hub_anchors import parse_heads
from medsettle.adapters.province_node import ProvinceNode
from medsettle.services import anchors


def add_anchor_exchange(app: FastAPI, node: ProvinceNode) -> None:
    """POST /fed/v1/anchor-exchange, signed by the hub."""

    @app.post("/fed/v1/anchor-exchange", summary="The hub's heads in, this province's chain "
                                                  "head out (hub-signed)")
    async def exchange(request: Request) -> dict[str, Any]:
        body = await request.body()
        signed_by(request, node.verifier, body)
        heads = parse_heads(parse_object(body).get("hub_heads"))
        head = await run_in_threadpool(anchors.exchange, node.store, heads, node.clock())
        return {"ok": True, "result": {
            "head": None if head is None else {"seq": head[0], "hash": head[1]}}}
