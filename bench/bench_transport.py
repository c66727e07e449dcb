"""Benchmark: one node-to-node request and its answer over each candidate link, same run.

    .venv/bin/python bench/bench_transport.py [--seconds 10] [--threads 8] [--nats URL]

Issue 9 named two kinds of persistent, multiplexed link between nodes to measure against a
request per hop: HTTP/2, and NATS request-reply. Each is measured here the way a node would use
it: `--threads` worker threads call at once (a node's use cases call their peers from its worker
threads), and the answering side hands each request to a worker thread and sends back a small
JSON answer (what the nodes' fast lane does, `adapters/api/fast_lane.py`, with no work inside):

- **HTTP/1.1, the nodes' own pool** (`adapters/http_pool.py`: keep-alive sockets, httptools'
  parser) to uvicorn with uvloop and httptools, as the nodes serve today: the baseline;
- **HTTP/1.1, the nodes' pool to Granian** (an HTTP server written in Rust, embedded in the
  answering process's event loop): the same ASGI app, and the same work through Granian's own
  interface (RSGI): is a compiled HTTP front lighter than uvicorn's?
- **HTTP/1.1, httpx** to the same uvicorn (what a node would use without a pool of its own);
- **HTTP/2, httpx** (h2, one multiplexed connection, prior knowledge over cleartext) to
  Hypercorn serving the same ASGI app on uvloop (uvicorn speaks no HTTP/2);
- **NATS request-reply** through the local nats-server: the caller's nats-py client runs on an
  event loop of its own thread and the worker threads hand their requests to it; the answering
  process subscribes to the node's subject. The broker's CPU counts too: it is a hop.

For each link it reports the CPU per request of the calling process, the answering process and
the broker, their sum, its ratio to the baseline's, and the p50 and p99 of a request's wall
time. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
import nats

sys.path.insert(0, os.path.dirname(__file__))
from bench_floor import BODY, HEADERS, process_cpu
from scratch import machine, wait_listening

from medsettle.adapters.http_pool import HttpPool
from medsettle.adapters.launcher import free_port

SUBJECT = "medsettle.bench.510000.call"

#: The answering node's app: the fast lane with one route that answers at once.
APP = '''
from medsettle.adapters.api.fast_lane import FastLane

ANSWER = {"ok": True, "result": {"setl_id": "S44000020261130000001", "psn_cash_pay": 12345}}

async def nothing_else(scope, receive, send):
    if scope["type"] != "lifespan":
        raise RuntimeError("only the fast route is served here")
    while True:  # nothing to start or stop
        message = await receive()
        await send({"type": message["type"] + ".complete"})
        if message["type"] == "lifespan.shutdown":
            return

app = FastLane(nothing_else, {"/fed/v1/call": lambda path, headers, body: (200, ANSWER)})
'''
UVICORN = APP + '''
import sys
from medsettle.adapters.cli_nodes import run_server
run_server(app, "127.0.0.1", int(sys.argv[1]))
'''
HYPERCORN = APP + '''
import asyncio, signal, sys
import uvloop
from hypercorn.asyncio import serve
from hypercorn.config import Config

config = Config()
config.bind = [f"127.0.0.1:{sys.argv[1]}"]
config.accesslog = None
config.loglevel = "WARNING"
config.keep_alive_max_requests = 2**31  # its default closes a connection after 1,000 requests

async def main():
    stop = asyncio.Event()  # terminated: shut down cleanly, without a traceback
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await serve(app, config, shutdown_trigger=stop.wait)

uvloop.run(main())
'''
#: The same app on Granian's HTTP server (Rust), embedded in the process's own event loop;
#: argv: port, interface (asgi: the app as it is; rsgi: Granian's own interface, one handler
#: doing what the fast lane does).
GRANIAN = APP + '''
import asyncio, signal, sys
import orjson, uvloop
from granian.constants import HTTPModes, Interfaces
from granian.server.embed import Server

route = app.route("/fed/v1/call")


class Rsgi:
    async def __rsgi__(self, scope, protocol):
        body = await protocol()
        headers = {k.lower(): v for k, v in scope.headers.items()}
        status, doc = await asyncio.get_running_loop().run_in_executor(
            app.pool, route, scope.path, headers, body)
        protocol.response_bytes(status, [("content-type", "application/json")],
                                orjson.dumps(doc))


async def main():
    rsgi = sys.argv[2] == "rsgi"
    server = Server(Rsgi() if rsgi else app, address="127.0.0.1", port=int(sys.argv[1]),
                    interface=Interfaces.RSGI if rsgi else Interfaces.ASGINL,
                    http=HTTPModes.http1, websockets=False, log_enabled=False)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, server.stop)
    await server.serve()

uvloop.run(main())
'''
#: The answering node on NATS: the same route on the same kind of worker pool, each message
#: handed to it in a task of its own (a subscription's callback runs one message at a time).
NATS_RESPONDER = APP + '''
import asyncio, sys
import nats, orjson, uvloop

async def main():
    client = await nats.connect(sys.argv[1])
    loop = asyncio.get_running_loop()
    route = app.route("/fed/v1/call")

    async def answer(msg):
        headers = {k.lower(): v for k, v in (msg.headers or {}).items()}
        status, doc = await loop.run_in_executor(app.pool, route, "/fed/v1/call", headers,
                                                 msg.data)
        await msg.respond(orjson.dumps(doc))

    async def receive(msg):
        loop.create_task(answer(msg))

    await client.subscribe(sys.argv[2], cb=receive)
    await client.flush()
    print("ready", flush=True)
    await asyncio.Event().wait()

uvloop.run(main())
'''

Call = Callable[[], bytes]
T = TypeVar("T")


@contextmanager
def served(script: str, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """A Python process running `script` with `args`, stopped afterwards."""
    proc = subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)


def measure(call: Call, seconds: float, threads: int, answering: int,
            broker: int | None) -> dict[str, float]:
    """CPU µs per request of this process, the answering process and the broker, and the
    wall-time percentiles of a request, `threads` callers at once for `seconds`."""
    for _ in range(500):  # warm up (connections, caches)
        assert call()
    spans: list[list[float]] = [[] for _ in range(threads)]
    stop = time.monotonic() + seconds

    failed: list[Exception] = []

    def caller(index: int) -> None:
        own = spans[index]
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                call()
            except Exception as exc:  # counted, and the caller goes on (a client reconnects)
                failed.append(exc)
                continue
            own.append(time.perf_counter() - started)
    answering_before, client_before = process_cpu(answering), time.process_time()
    broker_before = process_cpu(broker) if broker else 0.0
    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    every = sorted(s for own in spans for s in own)
    count = len(every)
    if len(failed) > count // 100:  # a link that fails more than 1 % of requests has no figure
        raise RuntimeError(f"{len(failed)} of {count + len(failed)} requests failed") \
            from failed[0]
    found = {"caller_us": (time.process_time() - client_before) / count * 1e6,
             "answering_us": (process_cpu(answering) - answering_before) / count * 1e6,
             "broker_us": (process_cpu(broker) - broker_before) / count * 1e6 if broker else 0.0}
    found["total_us"] = sum(found.values())
    return {**{k: round(v, 1) for k, v in found.items()}, "requests": count,
            "failed": len(failed), "first_failure": repr(failed[0]) if failed else "",
            "p50_ms": round(statistics.median(every) * 1e3, 2),
            "p99_ms": round(every[int(count * 0.99)] * 1e3, 2),
            "max_ms": round(every[-1] * 1e3, 2)}


def http_pool(seconds: float, threads: int, *serving: str) -> dict[str, float]:
    """The nodes' pool to uvicorn, or to Granian when `serving` is ("granian", interface)."""
    port = free_port()
    script = GRANIAN if serving else UVICORN
    with served(script, str(port), *serving[1:]) as server:
        wait_listening(port)
        pool = HttpPool(5.0, threads)
        url = f"http://127.0.0.1:{port}/fed/v1/call"
        try:
            return measure(lambda: pool.request("POST", url, BODY, HEADERS)[1], seconds,
                           threads, server.pid, None)
        finally:
            pool.close()


