"""What every node's routes share: reading a JSON body, signed or not, its required fields, and
plain JSON out."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import orjson
from fastapi import Request

from medsettle.adapters.api.limits import BodyTooLarge
from medsettle.adapters.federation import Verifier
from medsettle.adapters.his.envelope import check_text
from medsettle.core.errors import (
    AuthenticationFailed,
    Forbidden,
    InvalidInput,
    MedSettleError,
    MsgidReused,
    NotFound,
    PeerUnavailable,
    RateLimited,
    StateConflict,
)
from medsettle.services.ports import Database

#: How a NUL is written in JSON text (a raw one is not valid JSON).
_ESCAPED_NUL = b"\\u0000"


def parse_object(body: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object (empty = {}); errors name `body` (a lone
    surrogate, which the fast parser refuses, or a NUL, which PostgreSQL text cannot hold, is
    named by its field)."""
    try:
        doc = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        try:
            doc = json.loads(body)
        except json.JSONDecodeError as exc:
            raise InvalidInput("body", f"is not valid JSON: {exc.msg}") from None
        check_text(doc)
    if not isinstance(doc, dict):
        raise InvalidInput("body", "must be a JSON object")
    if _ESCAPED_NUL in body:  # JSON text holds a NUL only so escaped: most bodies end here
        refuse_nul(doc)
    return doc


def refuse_nul(doc: object) -> None:
    """InvalidInput naming a field whose name or text holds a NUL (`reason`, `lines[2].code`;
    a text in a list is named by the list: `settlements`). Walked without recursion, however
    deep the document."""
    pending: list[tuple[str, object]] = [("", doc)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise InvalidInput(path or "body", "holds a NUL character (\\u0000), which is "
                                                   "not text")
        elif isinstance(value, dict):
            named = [(f"{path}.{key}" if path else key, item) for key, item in value.items()]
            for name, _ in named:
                if "\x00" in name:
                    raise InvalidInput(name.replace("\x00", "\\u0000"),
                                       "a field name holds a NUL character")
            pending.extend(reversed(named))
        elif isinstance(value, list):
            pending.extend(reversed([(path if isinstance(item, str) else f"{path}[{i}]", item)
                                     for i, item in enumerate(value)]))


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object."""
    return parse_object(await request.body())


def signed_by(request: Request, verifier: Verifier, body: bytes = b"") -> str:
    """The node that signed `request` (its path, query string and `body`), or
    AuthenticationFailed."""
    return verifier.verify(request.headers, request.url.path, body, request.url.query)


async def signed_body(request: Request, verifier: Verifier) -> tuple[str, dict[str, Any]]:
    """The sending node (its signature checked by `verifier`) and the JSON object it sent."""
    body = await request.body()
    node = signed_by(request, verifier, body)
    return node, parse_object(body)


T = TypeVar("T", str, dict[str, Any], list[Any])  # the JSON types a required field may have
_KIND = {str: "a string", dict: "a JSON object", list: "a JSON array"}
#: 64 lowercase hex digits: a SHA-256 (locator hashes, chain heads).
SHA256_HEX = re.compile(r"[0-9a-f]{64}", re.ASCII)
#: A node-to-node msgid: 1-40 printable ASCII characters, no spaces.
MSGID = re.compile(r"[\x21-\x7e]{1,40}", re.ASCII)
#: The reads a treating node sends with an empty msgid (nothing is stored under it).
UNNUMBERED_OPS = frozenset({"person_info", "accumulations"})


def required(doc: Mapping[str, Any], name: str, kind: type[T]) -> T:
    """Field `name` of a request document, present and of JSON type `kind` (str, dict or list);
    else InvalidInput naming it."""
    value = doc.get(name)
    if value is None:
        raise InvalidInput(name, "is required")
    if not isinstance(value, kind):
        raise InvalidInput(name, f"must be {_KIND[kind]}, not {type(value).__name__}")
    return value


def required_text(doc: Mapping[str, Any], name: str, pattern: re.Pattern[str],
                  expected: str) -> str:
    """A required string field matching `pattern` whole; InvalidInput names it and `expected`."""
    value = required(doc, name, str)
    if pattern.fullmatch(value) is None:
        raise InvalidInput(name, f"expected {expected}, got {value[:80]!r}")
    return value


#: The longest reason or note kept (the console's forms take no more either).
MOST_CHARACTERS = 500


def free_text(doc: Mapping[str, Any], name: str) -> str:
    """Field `name`, stripped: "" when absent or null (the use case says whether it must be
    given); InvalidInput naming it when it is not a string or is too long."""
    value = doc.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(name, f"must be a string, not {type(value).__name__}")
    if len(value) > MOST_CHARACTERS:
        raise InvalidInput(name, f"at most {MOST_CHARACTERS} characters")
    return value.strip()


def node_msgid(doc: Mapping[str, Any], op: str) -> str:
    """The msgid of a node-to-node operation `op`: 1-40 printable ASCII characters, or "" for
    the reads sent without one (UNNUMBERED_OPS); else InvalidInput naming `msgid`."""
    if op in UNNUMBERED_OPS and required(doc, "msgid", str) == "":
        return ""
    return required_text(doc, "msgid", MSGID, "1-40 printable ASCII characters")


#: The HTTP status of each error family in the JSON APIs (the HIS gateway always answers 200).
STATUS_OF: dict[type[MedSettleError], int] = {
    BodyTooLarge: 413, AuthenticationFailed: 401, Forbidden: 403, NotFound: 404, StateConflict: 409, MsgidReused: 409,
    PeerUnavailable: 503, RateLimited: 429,
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
