"""A request body is read only up to its route's limit, over real HTTP: a body that says by its
content-length that it is longer is refused before any of it is read, one that streams past the
limit is refused there and the rest is never read, and the node answers the next request. The
HIS gateway refuses in its envelope (infcode -1 naming `body`), every other route with 413 and
the JSON error. Before, the fast lane kept any body whole (1 GB: an hour of the event loop) and
the FastAPI routes read theirs unbounded."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from medsettle.adapters.api.fast_lane import FastLane, read_body
from medsettle.adapters.api.hub import HubConfig, create_hub_app, serve_hub_app
from medsettle.adapters.api.limits import (
    GENERAL_BODY_MAX_BYTES,
    NODE_BODY_MAX_BYTES,
    BodyLimit,
    json_too_large,
)
from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, serve_province_app
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.federation import signed_headers
from medsettle.adapters.his.envelope import BODY_MAX_BYTES
from medsettle.adapters.peers import dumps
from medsettle.core.jsonform import encode
from medsettle.core.lines import FeeLine
from medsettle.core.policy import PolicyBook
from medsettle.core.supervision.hits import Hit
from medsettle.services.exchange import SettleVisit
from tests.api.conftest import REGION, TestClient
from tests.e2e import fixtures as f

CHUNK = 64 * 1024
GIB = 2**30
KEYS = {"440000": "k-gd", "510000": "k-sc"}


@contextmanager
def served(app: Any, implementation: str) -> Iterator[tuple[str, int]]:
    """Serve an ASGI app with uvicorn's `implementation` ("h11", or "httptools" as the nodes
    are served) from a thread; its host and port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, loop="asyncio",
                                           http=implementation))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "the node did not start"
    try:
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        thread.join(10)


def post_raw(where: tuple[str, int], path: str, headers: dict[str, str],
             body: Iterable[bytes] = ()) -> tuple[int, dict[str, str], bytes]:
    """POST by hand: the head, then `body` as given (which may not be all the head promised),
    then the answer, which must come within 20 s (no answer: the node waits for the rest)."""
    with socket.create_connection(where, timeout=20) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in {"host": "node", **headers}.items())
        sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
        for part in body:
            sock.sendall(part)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()


def one_byte_past(limit: int) -> Iterator[bytes]:
    """`limit` bytes and then one more, in chunks of the chunked transfer coding, never ended
    (no last chunk). The byte past the limit goes alone: the node has read all that was sent
    when it answers, so it closes the connection cleanly rather than resetting it."""
    sent = 0
    while sent < limit:
        size = min(CHUNK, limit - sent)
        yield f"{size:x}\r\n".encode() + b"x" * size + b"\r\n"
        sent += size
    yield b"1\r\nx\r\n"


def declared(length: int) -> dict[str, str]:
    return {"content-type": "application/json", "content-length": str(length)}


STREAMED = {"content-type": "application/json", "transfer-encoding": "chunked"}


def refused_as_json(answer: tuple[int, dict[str, str], bytes], limit: int) -> None:
    """413, the JSON error naming `body`, and the connection closed (the rest is unread)."""
    status, headers, body = answer
    assert status == 413, body[:300]
    assert httpx.Response(200, content=body).json() == {"ok": False, "error": {
        "code": "invalid_input", "field": "body",
        "message": f"body: is larger than {limit} bytes"}}
    assert headers.get("connection") == "close"


def refused_as_envelope(answer: tuple[int, dict[str, str], bytes]) -> None:
    """The gateway's refusal: HTTP 200, infcode -1, err_msg naming `body` and the limit."""
    status, headers, body = answer
    envelope = httpx.Response(200, content=body).json()
    assert status == 200 and envelope["infcode"] == -1 and envelope["output"] is None
    assert "body" in envelope["err_msg"] and str(BODY_MAX_BYTES) in envelope["err_msg"]
    assert envelope["inf_refmsgid"].startswith(REGION)
    assert headers.get("connection") == "close"


def still_answers(where: tuple[str, int]) -> None:
    """The node answers the next request."""
    host, port = where
    assert httpx.get(f"http://{host}:{port}/healthz", timeout=10).status_code == 200


