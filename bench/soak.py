"""Soak: a federation settling visits without pause for `--minutes` (30 by default), recording
each node's memory (resident set) and the settlement latency over time. Not part of `make test`.

Provinces run in their own network namespaces when the kernel allows it (adapters/netns.py),
else on loopback. Every `--interval` seconds it prints a row: visits settled, p50 and p99 of
the 1101 → 2207 visit in ms, and each node's RSS in MiB; at the end the first and last rows
side by side (the ratio is the drift: 1.0 = flat) and the whole series as JSON.

    .venv/bin/python bench/soak.py [--minutes 30] [--interval 30] [--workers 4] [--sqlite]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from itertools import count
from pathlib import Path
from typing import Any

from scratch import machine

from medsettle.adapters.cli_demo import rows_of, today_in_china
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.his.client import HisError
from medsettle.adapters.launcher import Federation
from medsettle.adapters.netns import NamespacedFederation, netns_unavailable
from medsettle.adapters.player import Player
from medsettle.sim.population import generate_province
from medsettle.sim.traffic import plan_day

TREATING, INSURED = "440000", ("510000", "310000")


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (the node's process group), MiB."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != pid:
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except (OSError, ProcessLookupError, ValueError):
            continue
    return round(total / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sqlite", action="store_true", help="SQLite files, not PostgreSQL")
    args = parser.parse_args()
    # a province in a namespace cannot reach the host's PostgreSQL on loopback: SQLite there
    pg = None if args.sqlite or netns_unavailable() is None else \
        os.environ.get("MEDSETTLE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    book, day = load_policy_book(), today_in_china()
    seeds = {p: generate_province(p, persons=2000, institutions=8, on=day, seed=5, book=book)
             for p in (TREATING, *INSURED)}
    plan = [v for v in plan_day(seeds, day=day, visits=60_000, seed=5)
            if v.treating_province == TREATING and v.expect == "settle"]
    why = netns_unavailable()
    kind = NamespacedFederation if why is None else Federation
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        fed = kind(Path(tmp), {p: rows_of(s) for p, s in seeds.items()}, pg_url=pg)
        fed.start()
        player, stop, lock = Player(fed.urls), threading.Event(), threading.Lock()
        latencies: list[float] = []
        failures = [0]
        queue = count()

        def work() -> None:
            while not stop.is_set():
                visit = plan[next(queue) % len(plan)]
                started = time.perf_counter()
                try:
                    before = sum(player.tally.settled.values())
                    player.play_one(visit)
                    ok = sum(player.tally.settled.values()) > before
                except HisError:
                    ok = False
                with lock:
                    if ok:
                        latencies.append((time.perf_counter() - started) * 1000)
                    else:
                        failures[0] += 1

        threads = [threading.Thread(target=work, daemon=True) for _ in range(args.workers)]
        for thread in threads:
            thread.start()
        try:
            end = time.monotonic() + args.minutes * 60
            while time.monotonic() < end:
                time.sleep(min(args.interval, max(0.0, end - time.monotonic())))
                with lock:
                    window, latencies[:] = sorted(latencies), []
                    failed, failures[0] = failures[0], 0
                row = {"t_s": round(args.minutes * 60 - (end - time.monotonic())),
                       "settled": len(window), "failed": failed,
                       "p50_ms": round(statistics.median(window), 1) if window else None,
                       "p99_ms": round(window[int(len(window) * 0.99) - 1], 1)
                       if len(window) >= 100 else None,
                       **{f"rss_{n}_mib": rss_mib(p.pid) for n, p in fed.procs.items()}}
                rows.append(row)
                print(json.dumps(row), flush=True)
        except KeyboardInterrupt:  # Ctrl-C: stop early and still report the rows so far
            print(f"interrupted after {len(rows)} rows", file=sys.stderr)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
            fed.close()
    if not rows:
        sys.exit("no row: the run ended before its first interval")
    first, last = rows[0], rows[-1]
    drift = {k: round(last[k] / first[k], 2) for k in first
             if k != "t_s" and isinstance(first[k], (int, float)) and first[k]
             and isinstance(last[k], (int, float))}
    print(json.dumps({"machine": machine(), "namespaces": why or "yes",
                      "database": "postgresql" if pg else "sqlite", "minutes": args.minutes,
                      "workers": args.workers, "first": first, "last": last,
                      "last_over_first": drift}, ensure_ascii=False))
    sys.exit(0)


if __name__ == "__main__":
    main()
