"""Benchmark: the floor under a visit's CPU, from what the issue's design fixes.

    .venv/bin/python bench/bench_floor.py [--seconds 10] [--threads 8]

A cross-province visit is four HIS messages at the treating node, three forwards through the
hub and three calls at the insured node, each over HTTP, and its work is kept in PostgreSQL
transactions. This measures what those pieces cost with no work in them at all, in one run:

- **an empty POST through a node's serving stack**: uvicorn with uvloop and httptools, the
  fast lane's hand-off to a worker thread and back, a route that answers a small JSON document
  at once (`adapters/api/fast_lane.py`, served by `cli_nodes.run_server` as the nodes are);
  CPU of the server process and of the client (the nodes' own pool, `adapters/http_pool.py`)
  per request, `--threads` clients at once;
- **a one-statement transaction** (BEGIN, a primary-key SELECT, COMMIT) from psycopg, as the
  driver lane runs the store's statements: CPU of the client and of its PostgreSQL backend per
  transaction, and per bare statement in autocommit;
- **pgbench TPC-B** on the same server (the baseline every figure of docs/benchmarks.md is set
  against).

From these it prints the floor of a visit with today's count of exchanges and statements, and
the CPU a visit may spend to reach a given ratio to pgbench on this machine. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import psycopg

sys.path.insert(0, os.path.dirname(__file__))
from bench_federation import PG, pgbench_tps
from scratch import machine, wait_listening

from medsettle.adapters.http_pool import HttpPool
from medsettle.adapters.launcher import free_port

#: A node whose only fast route answers at once: the serving stack, nothing else.
SERVER = '''
import sys
from medsettle.adapters.api.fast_lane import FastLane
from medsettle.adapters.cli_nodes import run_server

ANSWER = {"ok": True, "result": {"setl_id": "S44000020261130000001", "psn_cash_pay": 12345}}

async def nothing_else(scope, receive, send):
    raise RuntimeError("only the fast route is served here")

run_server(FastLane(nothing_else, {"/fed/v1/call": lambda path, headers, body: (200, ANSWER)}),
           "127.0.0.1", int(sys.argv[1]))
'''
BODY = b'{"to": "510000", "op": "settle", "msgid": "m", "payload": {"x": 1}}' * 6
HEADERS = {"Content-Type": "application/json", "X-MS-Node": "440000", "X-MS-Time": "1",
           "X-MS-Nonce": "ab" * 16, "X-MS-Signature": "cd" * 32}
#: Today's counts per visit (the census of docs/benchmarks.md): server-side HTTP exchanges
#: (4 HIS messages + 3 at the hub + 3 at the insured node), node-to-node client requests (3 from
#: the treating node, 3 from the hub), transactions and statements (BEGIN and COMMIT included).
EXCHANGES, NODE_REQUESTS, TRANSACTIONS, STATEMENTS = 10, 6, 8, 75


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def empty_posts(seconds: float, threads: int) -> dict[str, float]:
    """Server and client CPU µs per empty POST, `threads` clients at once."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        wait_listening(port, 30)
        url = f"http://127.0.0.1:{port}/fed/v1/call"
        pool = HttpPool(5.0, threads)
        for _ in range(500):  # warm up
            pool.request("POST", url, BODY, HEADERS)
        done = [0] * threads
        stop = time.monotonic() + seconds

        def client(index: int) -> None:
            while time.monotonic() < stop:
                pool.request("POST", url, BODY, HEADERS)
                done[index] += 1
        server_before, client_before = process_cpu(server.pid), time.process_time()
        workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        count = sum(done)
        result = {"server_us": (process_cpu(server.pid) - server_before) / count * 1e6,
                  "client_us": (time.process_time() - client_before) / count * 1e6,
                  "requests": count}
        pool.close()
        return result
    finally:
        server.terminate()
        server.wait(10)


def bare_transactions(count: int) -> dict[str, float]:
    """Client and backend CPU µs per one-statement transaction, and per bare statement."""
    with psycopg.connect(PG, autocommit=True) as conn:  # BEGIN and COMMIT sent when asked
        conn.execute("CREATE TEMP TABLE floor_rows (k int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO floor_rows SELECT g, 'row ' || g FROM generate_series(1, 1000) g")
        backend = conn.info.backend_pid
        select = "SELECT k, v FROM floor_rows WHERE k = %s"

        def measure(run: object, label: str) -> dict[str, float]:
            assert callable(run)
            for i in range(300):
                run(i)
            server, client = process_cpu(backend), time.process_time()
            for i in range(count):
                run(i)
            return {f"{label}_client_us": (time.process_time() - client) / count * 1e6,
                    f"{label}_backend_us": (process_cpu(backend) - server) / count * 1e6}

        def transaction(i: int) -> None:
            with conn.transaction():
                conn.execute(select, (i % 1000 + 1,)).fetchone()
        found = measure(transaction, "transaction")

        def statement(i: int) -> None:
            conn.execute(select, (i % 1000 + 1,)).fetchone()
        return found | measure(statement, "statement")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--count", type=int, default=5000, help="transactions measured")
    args = parser.parse_args()
    http = empty_posts(args.seconds, args.threads)
    sql = bare_transactions(args.count)
    tps = pgbench_tps(int(args.seconds))
    statement = sql["statement_client_us"] + sql["statement_backend_us"]
    transaction = sql["transaction_client_us"] + sql["transaction_backend_us"]
    exchanges = EXCHANGES * http["server_us"] + NODE_REQUESTS * http["client_us"]
    # A transaction of n statements: its BEGIN/COMMIT overhead plus n - 2 bare statements.
    database = TRANSACTIONS * (transaction - statement) + (STATEMENTS - 2 * TRANSACTIONS) * statement
    budget = {str(ratio): round(os.cpu_count() * 1e3 / (ratio * tps), 2)  # type: ignore[operator]
              for ratio in (0.02, 0.04)}
    print(json.dumps({
        "benchmark": "visit_floor", "machine": machine(), "threads": args.threads,
        "empty_post_cpu_us": {k: round(v, 1) for k, v in http.items()},
        "postgres_cpu_us": {k: round(v, 1) for k, v in sql.items()},
        "pgbench_tpcb_tps": round(tps),
        "per_visit": {"exchanges": EXCHANGES, "node_requests": NODE_REQUESTS,
                      "transactions": TRANSACTIONS, "statements": STATEMENTS},
        "floor_ms_per_visit": {"http": round(exchanges / 1e3, 2),
                               "database": round(database / 1e3, 2),
                               "total": round((exchanges + database) / 1e3, 2)},
        "budget_ms_per_visit_for_ratio": budget,
    }, indent=1))


if __name__ == "__main__":
    main()
