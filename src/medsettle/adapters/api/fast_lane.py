"""The hot routes without the web framework in the way: a bare ASGI layer in front of a node's
FastAPI app that answers the few POST routes every settlement crosses (the HIS gateway, the
hub's forward, a province's federation operation) by calling the same plain functions the
FastAPI routes call, on a pool of worker threads. Everything else, and every route's
documentation, stays with FastAPI.

Each hot route reads at most its BodyLimit (limits.py; NODE_BODY_LIMIT unless told): a longer
body is refused at once when its content-length says so, else when the bytes read pass the
limit, and the rest is never read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from medsettle.adapters.api.limits import NODE_BODY_LIMIT, BodyLimit, declared_length, send_json

logger = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: A plain route: (path, lower-case headers, body) → (status, JSON document or RawBody).
Route = Callable[[str, dict[str, str], bytes], tuple[int, Any]]
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
    everything else to `app`. `limits` are the body limits of routes (by the same keys) that
    take other than NODE_BODY_LIMIT."""

    def __init__(self, app: ASGIApp, routes: dict[str, Route], workers: int = 64, *,
                 limits: Mapping[str, BodyLimit] | None = None) -> None:
        self.app = app
        limited = {p: (r, (limits or {}).get(p, NODE_BODY_LIMIT)) for p, r in routes.items()}
        self.exact = {p: hot for p, hot in limited.items() if not p.endswith("/")}
        self.prefixes = [(p, hot) for p, hot in limited.items() if p.endswith("/")]
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="fast-lane")

    def route(self, path: str) -> tuple[Route, BodyLimit] | None:
        """The plain route for a path and its body limit, if it has one."""
        found = self.exact.get(path)
        if found is None:
            found = next((hot for p, hot in self.prefixes if path.startswith(p)), None)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hot = (self.route(scope["path"])
               if scope["type"] == "http" and scope["method"] == "POST" else None)
        if hot is None:
            await self.app(scope, receive, send)
            return
        route, limit = hot
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await read_body(receive, limit.max_bytes, headers.get("content-length"))
        if body is None:
            logger.warning("request body too large", extra={"path": scope["path"],
                                                           "limit": limit.max_bytes})
            status, doc = limit.too_large()
            await send_json(send, status, doc, close=True)
            return
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
        await send_json(send, status, doc)


async def read_body(receive: Receive, limit: int, content_length: str | None) -> bytes | None:
    """The request's body, or None if it is longer than `limit` bytes: told at once by its
    content-length, else once the bytes read pass the limit (the rest is left unread). Chunks
    are joined once, at the end."""
    declared = declared_length(content_length)
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)
