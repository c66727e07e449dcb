"""Node-to-node authentication: signed JSON requests (the client is adapters/peers.py).

Every request carries `X-MS-Node` (the sender: a province code or "hub"), `X-MS-Time` (unix
seconds), `X-MS-Nonce` (16 random bytes, hex) and `X-MS-Signature` = HMAC-SHA256 over node, time,
nonce, the signed target (the path, plus "?" and the query string when there is one) and the
body's SHA-256, with the key of the province involved: a province signs with its own key; the hub
signs what it sends to a province with that province's key. Each province therefore holds one
key, the hub all of them. A request from an unknown node, with a wrong signature, a stale time, a
nonce already seen, or a time before the verifier started is refused (`Verifier`).
"""

from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import orjson

from medsettle.adapters.ratelimit import RateLimiter
from medsettle.core import errors
from medsettle.core.codes import PROVINCES
from medsettle.core.errors import AuthenticationFailed, MedSettleError, PeerBadAnswer

logger = logging.getLogger(__name__)
MAX_SKEW_SECONDS = 300
NONCE = re.compile(r"[0-9a-f]{16,64}", re.ASCII)
#: X-MS-Time: whole seconds since the epoch, ASCII digits ("²" is a digit to str.isdigit).
STAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_ERRORS: dict[str, type[MedSettleError]] = {
    cls.code: cls for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, MedSettleError) and "code" in vars(cls)}


#: A node key as `medsettle keys` makes them: 32 random bytes in hex. An empty or short key in a
#: keys file would let anyone who guesses it sign as that node.
NODE_KEY = re.compile(r"[0-9a-f]{64}")


def load_keys(path: Path) -> dict[str, str]:
    """The node keys file: {"440000": "<64 hex digits>", …}; ValueError naming what is wrong
    (a node that is not "hub" or a province code, a key that is not 64 hex digits)."""
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply") from None
    if not isinstance(keys, dict):
        raise ValueError(f"{path}: must be a JSON object of node → key")
    for node, key in keys.items():
        if node != "hub" and node not in PROVINCES:
            raise ValueError(f"{node!r} is not a province code (440000) or hub")
        if not isinstance(key, str) or NODE_KEY.fullmatch(key) is None:
            raise ValueError(f"{node}: the key must be 64 hex digits, as `medsettle keys` "
                             "makes them")
    return dict(keys)


def signed_target(path: str, query: str = "") -> str:
    """What a signature covers of the URL: the path, and "?" + the query string if there is one
    (so neither can be changed in transit). A leading "?" of `query` is optional."""
    query = query.removeprefix("?")
    return f"{path}?{query}" if query else path


def signature(key: str, node: str, stamp: str, nonce: str, target: str, body: bytes) -> str:
    """The HMAC-SHA256 signature of one request; `target` is `signed_target(path, query)`."""
    digest = hashlib.sha256(body).hexdigest()
    message = f"{node}\n{stamp}\n{nonce}\n{target}\n{digest}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(key: str, node: str, path: str, body: bytes, query: str = "") -> dict[str, str]:
    """Headers that authenticate one request from `node` (a fresh nonce each time: a signed
    request can be sent once). `query` is the query string sent with `path`, if any."""
    stamp = str(int(time.time()))
    nonce = secrets.token_hex(16)
    return {"X-MS-Node": node, "X-MS-Time": stamp, "X-MS-Nonce": nonce,
            "content-type": "application/json",
            "X-MS-Signature": signature(key, node, stamp, nonce, signed_target(path, query), body)}


