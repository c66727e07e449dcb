"""Benchmark: how many entries per second one node's chained ledger takes (its ceiling).

    .venv/bin/python bench/bench_ledger.py --seconds 10

Every settlement books one chained entry in each of the two nodes' ledgers (账本), and a
chained entry holds the chain head (the ledger's counter row) from the moment it takes its
sequence number until its transaction commits. So whatever else a province does, it cannot
settle faster than its chain takes entries. This script measures that ceiling on a scratch
PostgreSQL database migrated to the province schema: settlement-shaped entries (five postings)
posted by 1, 8 and 32 threads, each in its own transaction, as a settlement does. In the same
run it measures two baselines: pgbench TPC-B on the same server, and one-row inserts from 32
threads (transactions that take no shared lock), so the figure is read as a ratio. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console

from medsettle.adapters.db.store import Store
from medsettle.core import ledger
from medsettle.services.ledger import post

sys.path.insert(0, os.path.dirname(__file__))
from bench_federation import pgbench_tps
from scratch import machine, scratch_database

console = Console(stderr=True)
AMOUNTS = {"fund_pay_sumamt": 60_000, "acct_pay": 5_000, "hifp_pay": 50_000, "hifmi_pay": 6_000,
           "hifob_pay": 4_000, "maf_pay": 0, "cvlserv_pay": 0, "psn_cash_pay": 20_000,
           "medfee_sumamt": 85_000}


def settlement_entry(number: int) -> ledger.Entry:
    """One insured-place settlement entry, like the ones a settlement books."""
    postings = ledger.settlement_postings("insured", AMOUNTS, insured="510000",
                                          treating="440000", psn_no=f"P{number}",
                                          fixmedins_code="H44000000001")
    setl_id = f"S{uuid.uuid4().hex}"
    return ledger.balanced(f"settle:insured:{setl_id}", "settle", setl_id,
                           datetime.now(UTC), postings)


def rate(threads: int, seconds: float, work: Callable[[int], None]) -> float:
    """Calls of `work` per second from `threads` threads over `seconds`."""
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def loop(slot: int) -> None:
        while time.perf_counter() < stop:
            work(slot * 10_000_000 + done[slot])
            done[slot] += 1

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    began = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(done) / (time.perf_counter() - began)


def main() -> None:
    """Scratch database, baselines, the chain at three concurrencies, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pg-url", default=os.environ.get(
        "MEDSETTLE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    with scratch_database(args.pg_url, "province") as (_, engine):
        store = Store(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE bench_plain (id bigint PRIMARY KEY, body text)")

        def chained(number: int) -> None:
            with store.tx() as tx:
                post(tx, settlement_entry(number))

        def plain(number: int) -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO bench_plain VALUES (%(id)s, 'x')",
                                     {"id": number})

        console.log("pgbench TPC-B on the same server")
        pgbench = pgbench_tps(int(args.seconds))
        console.log("one-row inserts, 32 threads")
        plain_rate = rate(32, args.seconds, plain)
        chain = {}
        for threads in (1, 8, 32):
            console.log(f"chained entries, {threads} threads")
            chain[threads] = rate(threads, args.seconds, chained)
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
        print(json.dumps({
            "benchmark": "ledger_chain", "seconds": args.seconds,
            "pgbench_tpcb_tps": round(pgbench), "plain_insert_tps_32_threads": round(plain_rate),
            "chained_entries_per_s": {str(k): round(v) for k, v in chain.items()},
            "ratio_chain_32_to_pgbench": round(chain[32] / pgbench, 3),
            "ratio_chain_32_to_plain_insert": round(chain[32] / plain_rate, 3),
            "machine": machine(), "postgresql": version}, indent=2))


if __name__ == "__main__":
    main()
