"""Every client of a node's answer treats an answer that is not a JSON object (a plain-text 500,
a proxy's HTML page, a JSON list) as PeerUnavailable with a clear message, never a parse error."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.api.hub_clearing import tell_province_to_pay_institutions
from medsettle.adapters.cli_reconcile import HttpSides
from medsettle.adapters.federation import signed_headers
from medsettle.adapters.peers import HubClient
from medsettle.core.errors import PeerUnavailable
from medsettle.services import hub as hub_svc
from medsettle.services.anchors import send_anchor

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

KEYS = {"440000": "k-guangdong", "510000": "k-sichuan"}
#: (content type, status, body) of answers that are not a JSON object.
NOT_OBJECTS = [
    ("text/plain", 500, b"Internal Server Error"),
    ("text/html", 502, b"<html><body>502 Bad Gateway</body></html>"),
    ("application/json", 200, b"[1, 2]"),
    ("application/json", 200, b'"ok"'),
    ("application/json", 500, b"{truncated"),
    ("application/json", 200, b"\xff\xfe{}"),
]
IDS = ["text-500", "html-502", "json-list", "json-string", "bad-json-500", "not-utf8"]


@contextmanager
def answering(content_type: str, status: int, body: bytes) -> Iterator[str]:
    """A loopback HTTP server giving the same answer to every GET and POST; yields its URL."""
    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *_: Any) -> None:
            pass
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def hub_client_post(url: str) -> None:
    client = HubClient(url, "440000", KEYS["440000"], timeout=2)
    try:
        client.post("/fed/v1/heartbeat", {})
    finally:
        client.close()


def hub_client_call(url: str) -> None:
    client = HubClient(url, "440000", KEYS["440000"], timeout=2)
    try:
        client.call("510100", "person_info", "M1", {"cert_type": "02", "cert_no": "x"})
    finally:
        client.close()


def anchor_sending(url: str) -> None:
    head = SimpleNamespace(seq=3, hash="ab" * 32)
    tx = SimpleNamespace(rows_after=lambda *_, **__: [head])
    db = SimpleNamespace(tx=contextmanager(lambda: iter([tx])))
    client = HubClient(url, "440000", KEYS["440000"], timeout=2)
    try:
        send_anchor(db, client.post, None, datetime(2025, 3, 1, tzinfo=UTC))  # type: ignore[arg-type]
    finally:
        client.close()


def reconcile_hub_status(url: str) -> None:
    sides = HttpSides(url, KEYS, timeout=2)
    try:
        sides.regions()
    finally:
        sides.close()


def reconcile_node_list(url: str) -> None:
    sides = HttpSides("http://127.0.0.1:9", KEYS, timeout=2)
    sides.endpoints = {"510000": url}
    try:
        sides.settlements("510000", "insured", date(2025, 3, 1), date(2025, 3, 1))
    finally:
        sides.close()


CLIENTS: list[Callable[[str], None]] = [hub_client_post, hub_client_call, anchor_sending,
                                        reconcile_hub_status, reconcile_node_list]


@pytest.mark.parametrize("client", CLIENTS, ids=[c.__name__ for c in CLIENTS])
@pytest.mark.parametrize(("content_type", "status", "body"), NOT_OBJECTS, ids=IDS)
def test_a_client_takes_an_answer_that_is_not_a_json_object_as_peer_unavailable(
        client: Callable[[str], None], content_type: str, status: int, body: bytes) -> None:
    with answering(content_type, status, body) as url:
        with pytest.raises(PeerUnavailable, match=f"answered HTTP {status} without a JSON object"):
            client(url)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("hub") / "hub.db"
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{db}", keys=KEYS, call_timeout=2))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def register(hub: TestClient, region: str, endpoint: str) -> None:
    path, body = "/fed/v1/register", json.dumps({"endpoint": endpoint}).encode()
    answer = hub.post(path, content=body, headers=signed_headers(KEYS[region], region, path, body))
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("content_type", "status", "body"), NOT_OBJECTS, ids=IDS)
def test_the_hub_answers_a_json_peer_unavailable_when_a_province_answers_garbage(
        hub: TestClient, content_type: str, status: int, body: bytes) -> None:
    with answering(content_type, status, body) as url:
        register(hub, "510000", url)
        path = "/fed/v1/call"
        doc = json.dumps({"to": "510100", "op": "person_info", "msgid": "M1",
                          "payload": {"cert_type": "02", "cert_no": "x"}}).encode()
        answer = hub.post(path, content=doc,
                          headers=signed_headers(KEYS["440000"], "440000", path, doc))
    assert answer.status_code == 503
    error = answer.json()["error"]
    assert error["code"] == "peer_unavailable"
    assert error["message"] == f"province 510000 answered HTTP {status} without a JSON object"


@pytest.mark.parametrize(("content_type", "status", "body"), NOT_OBJECTS, ids=IDS)
def test_a_province_answering_garbage_is_not_told_to_pay_and_it_is_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, content_type: str, status: int,
        body: bytes) -> None:
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{tmp_path}/hub.db", keys=KEYS))
    store = app.state.store
    with answering(content_type, status, body) as url:
        with store.tx() as tx:
            hub_svc.register(tx, "510000", url, datetime.now(UTC))
        with caplog.at_level(logging.WARNING):
            assert tell_province_to_pay_institutions(store, KEYS, "510000", "2025-03") is None
    app.state.journal.close()
    told = [r for r in caplog.records if "not told to pay" in r.getMessage()]
    assert told and "without a JSON object" in told[0].why  # type: ignore[attr-defined]
