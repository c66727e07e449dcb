"""Node-to-node requests are signed; an unknown node, a wrong key or a stale time is refused."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.federation import signature, signed_headers, verify
from medsettle.core.errors import AuthenticationFailed

KEYS = {"440000": "k-guangdong", "510000": "k-sichuan"}
BODY = b'{"endpoint": "http://127.0.0.1:9"}'


def test_a_correctly_signed_request_names_its_node() -> None:
    headers = {k.lower(): v for k, v in signed_headers("k-guangdong", "440000", "/p", BODY).items()}
    assert verify(headers, "/p", BODY, KEYS) == "440000"


@pytest.mark.parametrize(("change", "message"), [
    ({"x-ms-node": "990000"}, "unknown node"),
    ({"x-ms-node": "510000"}, "wrong signature"),
    ({"x-ms-signature": "0" * 64}, "wrong signature"),
    ({"x-ms-time": "1000000000"}, "too far"),
    ({"x-ms-signature": ""}, "not signed"),
])
def test_a_tampered_or_foreign_request_is_refused(change: dict[str, str], message: str) -> None:
    headers = {k.lower(): v for k, v in signed_headers("k-guangdong", "440000", "/p", BODY).items()}
    with pytest.raises(AuthenticationFailed, match=message):
        verify(headers | change, "/p", BODY, KEYS)


def test_a_signature_covers_the_body_and_the_path() -> None:
    stamp = str(int(time.time()))
    base = signature("k", "440000", stamp, "/p", BODY)
    assert signature("k", "440000", stamp, "/q", BODY) != base
    assert signature("k", "440000", stamp, "/p", BODY + b" ") != base


def test_the_hub_refuses_a_registration_signed_with_another_nodes_key(tmp_path: Path) -> None:
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{tmp_path}/hub.db", keys=KEYS))
    with TestClient(app) as client:
        forged = signed_headers("k-sichuan", "440000", "/fed/v1/register", BODY)
        refused = client.post("/fed/v1/register", content=BODY, headers=forged)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "authentication_failed"
        assert client.get("/status").json()["nodes"] == []
        good = signed_headers("k-guangdong", "440000", "/fed/v1/register", BODY)
        assert client.post("/fed/v1/register", content=BODY, headers=good).status_code == 200
        nodes = client.get("/status").json()["nodes"]
        assert [(n["region"], n["status"]) for n in nodes] == [("440000", "up")]
        unsigned = client.post("/fed/v1/call", content=json.dumps({"to": "510000"}))
        assert unsigned.status_code == 401
