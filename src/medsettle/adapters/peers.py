"""Signed JSON requests to other nodes over pooled HTTP (adapters/http_pool): the one client
every node-to-node call
uses (a province calling the hub, the hub forwarding to a province, the operators' tools).

A peer's trouble becomes a PeerUnavailable here, by kind: PeerTimedOut (no answer in time: the
peer may still have acted), PeerUnreachable (no connection, or dropped before answering),
PeerBadAnswer (an answer that is not a JSON object: a proxy's error page, a plain-text 500).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from medsettle.adapters.federation import read_answer, result_of, signed_headers
from medsettle.adapters.http_pool import HttpPool
from medsettle.core.errors import AuthenticationFailed, PeerUnreachable


def dumps(doc: Any) -> bytes:
    """A JSON body (dates and decimals as text)."""
    return orjson.dumps(doc, default=str)


class SignedClient:
    """Pooled HTTP connections for signed requests sent as node `node`."""

    def __init__(self, node: str, timeout: float = 3.0, *, pool: int = 64) -> None:
        self.node = node
        self.timeout = timeout
        self.http = HttpPool(timeout, pool)

    def request(self, method: str, base: str, path: str, key: str, doc: Any = None, *,
                query: str = "", timeout: float | None = None,
                peer: str = "the peer") -> dict[str, Any]:
        """Send one signed request (its path, query and body) and return the peer's answer, a
        JSON object whatever its status; 401 is AuthenticationFailed."""
        body = b"" if doc is None else dumps(doc)
        headers = signed_headers(key, self.node, path, body, query)
        url = f"{base.rstrip('/')}{path}{'?' + query if query else ''}"
        status, data = self.http.request(method, url, body or None, headers, timeout, peer)
        answer = read_answer(status, data, peer)
        if status == 401:
            error = answer.get("error")
            message = error.get("message") if isinstance(error, Mapping) else None
            raise AuthenticationFailed(str(message or f"{peer} refused the request"))
        return answer

    def result(self, method: str, base: str, path: str, key: str, doc: Any = None, *,
               query: str = "", timeout: float | None = None, peer: str = "the peer") -> Any:
        """The `result` of a peer's answer; its refusal is raised here as the same error."""
        return result_of(self.request(method, base, path, key, doc, query=query,
                                      timeout=timeout, peer=peer))

    def close(self) -> None:
        """Close pooled connections."""
        self.http.close()


class HubClient:
    """A province's connection to the hub: register, heartbeat, and calls to other provinces."""

    def __init__(self, hub_url: str, node: str, key: str, timeout: float = 3.0) -> None:
        self.hub_url = hub_url
        self.node = node
        self.key = key
        self.timeout = timeout
        self.client = SignedClient(node, timeout + 1.0)

    def post(self, path: str, doc: Mapping[str, Any],
             timeout: float | None = None) -> dict[str, Any]:
        """POST a signed JSON document to the hub and return its answer (a JSON object)."""
        return self.client.request("POST", self.hub_url, path, self.key, doc, timeout=timeout,
                                   peer="the national hub")

    def get(self, path: str, timeout: float | None = None) -> tuple[int, bytes]:
        """A signed GET of what the hub keeps for this province (its statements, its anchors):
        (status, body). `path` may carry a query string, which the signature covers."""
        route, _, query = path.partition("?")
        headers = signed_headers(self.key, self.node, route, b"", query)
        return self.client.http.request("GET", f"{self.hub_url.rstrip('/')}{path}", None,
                                        headers, timeout, "the national hub")

    def read(self, path: str, query: str = "", timeout: float | None = None) -> Any:
        """The `result` of a signed GET (the `query` string signed too); a refusal is raised
        here as the hub's own error."""
        return self.client.result("GET", self.hub_url, path, self.key, query=query,
                                  timeout=timeout, peer="the national hub")

    def ask(self, path: str, doc: Mapping[str, Any], timeout: float | None = None) -> Any:
        """POST to the hub and return the `result` of its answer; a refusal is raised here as
        the hub's own error (NotFound for a node the hub does not know, …)."""
        return result_of(self.post(path, doc, timeout))

    def call(self, to: str, op: str, msgid: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Ask province `to` to run `op`; returns its result or raises its error here."""
        result = self.ask("/fed/v1/call", {"to": to, "op": op, "msgid": msgid,
                                           "payload": payload}, timeout=self.timeout + 1.0)
        if not isinstance(result, dict):
            raise PeerUnreachable(f"province {to} answered {op} without a result object")
        return result

    def close(self) -> None:
        """Close pooled connections."""
        self.client.close()