class NonceBook:
    """The nonces a verifier has accepted, each kept until its request's time leaves the window
    (so the memory is bounded by the traffic of one window). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()
        self._expiry: list[tuple[float, str, str]] = []  # a heap: soonest expiry first

    def first_use(self, node: str, nonce: str, expires: float, now: float) -> bool:
        """Record (node, nonce) until `expires`; False if it is already recorded (a replay)."""
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                _, old_node, old_nonce = heapq.heappop(self._expiry)
                self._seen.discard((old_node, old_nonce))
            if (node, nonce) in self._seen:
                return False
            self._seen.add((node, nonce))
            heapq.heappush(self._expiry, (expires, node, nonce))
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)


class Verifier:
    """Checks the signed requests a node receives, against the keys of the nodes allowed to send
    them (a province passes {"hub": its own key}). One per node: it remembers the nonces it has
    accepted for `window` seconds and refuses a second use. After a restart that memory is gone,
    so a request stamped before the verifier was created is refused too (a signer whose clock is
    slightly behind may see its first requests after a restart refused; it retries)."""

    def __init__(self, key_of: Mapping[str, str], *, window: int = MAX_SKEW_SECONDS,
                 clock: Callable[[], float] = time.time,
                 limiter: RateLimiter | None = None) -> None:
        self.key_of = key_of
        self.limiter = limiter  # per sending node, once it is known to be who it says
        self.window = window
        self.clock = clock
        self.started = int(clock())
        self.nonces = NonceBook()

    def verify(self, headers: Mapping[str, str], path: str, body: bytes,
               query: str = "") -> str:
        """The sending node of a request (its path, query string and body), or
        AuthenticationFailed saying why it is refused."""
        node, stamp, nonce, given = (headers.get(f"x-ms-{name}", "")
                                     for name in ("node", "time", "nonce", "signature"))
        if not node or not stamp or not nonce or not given:
            raise AuthenticationFailed(
                "the request is not signed (X-MS-Node/Time/Nonce/Signature)")
        key = self.key_of.get(node)
        if key is None:
            raise AuthenticationFailed(f"unknown node {node!r}")
        now = self.clock()
        if STAMP.fullmatch(stamp) is None or abs(now - int(stamp)) > self.window:
            raise AuthenticationFailed("the request's time is missing or too far from now")
        if int(stamp) < self.started:
            raise AuthenticationFailed("the request was signed before this node started; "
                                       "sign it again")
        if NONCE.fullmatch(nonce) is None:
            raise AuthenticationFailed("the request's nonce is not 16-64 lowercase hex digits")
        expected = signature(key, node, stamp, nonce, signed_target(path, query), body)
        if not hmac.compare_digest(expected, given):
            raise AuthenticationFailed(f"wrong signature for node {node}")
        if not self.nonces.first_use(node, nonce, int(stamp) + self.window, now):
            raise AuthenticationFailed(f"replayed request: node {node} already used this nonce")
        if self.limiter is not None:
            self.limiter.admit(node, now)  # RateLimited: 429 with the reason
        return node


def error_body(exc: MedSettleError) -> dict[str, Any]:
    """How a node reports a domain error to another node."""
    error: dict[str, Any] = {"code": exc.code, "message": str(exc), "field": getattr(exc, "field", None)}
    if isinstance(exc, errors.RateLimited):
        error["retry_after"] = round(exc.retry_after, 3)
    return {"ok": False, "error": error}


def raise_remote(error: Mapping[str, Any]) -> None:
    """Re-raise a peer's domain error as the same class here."""
    cls = _ERRORS.get(str(error.get("code")), MedSettleError)
    message = str(error.get("message", "remote error"))
    if issubclass(cls, errors.InvalidInput):
        field = str(error.get("field") or "input")
        raise cls(field, message.removeprefix(f"{field}: "))
    if issubclass(cls, errors.NotFound) and error.get("field"):
        field = str(error["field"])
        raise cls(message.removeprefix(f"{field}: "), field=field)
    if issubclass(cls, errors.PolicyFileError):
        raise errors.PolicyError(message)
    raise cls(message)


def read_answer(status: int, body: bytes, peer: str) -> dict[str, Any]:
    """A node's answer, which must be a JSON object whatever the status; anything else (a
    proxy's error page, a plain-text 500, a list) is PeerUnavailable naming `peer`."""
    try:
        answer = orjson.loads(body)
    except ValueError:  # not JSON, or not UTF-8
        answer = None
    if not isinstance(answer, dict):
        raise PeerBadAnswer(f"{peer} answered HTTP {status} without a JSON object")
    return answer


def result_of(answer: Mapping[str, Any]) -> Any:
    """The `result` of an answer {"ok": true, "result": …}; a refusal is the peer's error,
    raised here as the same class."""
    if not answer.get("ok"):
        error = answer.get("error")
        raise_remote(error if isinstance(error, Mapping) else {})
    return answer.get("result")