# --- a province node as served: the fast lane in front of FastAPI --------------------------
@pytest.fixture(scope="module", params=["h11", "httptools"])
def province(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             book: PolicyBook) -> Iterator[tuple[str, int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('limits') / 'p.db'}"
    load_rows(url, f.ROWS[REGION])
    node = ProvinceNode(ProvinceConfig(region=REGION, db_url=url, key="k", hub_url=None),
                        book=book)
    with served(serve_province_app(node, background=False), request.param) as where:
        yield where
    node.store.engine.dispose()


def test_his_refuses_a_body_declared_too_long_before_reading_it(
        province: tuple[str, int]) -> None:
    refused_as_envelope(post_raw(province, "/his", declared(GIB)))  # not one byte sent
    still_answers(province)


def test_his_stops_reading_a_body_streamed_past_its_limit(province: tuple[str, int]) -> None:
    refused_as_envelope(post_raw(province, "/his", STREAMED,
                                 one_byte_past(BODY_MAX_BYTES)))
    still_answers(province)


def test_his_still_takes_a_body_sent_in_pieces(province: tuple[str, int]) -> None:
    pieces = [b'{"infno": "9', b'001", "msgid": ""}']
    answer = post_raw(province, "/his", STREAMED, [
        f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in pieces] + [b"0\r\n\r\n"])
    envelope = httpx.Response(200, content=answer[2]).json()
    assert envelope["infcode"] == -1 and "msgid" in envelope["err_msg"]  # read whole, then
    # checked field by field


def test_a_federation_operation_refuses_a_body_declared_too_long(
        province: tuple[str, int]) -> None:
    refused_as_json(post_raw(province, "/fed/v1/ops/settle", declared(NODE_BODY_MAX_BYTES + 1)),
                    NODE_BODY_MAX_BYTES)
    still_answers(province)


def test_a_federation_operation_stops_reading_a_body_streamed_past_its_limit(
        province: tuple[str, int]) -> None:
    refused_as_json(post_raw(province, "/fed/v1/ops/settle", STREAMED,
                             one_byte_past(NODE_BODY_MAX_BYTES)), NODE_BODY_MAX_BYTES)
    still_answers(province)


def test_an_api_route_refuses_a_body_declared_too_long(province: tuple[str, int]) -> None:
    refused_as_json(post_raw(province, "/api/v1/filings", declared(GIB)),
                    GENERAL_BODY_MAX_BYTES)
    still_answers(province)


def test_a_console_form_refuses_a_body_declared_too_long(province: tuple[str, int]) -> None:
    refused_as_json(post_raw(province, "/console/login", {
        "content-type": "application/x-www-form-urlencoded", "content-length": str(GIB)}),
        GENERAL_BODY_MAX_BYTES)
    still_answers(province)


# --- the hub as served ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('limits-hub') / 'hub.db'}"
    with served(serve_hub_app(HubConfig(db_url=url, keys=KEYS)), "httptools") as where:
        yield where


def test_the_hubs_forward_refuses_a_body_declared_too_long(hub: tuple[str, int]) -> None:
    refused_as_json(post_raw(hub, "/fed/v1/call", declared(GIB)), NODE_BODY_MAX_BYTES)
    still_answers(hub)


def test_the_hubs_forward_stops_reading_a_body_streamed_past_its_limit(
        hub: tuple[str, int]) -> None:
    refused_as_json(post_raw(hub, "/fed/v1/call", STREAMED,
                             one_byte_past(NODE_BODY_MAX_BYTES)), NODE_BODY_MAX_BYTES)
    still_answers(hub)


def test_a_hub_node_route_stops_reading_a_body_streamed_past_its_limit(
        hub: tuple[str, int]) -> None:
    refused_as_json(post_raw(hub, "/fed/v1/supervision/hits", STREAMED,
                             one_byte_past(NODE_BODY_MAX_BYTES)), NODE_BODY_MAX_BYTES)
    still_answers(hub)


def test_a_hub_route_stops_reading_a_body_streamed_past_the_general_limit(
        hub: tuple[str, int]) -> None:
    """A signed supervision request is read before its signature is checked."""
    refused_as_json(post_raw(hub, "/supervision/cases", STREAMED | {"x-ms-signature": "x"},
                             one_byte_past(GENERAL_BODY_MAX_BYTES)), GENERAL_BODY_MAX_BYTES)
    still_answers(hub)


# --- node-to-node routes take node-to-node bodies ------------------------------------------
def test_node_routes_take_more_than_the_general_limit(tmp_path: Path) -> None:
    """A signed index confirmation above the general limit reaches its route (which reads
    and checks it); the same size elsewhere is refused."""
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{tmp_path / 'hub.db'}", keys=KEYS))
    body = b'{"rows": [' + b" " * (GENERAL_BODY_MAX_BYTES + CHUNK) + b'{"setl_id": 1}]}'
    with TestClient(app) as client:
        answer = client.post("/fed/v1/index", content=body, headers=signed_headers(
            KEYS["440000"], "440000", "/fed/v1/index", body))
        assert answer.status_code == 400 and answer.json()["error"]["field"].startswith(
            "rows[0]")
        assert client.post("/supervision/cases", content=body).status_code == 413


def test_the_node_limit_holds_the_largest_bodies_nodes_send() -> None:
    """With room: 20,000 hits that each list 20 fee lines (the hub's most in one report; a
    province sends 10,000), the locator's 10,000 hashes, a settlement of 20,000 fee lines."""
    sid = "S" * 30
    hit = Hit("R11", "settlement", sid, "X0123: units above the per-visit standard " * 2,
              "r11.standards.X0123.per_visit = 30", "shipped thresholds (国家医保局)",
              {"units": "120", "item": "X0123", "standard": "30"}, (sid,) * 3,
              tuple(f"{sid}/{i}" for i in range(20)), "H51010400001", "P" * 30, 123456)
    hits = dumps({"month": "2026-10", "hits": [hit.to_dict()] * 20_000, "replace": True})
    hashes = dumps({"hashes": [hashlib.sha256(str(i).encode()).hexdigest()
                               for i in range(10_000)]})
    line = FeeLine("B", Decimal("1234.5678"), Decimal("12.5"), Decimal("0.1"),
                   Decimal("999.99"), True, "X" * 27, "注射用头孢曲松钠" * 2)
    visit = SettleVisit("V" * 30, "P" * 30, "310", "inpatient", "21", "L3", "H51010400001",
                        "510100", "440300", (line,) * 20_000, sid, True, "D" * 20, "L3")
    settle = dumps({"from": "510000", "to": "440000", "op": "settle", "msgid": "M" * 40,
                    "payload": encode(visit)})
    assert max(len(hits), len(hashes), len(settle)) * 1.15 < NODE_BODY_MAX_BYTES
    assert BODY_MAX_BYTES * 1.4 < GENERAL_BODY_MAX_BYTES  # /his when served without the lane


# --- the lane's reading ---------------------------------------------------------------------
def test_the_lane_reads_at_most_one_chunk_past_the_limit() -> None:
    taken = 0

    async def receive() -> dict[str, Any]:
        nonlocal taken
        taken += CHUNK
        return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}
    assert asyncio.run(read_body(receive, BODY_MAX_BYTES, None)) is None
    assert BODY_MAX_BYTES < taken <= BODY_MAX_BYTES + CHUNK


def test_a_lane_route_without_a_stated_limit_takes_the_node_limit() -> None:
    lane = FastLane(lambda *_: asyncio.sleep(0), {"/a": lambda *_: (200, {}),
                                                  "/b/": lambda *_: (200, {})},
                    limits={"/a": BodyLimit(10, json_too_large(10))})
    try:
        assert [lane.route(p)[1].max_bytes for p in ("/a", "/b/c")] == [  # type: ignore[index]
            10, NODE_BODY_MAX_BYTES]
    finally:
        lane.pool.shutdown()


def test_a_body_within_the_limit_is_joined_whole() -> None:
    parts = iter([b"ab", b"", b"cd", b"e"])

    async def receive() -> dict[str, Any]:
        part = next(parts)
        return {"type": "http.request", "body": part, "more_body": part != b"e"}
    assert asyncio.run(read_body(receive, 5, "5")) == b"abcde"
    assert asyncio.run(read_body(receive, 4, "5")) is None  # said by its length: not read

