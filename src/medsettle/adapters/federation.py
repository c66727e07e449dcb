"""Node-to-node calls: signed JSON over HTTP through the hub (httpx, pooled, with timeouts).

Every request carries `X-MS-Node` (the sender: a province code or "hub"), `X-MS-Time` (unix
seconds) and `X-MS-Signature` = HMAC-SHA256 over node, time, path and the body's SHA-256, with
the key of the province involved: a province signs with its own key; the hub signs what it sends
to a province with that province's key. Each province therefore holds one key, the hub all of
them, and a request from an unknown node, with a wrong signature or a stale time is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from medsettle.core import errors
from medsettle.core.errors import AuthenticationFailed, MedSettleError, PeerUnavailable

logger = logging.getLogger(__name__)
MAX_SKEW_SECONDS = 300
_ERRORS: dict[str, type[MedSettleError]] = {
    cls.code: cls for cls in vars(errors).values()
    if isinstance(cls, type) and issubclass(cls, MedSettleError) and "code" in vars(cls)}


def load_keys(path: Path) -> dict[str, str]:
    """The node keys file: {"440000": "<hex>", …}."""
    keys = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(keys, dict):
        raise ValueError(f"{path}: must be a JSON object of node → key")
    return {str(k): str(v) for k, v in keys.items()}


def signature(key: str, node: str, stamp: str, path: str, body: bytes) -> str:
    """The HMAC-SHA256 signature of one request."""
    digest = hashlib.sha256(body).hexdigest()
    message = f"{node}\n{stamp}\n{path}\n{digest}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(key: str, node: str, path: str, body: bytes) -> dict[str, str]:
    """Headers that authenticate a request from `node`."""
    stamp = str(int(time.time()))
    return {"X-MS-Node": node, "X-MS-Time": stamp, "content-type": "application/json",
            "X-MS-Signature": signature(key, node, stamp, path, body)}


def verify(headers: Mapping[str, str], path: str, body: bytes, key_of: Mapping[str, str]) -> str:
    """Check a request's signature against the keys of the nodes allowed to send it; returns the
    sending node or raises AuthenticationFailed. A province passes {"hub": its own key}."""
    node = headers.get("x-ms-node", "")
    stamp = headers.get("x-ms-time", "")
    given = headers.get("x-ms-signature", "")
    if not node or not stamp or not given:
        raise AuthenticationFailed("the request is not signed (X-MS-Node/Time/Signature)")
    key = key_of.get(node)
    if key is None:
        raise AuthenticationFailed(f"unknown node {node!r}")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW_SECONDS:
        raise AuthenticationFailed("the request's time is missing or too far from now")
    if not hmac.compare_digest(signature(key, node, stamp, path, body), given):
        raise AuthenticationFailed(f"wrong signature for node {node}")
    return node


def error_body(exc: MedSettleError) -> dict[str, Any]:
    """How a node reports a domain error to another node."""
    return {"ok": False, "error": {"code": exc.code, "message": str(exc),
                                   "field": getattr(exc, "field", None)}}


def raise_remote(error: Mapping[str, Any]) -> None:
    """Re-raise a peer's domain error as the same class here."""
    cls = _ERRORS.get(str(error.get("code")), MedSettleError)
    message = str(error.get("message", "remote error"))
    if issubclass(cls, errors.InvalidInput):
        field = str(error.get("field") or "input")
        raise cls(field, message.removeprefix(f"{field}: "))
    if issubclass(cls, errors.PolicyFileError):
        raise errors.PolicyError(message)
    raise cls(message)


class HubClient:
    """A province's connection to the hub: register, heartbeat, and calls to other provinces."""

    def __init__(self, hub_url: str, node: str, key: str, timeout: float = 3.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.node = node
        self.key = key
        self.timeout = timeout
        self.http = httpx.Client(base_url=hub_url, transport=transport,
                                 timeout=httpx.Timeout(timeout + 1.0, connect=2.0),
                                 limits=httpx.Limits(max_connections=64,
                                                     max_keepalive_connections=64))

    def post(self, path: str, doc: Mapping[str, Any], timeout: float | None = None) -> Any:
        """POST a signed JSON document to the hub; peer trouble becomes PeerUnavailable."""
        body = json.dumps(doc, default=str, ensure_ascii=False).encode()
        try:
            response = self.http.post(path, content=body, timeout=timeout,
                                      headers=signed_headers(self.key, self.node, path, body))
        except httpx.TimeoutException:
            raise PeerUnavailable("the national hub did not answer in time") from None
        except httpx.TransportError as exc:
            raise PeerUnavailable(f"the national hub cannot be reached: {exc}") from None
        answer = response.json()
        if response.status_code == 401:
            raise AuthenticationFailed(str(answer.get("error", {}).get("message")))
        return answer

    def call(self, to: str, op: str, msgid: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Ask province `to` to run `op`; returns its result or raises its error here."""
        answer = self.post("/fed/v1/call", {"to": to, "op": op, "msgid": msgid,
                                            "payload": payload}, timeout=self.timeout + 1.0)
        if not answer.get("ok"):
            raise_remote(answer.get("error", {}))
        result: dict[str, Any] = answer["result"]
        return result

    def close(self) -> None:
        """Close pooled connections."""
        self.http.close()
