"""Node-to-node requests are signed; an unknown node, a wrong key, a stale time, a reused nonce or
a time before the verifier started is refused, and the signature covers the query string."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.federation import (
    NonceBook,
    Verifier,
    signature,
    signed_headers,
    signed_target,
)
from medsettle.core.errors import AuthenticationFailed

KEYS = {"440000": "k-guangdong", "510000": "k-sichuan"}
BODY = b'{"endpoint": "http://127.0.0.1:9"}'
NONCE = "0123456789abcdef0123456789abcdef"


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def stamped(stamp: int, path: str = "/p", body: bytes = BODY, nonce: str = NONCE,
            query: str = "") -> dict[str, str]:
    """Headers of a request from 440000 signed at `stamp` (unix seconds)."""
    return {"x-ms-node": "440000", "x-ms-time": str(stamp), "x-ms-nonce": nonce,
            "x-ms-signature": signature("k-guangdong", "440000", str(stamp), nonce,
                                        signed_target(path, query), body)}


class Clock:
    """A settable clock for a Verifier."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_correctly_signed_request_names_its_node() -> None:
    headers = lowered(signed_headers("k-guangdong", "440000", "/p", BODY))
    assert Verifier(KEYS).verify(headers, "/p", BODY) == "440000"


@pytest.mark.parametrize(("change", "message"), [
    ({"x-ms-node": "990000"}, "unknown node"),
    ({"x-ms-node": "510000"}, "wrong signature"),
    ({"x-ms-signature": "0" * 64}, "wrong signature"),
    ({"x-ms-nonce": "f" * 32}, "wrong signature"),
    ({"x-ms-time": "1000000000"}, "too far"),
    ({"x-ms-time": "²"}, "too far"),  # a digit to str.isdigit, not to int()
    ({"x-ms-time": "١٢٣"}, "too far"),
    ({"x-ms-time": "9" * 400}, "too far"),
    ({"x-ms-signature": ""}, "not signed"),
    ({"x-ms-nonce": ""}, "not signed"),
    ({"x-ms-nonce": "NOT-HEX-" * 4}, "nonce"),
    ({"x-ms-nonce": "abc"}, "nonce"),
])
def test_a_tampered_or_foreign_request_is_refused(change: dict[str, str], message: str) -> None:
    headers = lowered(signed_headers("k-guangdong", "440000", "/p", BODY))
    with pytest.raises(AuthenticationFailed, match=message):
        Verifier(KEYS).verify(headers | change, "/p", BODY)


def test_a_signature_covers_body_path_nonce_and_query() -> None:
    stamp = str(int(time.time()))
    base = signature("k", "440000", stamp, NONCE, "/p?day=2025-03-01", BODY)
    assert signature("k", "440000", stamp, NONCE, "/q?day=2025-03-01", BODY) != base
    assert signature("k", "440000", stamp, NONCE, "/p?day=2025-03-01", BODY + b" ") != base
    assert signature("k", "440000", stamp, "f" * 32, "/p?day=2025-03-01", BODY) != base
    assert signature("k", "440000", stamp, NONCE, "/p?day=2025-03-02", BODY) != base


@pytest.mark.parametrize(("path", "query", "target"), [
    ("/fed/v1/index", "", "/fed/v1/index"),
    ("/fed/v1/index", "day=2025-03-01", "/fed/v1/index?day=2025-03-01"),
    ("/fed/v1/index", "?day=2025-03-01&until=2025-03-02", "/fed/v1/index?day=2025-03-01&until=2025-03-02"),
])
def test_the_signed_target_is_the_path_and_the_query_string(path: str, query: str,
                                                            target: str) -> None:
    assert signed_target(path, query) == target


def test_a_changed_query_string_is_refused() -> None:
    verifier = Verifier(KEYS)
    signed = lowered(signed_headers("k-guangdong", "440000", "/fed/v1/settlements", b"",
                                    "?day=2025-03-01&role=insured"))
    with pytest.raises(AuthenticationFailed, match="wrong signature"):
        verifier.verify(signed, "/fed/v1/settlements", b"", "day=2025-03-02&role=insured")
    with pytest.raises(AuthenticationFailed, match="wrong signature"):
        verifier.verify(signed, "/fed/v1/settlements", b"", "")
    assert verifier.verify(signed, "/fed/v1/settlements", b"",
                           "day=2025-03-01&role=insured") == "440000"


def test_a_replayed_request_is_refused() -> None:
    verifier = Verifier(KEYS)
    headers = lowered(signed_headers("k-guangdong", "440000", "/p", BODY))
    assert verifier.verify(headers, "/p", BODY) == "440000"
    with pytest.raises(AuthenticationFailed, match="replayed"):
        verifier.verify(headers, "/p", BODY)
    fresh = lowered(signed_headers("k-guangdong", "440000", "/p", BODY))
    assert verifier.verify(fresh, "/p", BODY) == "440000"


