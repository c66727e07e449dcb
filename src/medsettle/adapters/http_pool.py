"""Keep-alive HTTP/1.1 connections for node-to-node requests (the standard library's
http.client, pooled per host): a third of httpx's CPU per request, which matters when every
cross-province message crosses the hub twice.

A connection idle for longer than `IDLE_SECONDS` is not reused (servers close idle keep-alive
connections, uvicorn after 5 s). A pooled connection the peer closed anyway fails before the
request reaches the peer; that one case is retried once, on a new connection. Every
node-to-node request is idempotent by its msgid anyway.
"""

from __future__ import annotations

import http.client
import queue
import threading
import time
from urllib.parse import urlsplit

from medsettle.core.errors import PeerTimedOut, PeerUnreachable

#: Longer idle than this and a pooled connection is closed rather than reused.
IDLE_SECONDS = 3.0
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          http.client.CannotSendRequest, http.client.BadStatusLine)


Connection = http.client.HTTPConnection


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
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        pool = self._pool(key)
        for attempt in (1, 2):
            conn, reused = (self._pooled(pool) if attempt == 1 else None), True
            if conn is None:
                conn, reused = http.client.HTTPConnection(*key, timeout=self.timeout), False
            try:
                if conn.sock is not None:
                    conn.sock.settimeout(timeout or self.timeout)
                else:
                    conn.timeout = timeout or self.timeout
                conn.request(method, target, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
            except TimeoutError:
                conn.close()
                raise PeerTimedOut(f"{peer} did not answer in time") from None
            except _STALE as exc:
                conn.close()
                if reused and attempt == 1:
                    continue  # the peer closed an idle connection: try a fresh one
                raise PeerUnreachable(f"{peer} cannot be reached: {exc!r}") from None
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise PeerUnreachable(f"{peer} cannot be reached: {exc!r}") from None
            if response.will_close:
                conn.close()
            else:
                try:
                    pool.put_nowait((time.monotonic(), conn))
                except queue.Full:
                    conn.close()
            return response.status, data
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
