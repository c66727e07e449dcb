"""Benchmark: the client CPU of one node-to-node request, three ways in the same run.

    .venv/bin/python bench/bench_http_client.py [--count 3000]

Starts uvicorn (uvloop, httptools: as the nodes serve) with an app that answers a signed-size
JSON POST, then measures the process CPU per request of the client side only: the node's pool
(`adapters/http_pool.py`: a socket and httptools' parser), the standard library's http.client
on a keep-alive connection (what the pool was before), and httpx's Client (the baseline: what
a node would use without a pool of its own). Prints JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, os.path.dirname(__file__))
from scratch import cpu_us, machine, wait_listening

from medsettle.adapters.http_pool import HttpPool

APP = '''
ANSWER = b'{"ok": true, "result": {"setl_id": "S4400001", "psn_cash_pay": 12345}}' * 4
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(ANSWER)).encode())]})
    await send({"type": "http.response.body", "body": ANSWER})
'''
BODY = b'{"to": "510000", "op": "settle", "msgid": "m", "payload": {"x": 1}}' * 6
HEADERS = {"Content-Type": "application/json", "X-MS-Node": "440000", "X-MS-Time": "1",
           "X-MS-Nonce": "ab" * 16, "X-MS-Signature": "cd" * 32}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}/fed/v1/call"
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "answering.py").write_text(APP, encoding="utf-8")
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "answering:app", "--port", str(port), "--loop",
             "uvloop", "--http", "httptools", "--log-level", "warning"], cwd=tmp)
        try:
            wait_listening(port)
            pool = HttpPool(5.0, 4)
            stdlib = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

            def with_stdlib() -> bytes:
                stdlib.request("POST", "/fed/v1/call", body=BODY, headers=HEADERS)
                return stdlib.getresponse().read()

            with httpx.Client() as client:
                results = {
                    "the node's pool (socket + httptools)": cpu_us(
                        lambda: pool.request("POST", url, BODY, HEADERS), args.count),
                    "http.client, keep-alive (the pool before)": cpu_us(with_stdlib,
                                                                        args.count),
                    "httpx Client (baseline)": cpu_us(
                        lambda: client.post(url, content=BODY, headers=HEADERS), args.count),
                }
            pool.close()
            stdlib.close()
        finally:
            server.terminate()
            server.wait(10)
    base = results["httpx Client (baseline)"]
    print(json.dumps({"benchmark": "http_client_cpu", "machine": machine(), "count": args.count,
                      "client_cpu_us_per_request": results,
                      "ratio_to_httpx": {k: round(v / base, 2) for k, v in results.items()}},
                     indent=1))


if __name__ == "__main__":
    main()