def test_a_request_stamped_before_the_verifier_started_is_refused() -> None:
    clock = Clock(1_700_000_100.5)
    verifier = Verifier(KEYS, clock=clock)
    with pytest.raises(AuthenticationFailed, match="before this node started"):
        verifier.verify(stamped(1_700_000_099), "/p", BODY)
    assert verifier.verify(stamped(1_700_000_100), "/p", BODY) == "440000"  # the same second
    clock.now += 60
    assert verifier.verify(stamped(1_700_000_130, nonce="1" * 32), "/p", BODY) == "440000"


def test_a_nonce_is_remembered_for_the_window_then_forgotten() -> None:
    clock = Clock(1_700_000_000)
    verifier = Verifier(KEYS, clock=clock, window=300)
    old = stamped(1_700_000_000)
    assert verifier.verify(old, "/p", BODY) == "440000"
    clock.now += 300  # still inside the window: a replay is a replay
    with pytest.raises(AuthenticationFailed, match="replayed"):
        verifier.verify(old, "/p", BODY)
    clock.now += 1  # out of the window: refused by its time, and no longer kept
    with pytest.raises(AuthenticationFailed, match="too far"):
        verifier.verify(old, "/p", BODY)
    assert verifier.verify(stamped(1_700_000_301, nonce="2" * 32), "/p", BODY) == "440000"
    assert len(verifier.nonces) == 1


def test_the_nonce_book_admits_a_nonce_once_across_threads() -> None:
    book = NonceBook()
    start = threading.Barrier(16)
    admitted: list[bool] = []

    def use() -> None:
        start.wait()
        admitted.append(book.first_use("440000", NONCE, expires=2.0, now=1.0))
    threads = [threading.Thread(target=use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(admitted) == [False] * 15 + [True]
    assert book.first_use("510000", NONCE, expires=2.0, now=1.0)  # another node's nonce
    assert book.first_use("440000", NONCE, expires=4.0, now=3.0)  # after it expired


def hub(tmp_path: Path) -> TestClient:
    return TestClient(create_hub_app(HubConfig(db_url=f"sqlite:///{tmp_path}/hub.db",
                                               keys=KEYS)))


def test_the_hub_refuses_a_registration_signed_with_another_nodes_key(tmp_path: Path) -> None:
    with hub(tmp_path) as client:
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


def test_only_members_of_the_federation_learn_where_a_node_is_reached(tmp_path: Path) -> None:
    """The public /status says up or down; the endpoints a hub forwards to are on the signed
    /fed/v1/nodes only (an outsider must not get a map of the provinces' addresses)."""
    with hub(tmp_path) as client:
        good = signed_headers("k-guangdong", "440000", "/fed/v1/register", BODY)
        assert client.post("/fed/v1/register", content=BODY, headers=good).status_code == 200
        public = client.get("/status")
        assert "127.0.0.1:9" not in public.text
        assert public.json()["nodes"][0].keys() == {"region", "status", "since"}
        assert client.get("/fed/v1/nodes").status_code == 401
        forged = signed_headers("k-sichuan", "440000", "/fed/v1/nodes", b"")
        assert client.get("/fed/v1/nodes", headers=forged).status_code == 401
        member = signed_headers("k-sichuan", "510000", "/fed/v1/nodes", b"")
        board = client.get("/fed/v1/nodes", headers=member).json()["result"]
        assert [(n["region"], n["endpoint"], n["status"]) for n in board] == [
            ("440000", "http://127.0.0.1:9", "up")]


def test_the_hub_refuses_a_replayed_request(tmp_path: Path) -> None:
    with hub(tmp_path) as client:
        headers = signed_headers("k-guangdong", "440000", "/fed/v1/register", BODY)
        assert client.post("/fed/v1/register", content=BODY, headers=headers).status_code == 200
        replay = client.post("/fed/v1/register", content=BODY, headers=headers)
        assert replay.status_code == 401
        assert "replayed" in replay.json()["error"]["message"]


def test_the_hub_checks_the_query_string_of_its_signed_index(tmp_path: Path) -> None:
    path = "/fed/v1/index"
    with hub(tmp_path) as client:
        signed = signed_headers("k-guangdong", "440000", path, b"", "day=2025-03-01")
        assert client.get(f"{path}?day=2025-03-01", headers=signed).json() == {
            "ok": True, "result": []}
        again = signed_headers("k-guangdong", "440000", path, b"", "day=2025-03-01")
        changed = client.get(f"{path}?day=2025-03-01&until=2025-03-31", headers=again)
        assert changed.status_code == 401
        path_only = signed_headers("k-guangdong", "440000", path, b"")
        assert client.get(f"{path}?day=2025-03-01", headers=path_only).status_code == 401
