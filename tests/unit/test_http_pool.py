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
        Handler.connections.append(self.client_address[1])  # one port per connection
        if body == b"chunked":
            self.send_response(200)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"5\r\n{\"ok\"\r\n7\r\n: true}\r\n0\r\n\r\n")
            return
        if body == b"close":
            self.send_response(200)
            self.send_header("content-length", "2")
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(b"{}")
            self.close_connection = True
            return
        if body == b"hang":
            self.hang.wait(5)
        reply = b'{"ok": true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
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


def test_a_chunked_answer_is_read_whole(server: str) -> None:
    pool = HttpPool(2.0)
    assert pool.request("POST", f"{server}/x", b"chunked", {}) == (200, b'{"ok": true}')
    assert pool.request("POST", f"{server}/x", b"{}", {})[0] == 200  # the connection goes on
    pool.close()


def test_an_answer_that_closes_the_connection_is_not_pooled(server: str) -> None:
    pool = HttpPool(2.0)
    Handler.connections.clear()
    assert pool.request("POST", f"{server}/x", b"close", {}) == (200, b"{}")
    assert pool.request("POST", f"{server}/x", b"{}", {})[0] == 200
    assert len(set(Handler.connections)) == 2
    pool.close()


@pytest.mark.parametrize("headers, path", [({"X-A": "1\r\nX-Injected: 1"}, "/x"),
                                           ({"X-A\n": "1"}, "/x"), ({}, "/x y")])
def test_a_header_or_target_that_would_break_its_line_is_refused_before_sending(
        server: str, headers: dict[str, str], path: str) -> None:
    pool = HttpPool(2.0)
    Handler.connections.clear()
    with pytest.raises(ValueError, match="breaks its line"):
        pool.request("POST", f"{server}{path}", b"{}", headers)
    assert Handler.connections == []
    pool.close()
