"""Benchmark: clear a synthetic national month (10 million settlements, 32 provinces).

    .venv/bin/python bench/bench_clearing.py --pg-url postgresql://postgres@127.0.0.1:5432/test

Creates a scratch database, fills the hub's settlement_index with INSERT … SELECT FROM
generate_series (one October 2026, Asia/Shanghai; 1 row in 50 is a cancel), then times, in the
same run, a baseline (`SELECT count(*)` over the month's rows) and `run_clearing`. Prints JSON
and drops the database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime

import psycopg

from medsettle.adapters.db.store import Store
from medsettle.core.clearing import YearMonth
from medsettle.core.codes import PROVINCES
from medsettle.services.clearing import run_clearing

sys.path.insert(0, os.path.dirname(__file__))
from scratch import machine, scratch_database

FILL = """
INSERT INTO settlement_index
SELECT 'S' || g, CASE WHEN g %% 50 = 0 THEN 'cancel' ELSE 'settle' END, NULL,
       'M' || g, 'P' || (g %% 1000003), p.codes[1 + g %% {n}], p.codes[1 + (g / {n} + g / 4099) %% {n}],
       'H' || (g %% 9973), 'inpatient',
       %(start)s::timestamptz + ((g * 2654435761) %% %(seconds)s) * interval '1 second',
       s * (100 + g %% 90000 + 5000), s * (100 + g %% 60000), s * (g %% 3000), s * (g %% 7000),
       'X' || g
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g,
     LATERAL (SELECT CASE WHEN g %% 50 = 0 THEN -1 ELSE 1 END AS s) AS sign,
     (SELECT %(codes)s::text[] AS codes) AS p
"""


def main() -> None:
    """Fill, baseline, clear, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default=os.environ.get(
        "MEDSETTLE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--provinces", type=int, default=32)
    args = parser.parse_args()
    month = YearMonth(2026, 10)
    start, end = month.bounds()
    with scratch_database(args.pg_url, "hub") as (url, engine):
        codes = list(PROVINCES)[: args.provinces]
        began = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = off")
            step = 1_000_000
            for first in range(1, args.rows + 1, step):
                last = min(first + step - 1, args.rows)
                conn.execute(FILL.replace("{n}", str(len(codes))),  # type: ignore[arg-type]
                             {"start": start, "seconds": int((end - start).total_seconds()),
                              "first": first, "last": last, "codes": codes})
            conn.execute("VACUUM (ANALYZE) settlement_index")
            fill_s = time.perf_counter() - began
            version = conn.execute("SHOW server_version").fetchone()
            t0 = time.perf_counter()
            counted = conn.execute("SELECT count(*) FROM settlement_index WHERE setl_time >= %s "
                                   "AND setl_time < %s", (start, end)).fetchone()
            baseline_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run_clearing(Store(engine), month, datetime(2026, 11, 20, tzinfo=UTC))
        clearing_s = time.perf_counter() - t0
        print(json.dumps({
            "benchmark": "clearing", "rows": args.rows, "provinces": len(codes),
            "month_rows": counted[0] if counted else None, "fill_s": round(fill_s, 1),
            "baseline_count_s": round(baseline_s, 2), "clearing_s": round(clearing_s, 2),
            "rows_per_s": round(args.rows / clearing_s), "ratio_to_baseline":
            round(clearing_s / baseline_s, 2), "pairs": result["pairs"],
            "net_sum": result["net_sum"], "settlements": result["settlements"],
            "goal_s": 60, "machine": machine(),
            "postgresql": version[0] if version else None}, indent=2))


if __name__ == "__main__":
    main()
