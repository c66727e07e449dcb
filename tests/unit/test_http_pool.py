"""The keep-alive pool between nodes: reuses connections, survives a peer that closed an idle
one, and names peer trouble by kind."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from medsettle.adapters.http_pool import HttpPool
from medsettle.core.errors import PeerTimedOut, PeerUnreachable


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections: list[int] = []
    hang = threading.Event()

    def do_POST(self) -> None:  # the standard library names it so
        body = self.rfile.read(int(self.headers["content-length"]))
        if body == b"hang":
            self.hang.wait(5)
        reply = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
        Handler.connections.append(id(self.connection))
        # Close the connection after answering, without saying so: the client pools it, and
        # its next request on it finds it closed (as a server closing idle connections does).
        self.close_connection = body == b"then-close"

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    Handler.hang.set()
    httpd.shutdown()
    Handler.hang.clear()


def test_a_connection_is_reused_for_the_next_request(server: str) -> None:
    pool = HttpPool(2.0)
    Handler.connections.clear()
    for _ in range(5):
        assert pool.request("POST", f"{server}/x", b"{}", {}) == (200, b'{"ok": true}')
    assert len(set(Handler.connections)) == 1
    pool.close()


def test_a_pooled_connection_the_peer_closed_is_replaced_once(server: str) -> None:
    pool = HttpPool(2.0)
    for _ in range(5):
        status, _ = pool.request("POST", f"{server}/x", b"then-close", {})
        assert status == 200
    pool.close()


def test_peer_trouble_is_named_by_kind(server: str) -> None:
    pool = HttpPool(0.3)
    with pytest.raises(PeerTimedOut):
        pool.request("POST", f"{server}/x", b"hang", {})
    with pytest.raises(PeerUnreachable):
        pool.request("POST", "http://127.0.0.1:9/x", b"{}", {})  # discard port: refused
    pool.close()