def httpx_link(seconds: float, threads: int, http2: bool) -> dict[str, float]:
    port = free_port()
    with served(HYPERCORN if http2 else UVICORN, str(port)) as server:
        wait_listening(port)
        limits = httpx.Limits(max_connections=1 if http2 else threads)
        with httpx.Client(http1=not http2, http2=http2, timeout=5.0, limits=limits) as client:
            url = f"http://127.0.0.1:{port}/fed/v1/call"

            def call() -> bytes:
                answer = client.post(url, content=BODY, headers=HEADERS)
                answer.raise_for_status()
                assert answer.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
                return answer.content
            return measure(call, seconds, threads, server.pid, None)


class NatsCaller:
    """A nats-py client on an event loop of its own thread, called from worker threads."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = self.run(nats.connect(url))

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the client's loop and wait for its result in this thread."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()

    def request(self) -> bytes:
        reply = self.run(self.client.request(SUBJECT, BODY, timeout=5.0, headers=HEADERS))
        return bytes(reply.data)

    def close(self) -> None:
        self.run(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def nats_server_pid() -> int:
    found = subprocess.run(["pgrep", "-x", "nats-server"], capture_output=True, text=True)
    if not found.stdout.strip():
        sys.exit("no nats-server runs on this machine (Debian's package nats-server)")
    return int(found.stdout.split()[0])


def nats_link(seconds: float, threads: int, url: str) -> dict[str, float]:
    with served(NATS_RESPONDER, url, SUBJECT) as responder:
        assert responder.stdout is not None
        if responder.stdout.readline().strip() != b"ready":
            sys.exit(f"the NATS responder could not subscribe at {url}")
        caller = NatsCaller(url)
        try:
            return measure(caller.request, seconds, threads, responder.pid, nats_server_pid())
        finally:
            caller.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    links = {
        "http1_node_pool": http_pool(args.seconds, args.threads),
        "http1_node_pool_granian_asgi": http_pool(args.seconds, args.threads, "granian",
                                                  "asgi"),
        "http1_node_pool_granian_rsgi": http_pool(args.seconds, args.threads, "granian",
                                                  "rsgi"),
        "http1_httpx": httpx_link(args.seconds, args.threads, http2=False),
        "http2_httpx": httpx_link(args.seconds, args.threads, http2=True),
        "nats_request_reply": nats_link(args.seconds, args.threads, args.nats),
    }
    base = links["http1_node_pool"]["total_us"]
    for figures in links.values():
        figures["cpu_ratio_to_node_pool"] = round(figures["total_us"] / base, 2)
    print(json.dumps({"benchmark": "node_to_node_transport", "machine": machine(),
                      "threads": args.threads, "seconds": args.seconds, "links": links},
                     indent=1))


if __name__ == "__main__":
    main()
