"""The conformance kit bounds a platform's answer as a whole: httpx's timeout is per read, so a
platform sending a byte every little while held a run forever, and a huge answer was kept whole.
Now an answer that takes longer than the deadline is a read timeout, one larger than
ANSWER_MAX_BYTES a read error: the scenario fails saying so."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from medsettle.adapters.kit.session import ANSWER_MAX_BYTES, LoseAnswer


def read_request(connection: socket.socket) -> None:
    """Read the whole request (unread bytes at close would reset the connection)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += connection.recv(65536)


def serve(body: Iterator[bytes]) -> tuple[str, threading.Event]:
    """A one-connection HTTP server that sends a 200 with `body`'s chunks as they come."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    stop = threading.Event()

    def run() -> None:
        connection, _ = listener.accept()
        with connection, listener:
            read_request(connection)
            connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                               b"transfer-encoding: chunked\r\n\r\n")
            try:
                for chunk in body:
                    if stop.is_set():
                        return
                    connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                connection.sendall(b"0\r\n\r\n")
            except OSError:
                return  # the kit hung up
    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", stop


def trickle() -> Iterator[bytes]:
    while True:
        yield b" "
        time.sleep(0.05)  # each read answers at once: only a deadline on the whole ends it


@pytest.mark.parametrize(("body", "deadline", "error", "says"), [
    (trickle, 1.0, httpx.ReadTimeout, "took more than 1 s"),
    (lambda: iter([b"x" * 1_000_000] * (ANSWER_MAX_BYTES // 1_000_000 + 2)), 30.0,
     httpx.ReadError, "larger than")], ids=["trickles-in", "too-large"])
def test_an_answer_too_slow_or_too_large_fails_the_step(
        body: Callable[[], Iterator[bytes]], deadline: float, error: type[Exception],
        says: str) -> None:
    url, stop = serve(body())
    client = httpx.Client(transport=LoseAnswer(httpx.HTTPTransport(), deadline=deadline),
                          timeout=5)
    try:
        with pytest.raises(error, match=says):
            client.post(url, json={"infno": "1101"})
    finally:
        stop.set()
        client.close()


def test_a_plain_answer_still_reads() -> None:
    url, _ = serve(iter([b'{"infcode": ', b'0}']))
    with httpx.Client(transport=LoseAnswer(httpx.HTTPTransport()), timeout=5) as client:
        assert client.post(url, json={"infno": "1101"}).json() == {"infcode": 0}
