"""Keep-alive HTTP/1.1 connections for node-to-node requests, pooled per host: a socket each,
requests written directly and answers read by httptools' parser (the C parser uvicorn serves
with). The standard library's http.client cost a node about three times the CPU per request,
mostly parsing the answer's headers with the email package (`bench/bench_http_client.py`),
which matters when every cross-province message crosses the hub twice.

A connection idle for longer than `IDLE_SECONDS` is not reused (servers close idle keep-alive
connections, uvicorn after 5 s). A pooled connection the peer closed anyway fails before any
answer comes back; that one case is retried once, on a new connection. Every node-to-node
request is idempotent by its msgid anyway.
"""

from __future__ import annotations

import queue
import re
import socket
import threading
import time
from urllib.parse import urlsplit

import httptools

from medsettle.core.errors import PeerTimedOut, PeerUnreachable

#: Longer idle than this and a pooled connection is closed rather than reused.
IDLE_SECONDS = 3.0
#: What may not appear in a request line or a header (it would end the line early).
_LINE_BREAK = re.compile(r"[\r\n\x00]")


class _Closed(ConnectionError):
    """The peer closed the connection before any byte of an answer."""


class _Answer:
    """Collects one answer as httptools parses it (status and keep-alive are read when the
    headers are complete: the parser forgets them once the message is)."""

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.status = 0
        self.keep = False
        self.complete = False

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        self.keep = self.parser.should_keep_alive()

    def on_body(self, data: bytes) -> None:
        self.body.append(data)

    def on_message_complete(self) -> None:
        self.complete = True


def request_bytes(method: str, host: str, target: str, body: bytes | None,
                  headers: dict[str, str]) -> bytes:
    """An HTTP/1.1 request; ValueError if a header or the target would break its line."""
    head = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    if body is not None:
        head.append(f"Content-Length: {len(body)}")
    head += [f"{name}: {value}" for name, value in headers.items()]
    if " " in target or any(_LINE_BREAK.search(line) for line in head):
        raise ValueError(f"a header or the target of {method} {target!r} breaks its line")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")


class Connection:
    """One keep-alive HTTP/1.1 connection to a host."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def exchange(self, request: bytes, timeout: float) -> tuple[int, bytes, bool]:
        """Send one request (as `request_bytes` wrote it) and read its answer: (status, body,
        whether to keep the connection)."""
        self.sock.settimeout(timeout)
        self.sock.sendall(request)
        answer = _Answer()
        received = False
        while not answer.complete:
            data = self.sock.recv(65536)
            if not data:
                if received:
                    raise ConnectionError("the peer closed the connection mid-answer")
                raise _Closed("the peer closed the connection")
            received = True
            answer.parser.feed_data(data)
        return answer.status, b"".join(answer.body), answer.keep

    def close(self) -> None:
        self.sock.close()


class HttpPool:
    """Pooled connections per (host, port); `request` returns (status, body)."""

    def __init__(self, timeout: float, size: int = 64) -> None:
        self.timeout = timeout
        self.size = size
        self._pools: dict[tuple[str, int], queue.LifoQueue[tuple[float, Connection]]] = {}
        self._lock = threading.Lock()

    def _pool(self, key: tuple[str, int]) -> queue.LifoQueue[tuple[float, Connection]]:
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                pool = self._pools[key] = queue.LifoQueue(self.size)
            return pool

    def request(self, method: str, url: str, body: bytes | None, headers: dict[str, str],
                timeout: float | None = None, peer: str = "the peer") -> tuple[int, bytes]:
        """Send one request; PeerTimedOut or PeerUnreachable for peer trouble."""
        parts = urlsplit(url)
        key = (parts.hostname or "127.0.0.1", parts.port or 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = request_bytes(method, f"{key[0]}:{key[1]}", target, body, headers)
        pool = self._pool(key)
        wait = timeout or self.timeout
        for attempt in (1, 2):
            conn = self._pooled(pool) if attempt == 1 else None
            reused = conn is not None
            try:
                if conn is None:
                    conn = Connection(*key, wait)
                status, data, keep = conn.exchange(request, wait)
            except TimeoutError:
                if conn is not None:
                    conn.close()
                raise PeerTimedOut(f"{peer} did not answer in time") from None
            except (_Closed, ConnectionResetError, BrokenPipeError) as exc:
                if conn is not None:
                    conn.close()
                if reused and attempt == 1:
                    continue  # the peer closed an idle connection: try a fresh one
                raise PeerUnreachable(f"{peer} cannot be reached: {exc!r}") from None
            except (OSError, httptools.HttpParserError) as exc:
                if conn is not None:
                    conn.close()
                raise PeerUnreachable(f"{peer} cannot be reached: {exc!r}") from None
            if keep:
                try:
                    pool.put_nowait((time.monotonic(), conn))
                except queue.Full:
                    conn.close()
            else:
                conn.close()
            return status, data
        raise PeerUnreachable(f"{peer} cannot be reached")  # not reached: the loop returns

    @staticmethod
    def _pooled(pool: queue.LifoQueue[tuple[float, Connection]]) -> Connection | None:
        """A pooled connection used recently enough, or None (closing the stale ones)."""
        while True:
            try:
                used, conn = pool.get_nowait()
            except queue.Empty:
                return None
            if time.monotonic() - used < IDLE_SECONDS:
                return conn
            conn.close()

    def close(self) -> None:
        """Close every pooled connection."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            while not pool.empty():
                pool.get_nowait()[1].close()
