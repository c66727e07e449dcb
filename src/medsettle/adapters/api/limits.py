"""What a request may carry before any route reads it (docs/security.md, "Request size and
control characters"): a body of at most so many bytes, refused as soon as it is known to be
longer (by its content-length, or while it streams in, before the rest is read), and a path and
query string without control characters (PostgreSQL text cannot hold NUL, and no id, code or
search has a use for the others).

`RequestGuard` is the ASGI middleware in front of a node's FastAPI app; the fast lane
(fast_lane.py) applies the body limits of its hot routes itself, with the answers built here.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

import orjson

from medsettle.adapters.federation import error_body
from medsettle.adapters.his.envelope import BODY_MAX_BYTES, failure, ref_msgid
from medsettle.adapters.his.err_msg import err_msg
from medsettle.core.calendar import business_time
from medsettle.core.errors import InvalidInput

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: An answer of a hot route: (HTTP status, JSON document).
Answer = tuple[int, Any]

#: The largest node-to-node body (paths under NODE_PREFIX, and the fast lane's federation
#: routes). The largest sent are a province's supervision report (POST /fed/v1/supervision/hits:
#: the hub takes 20,000 hits, a province sends 10,000; a hit is 0.5 kB, 1.4 kB when it lists 20
#: fee lines: 20,000 such hits are 27 MB), the locator's 10,000 hashes (0.7 MB), the index
#: catch-up's 500 rows (0.25 MB) and a settlement with its fee lines (about 0.2 kB a line:
#: 1,000 lines are 0.2 MB). 32 MiB holds the largest with room.
NODE_BODY_MAX_BYTES = 32 * 2**20
#: The largest body of any other route: the HIS gateway's 5.5 MB (BODY_MAX_BYTES, when the app
#: is served without the fast lane), a 1 MB parameter-set upload, a claim of 2,000 lines.
GENERAL_BODY_MAX_BYTES = 8 * 2**20
#: Where node-to-node routes live.
NODE_PREFIX = "/fed/"
_CONTROL = re.compile("[\x00-\x1f]")
#: A NUL in a raw query string, as a byte or percent-encoded. A query value may hold a tab or a
#: line break (a search pasted from a spreadsheet), which the pages strip; only NUL cannot be
#: stored or searched for.
_RAW_NUL = re.compile(rb"\x00|%00")
_FORM = b"application/x-www-form-urlencoded"
_NUL_MARKS = (b"%00", b"\x00")


class BodyTooLarge(InvalidInput):
    """A request body longer than the route takes (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__("body", f"is larger than {limit} bytes")


@dataclass(frozen=True)
class BodyLimit:
    """How many bytes a hot route reads at most, and what it answers to a longer body."""

    max_bytes: int
    too_large: Callable[[], Answer]


def json_too_large(limit: int) -> Callable[[], Answer]:
    """The JSON error form of a body over `limit`: HTTP 413 naming `body`."""
    answer = (413, error_body(BodyTooLarge(limit)))
    return lambda: answer


#: A node-to-node hot route's limit (the fast lane's default).
NODE_BODY_LIMIT = BodyLimit(NODE_BODY_MAX_BYTES, json_too_large(NODE_BODY_MAX_BYTES))


def his_body_limit(region: str, clock: Callable[[], datetime]) -> BodyLimit:
    """The HIS gateway's limit (BODY_MAX_BYTES), refused as the gateway refuses a message: an
    envelope with infcode -1 whose err_msg names `body` (always HTTP 200)."""
    def too_large() -> Answer:
        received = business_time(clock())
        ref = ref_msgid(region, received, secrets.randbelow(10**10))
        return 200, failure(err_msg(BodyTooLarge(BODY_MAX_BYTES)), ref=ref,
                            received=received, now=received)
    return BodyLimit(BODY_MAX_BYTES, too_large)


def declared_length(value: bytes | str | None) -> int | None:
    """A content-length header as a number (None if absent or not a plain number)."""
    if value is None or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


async def send_json(send: Send, status: int, doc: Any, *, close: bool = False) -> None:
    """Answer with a JSON document; `close` ends the connection (the body was left unread)."""
    data = orjson.dumps(doc)
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(data)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


def control_character_field(scope: Scope) -> str | None:
    """The part of the request that holds what is refused, if any: "path" (a control
    character), the query parameter whose value holds a NUL, or "query" (its name does, or the
    query is not name=value pairs)."""
    if _CONTROL.search(scope["path"]):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if not _RAW_NUL.search(query):
        return None
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    return next((name for name, value in pairs if "\x00" in value
                 and _CONTROL.search(name) is None), "query")


def form_nul_field(window: bytes, at: int, from_start: bool) -> str:
    """The field of a urlencoded form whose text holds the NUL found at `at` of `window` (the
    body's start if `from_start`, else the end of the last chunk and the new one): "form" when
    its whole name is not in `window`."""
    start = window.rfind(b"&", 0, at)
    if start < 0 and not from_start:
        return "form"
    name, equals, _ = window[start + 1:at].partition(b"=")
    return unquote_plus(name.decode("latin-1")) if equals and name else "form"


def first_nul(window: bytes) -> int:
    """Where the first NUL of a urlencoded form body is (raw or %00), or -1."""
    found = [at for at in (window.find(mark) for mark in _NUL_MARKS) if at >= 0]
    return min(found, default=-1)


def _length_and_form(headers: Iterable[tuple[bytes, bytes]]) -> tuple[int | None, bool]:
    """The declared content-length of a request, and whether its body is a urlencoded form."""
    length, form = None, False
    for name, value in headers:
        if name == b"content-length":
            length = declared_length(value)
        elif name == b"content-type":
            form = value.split(b";", 1)[0].strip().lower() == _FORM
    return length, form


class RequestGuard:
    """ASGI middleware in front of a node's FastAPI app: refuses a path or query string with a
    control character (400), and a body longer than its limit (413): NODE_BODY_MAX_BYTES under
    NODE_PREFIX, GENERAL_BODY_MAX_BYTES elsewhere. A body is counted as the route reads it; a
    urlencoded form (the consoles) is refused at a NUL, which no field may hold."""

    def __init__(self, app: ASGIApp, general: int = GENERAL_BODY_MAX_BYTES,
                 node: int = NODE_BODY_MAX_BYTES) -> None:
        self.app = app
        self.general = general
        self.node = node

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        field = control_character_field(scope)
        if field is not None:
            await send_json(send, 400, error_body(InvalidInput(
                field, "holds a control character (such as NUL), which no id, code or "
                       "search text may hold")))
            return
        limit = self.node if scope["path"].startswith(NODE_PREFIX) else self.general
        length, form = _length_and_form(scope["headers"])
        if length is not None and length > limit:
            await send_json(send, 413, error_body(BodyTooLarge(limit)), close=True)
            return
        body = CountedBody(receive, send, limit, form)
        await self.app(scope, body.receive, body.send)


class CountedBody:
    """A request's `receive` and `send` as the app sees them: `receive` raises BodyTooLarge
    once the body passes `limit` bytes (the app's error handler answers 413, and `send` closes
    the connection after it: the rest is never read) and, for a urlencoded form, InvalidInput
    at a NUL."""

    def __init__(self, receive: Receive, send: Send, limit: int, form: bool) -> None:
        self._receive = receive
        self._send = send
        self.limit = limit
        self.form = form
        self.size = 0
        self.tail = b""  # the end of the last chunk: a "%00" may be split between two
        self.refused = False

    async def receive(self) -> Message:
        message = await self._receive()
        chunk: bytes = message.get("body", b"")
        self.size += len(chunk)
        if self.size > self.limit:
            self.refused = True
            raise BodyTooLarge(self.limit)
        if self.form and chunk:
            self.check_form(chunk)
        return message

    def check_form(self, chunk: bytes) -> None:
        """InvalidInput naming the field if the form holds a NUL here."""
        window = self.tail + chunk
        at = first_nul(window)
        if at >= 0:
            field = form_nul_field(window, at, self.size == len(chunk))
            raise InvalidInput(field, "holds a NUL character, which is not text")
        self.tail = window[-2:]

    async def send(self, message: Message) -> None:
        if self.refused and message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()),
                                              (b"connection", b"close")]}
        await self._send(message)
