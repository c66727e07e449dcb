"""The hot routes without the web framework in the way: a bare ASGI layer in front of a node's
FastAPI app that answers the few POST routes every settlement crosses (the HIS gateway, the
hub's forward, a province's federation operation) by calling the same plain functions the
FastAPI routes call, on a pool of worker threads. Everything else, and every route's
documentation, stays with FastAPI.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson

logger = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: A plain route: (path, lower-case headers, body) → (status, JSON document or RawBody).
Route = Callable[[str, dict[str, str], bytes], tuple[int, Any]]
_JSON = [(b"content-type", b"application/json")]
_INTERNAL = {"ok": False, "error": {"code": "internal",
                                    "message": "internal error at the node; see its log"}}


@dataclass(frozen=True)
class RawBody:
    """A route's answer sent as these bytes, not as JSON (a file a HIS downloads)."""

    content: bytes
    media_type: str = "application/octet-stream"
    headers: dict[str, str] = field(default_factory=dict)

    def header_pairs(self) -> list[tuple[bytes, bytes]]:
        """The ASGI headers of the answer, content-length included."""
        return [(b"content-type", self.media_type.encode("latin-1")),
                *((k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers.items()),
                (b"content-length", str(len(self.content)).encode())]


class FastLane:
    """Answers POSTs to `routes` (exact paths, or prefixes ending in "/") itself; passes
    everything else to `app`."""

    def __init__(self, app: ASGIApp, routes: dict[str, Route], workers: int = 64) -> None:
        self.app = app
        self.exact = {p: r for p, r in routes.items() if not p.endswith("/")}
        self.prefixes = [(p, r) for p, r in routes.items() if p.endswith("/")]
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="fast-lane")

    def route(self, path: str) -> Route | None:
        """The plain route for a path, if it has one."""
        found = self.exact.get(path)
        if found is None:
            found = next((r for p, r in self.prefixes if path.startswith(p)), None)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = (self.route(scope["path"])
                 if scope["type"] == "http" and scope["method"] == "POST" else None)
        if route is None:
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        loop = asyncio.get_running_loop()
        try:
            status, doc = await loop.run_in_executor(self.pool, route, scope["path"], headers,
                                                     body)
        except Exception:  # a bug must not leave the caller without a JSON answer
            logger.exception("request failed unexpectedly", extra={"path": scope["path"]})
            status, doc = 500, _INTERNAL
        if isinstance(doc, RawBody):
            await send({"type": "http.response.start", "status": status,
                        "headers": doc.header_pairs()})
            await send({"type": "http.response.body", "body": doc.content})
            return
        data = orjson.dumps(doc)
        await send({"type": "http.response.start", "status": status,
                    "headers": [*_JSON, (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
