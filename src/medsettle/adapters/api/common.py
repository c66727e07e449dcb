"""What every node's routes share: reading a JSON body, signed or not, and plain JSON out."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request

from medsettle.adapters.federation import verify
from medsettle.adapters.his.envelope import check_text
from medsettle.core.errors import (
    AuthenticationFailed,
    InvalidInput,
    MedSettleError,
    MsgidReused,
    NotFound,
    PeerUnavailable,
    StateConflict,
)
from medsettle.services.ports import Database


def parse_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object (empty = {}); errors name `body`."""
    try:
        doc = json.loads(body or b"{}")
    except json.JSONDecodeError as exc:
        raise InvalidInput("body", f"is not valid JSON: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise InvalidInput("body", "must be a JSON object")
    check_text(doc)
    return doc


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object."""
    return parse_object(await request.body())


async def signed_body(request: Request, keys: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """The sending node (its signature checked against `keys`) and the JSON object it sent."""
    body = await request.body()
    node = verify(request.headers, request.url.path, body, keys)
    return node, parse_object(body)


#: The HTTP status of each error family in the JSON APIs (the HIS gateway always answers 200).
STATUS_OF: dict[type[MedSettleError], int] = {
    AuthenticationFailed: 401, NotFound: 404, StateConflict: 409, MsgidReused: 409,
    PeerUnavailable: 503,
}


def http_status(exc: MedSettleError) -> int:
    """The status for a domain error: 4xx by family, 400 for anything the caller sent wrong."""
    for family, status in STATUS_OF.items():
        if isinstance(exc, family):
            return status
    return 400


def in_tx(store: Database, work: Callable[[Any], Any]) -> Any:
    """Run `work(tx)` in one transaction and make its result plain JSON."""
    with store.tx() as tx:
        return jsonable(work(tx))


def jsonable(value: Any) -> Any:
    """Dates, decimals and the like as JSON text values."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))
