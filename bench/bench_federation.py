"""Complete cross-province visits through the HIS gateways, hub and nodes on PostgreSQL.

Each visit is 1101 → 2201 → 2204 → 2207 from a Guangdong hospital for a patient insured in
another province (through the hub to the insured node). Reports visits/s at full load with
`--workers` concurrent HIS clients, then p50/p99 latency at half that load, beside pgbench
TPC-B tps on the same PostgreSQL server in the same run (the baseline).

    .venv/bin/python bench/bench_federation.py [--seconds 20] [--workers 16] [--lines 5] [--sqlite]
                                               [--spread]

Patients are taken in the order of one list of the insured provinces' persons, Sichuan's first,
so a run of less than a few minutes treats Sichuan's insured only (as every figure recorded so
far did); `--spread` takes them from the three provinces in turn, as real traffic would come.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import psycopg
from rich.console import Console
from rich.progress import Progress

from medsettle.adapters.files import load_policy_book
from medsettle.adapters.heap import settle_heap
from medsettle.adapters.his.client import Patient, PooledHisClient, VisitFlow
from medsettle.adapters.http_pool import HttpPool
from medsettle.adapters.launcher import Federation
from medsettle.sim.population import generate_province

SHIPPED = load_policy_book()  # the shipped policy parameters

PG = os.environ.get("MEDSETTLE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TREATING, INSURED = "440000", ("510000", "310000", "110000")
console = Console(stderr=True)


def pgbench_tps(seconds: int) -> float:
    """TPC-B tps of the same server (pgbench -i -s 10; -c 8 -j 2)."""
    db = "medsettle_pgbench"
    base = PG.rsplit("/", 1)[0]
    subprocess.run(["psql", PG, "-qc", f"DROP DATABASE IF EXISTS {db}"], check=True)
    subprocess.run(["psql", PG, "-qc", f"CREATE DATABASE {db}"], check=True)
    try:
        subprocess.run(["pgbench", "-q", "-i", "-s", "10", f"{base}/{db}"], check=True,
                       capture_output=True)
        out = subprocess.run(["pgbench", "-c", "8", "-j", "2", "-T", str(seconds),
                              f"{base}/{db}"], check=True, capture_output=True, text=True)
        return float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))  # type: ignore[union-attr]
    finally:
        subprocess.run(["psql", PG, "-qc", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)"])


def seeds(on: date) -> dict[str, dict[str, list[dict[str, object]]]]:
    rows = {}
    for province in (TREATING, *INSURED):
        seed = generate_province(province, persons=3000, institutions=20, on=on, seed=7,
                              book=SHIPPED)
        rows[province] = {"persons": seed.persons, "accumulators": seed.accumulators,
                          "filings": [], "institutions": seed.institutions,
                          "catalogue": [{k: v for k, v in r.items() if k != "id"}
                                        for r in seed.catalogue]}
    return rows


class Driver:
    """HIS clients that run whole visits and time every transaction."""

    def __init__(self, fed: Federation, rows: dict, lines: list[tuple[str, str, str]],
                 spread: bool = False) -> None:
        self.http = HttpPool(30.0, 128)
        inst = next(i for i in rows[TREATING]["institutions"] if i["level"] == "L3"
                    and not i["suspended"] and i["networked"])
        self.his = PooledHisClient(fed.urls[TREATING], inst["fixmedins_code"], inst["name"],
                                   self.http)
        self.his.sign_in()
        by_region = [[p for p in rows[region]["persons"] if p["insurance_active"]]
                     for region in INSURED]
        self.people = ([p for turn in zip(*by_region, strict=False) for p in turn] if spread
                       else [p for region in by_region for p in region])
        self.lines = lines
        self.total = f"{sum(float(p) * float(c) for _, p, c in lines):.2f}"
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()
        self.next = 0

    def visit(self) -> None:
        with self.lock:
            person = self.people[self.next % len(self.people)]
            self.next += 1
        started = time.perf_counter()
        marks = {}
        out = self.his.person("01", person["evoucher"])
        marks["1101"] = time.perf_counter()
        flow = VisitFlow(self.his, Patient.from_1101(out, "01", person["evoucher"]))
        flow.register(med_type="13")  # emergency: treated as filed anywhere
        marks["2201"] = time.perf_counter()
        flow.fees(self.lines)
        marks["2204"] = time.perf_counter()
        flow.settle(self.total)
        marks["2207"] = time.perf_counter()
        previous = started
        with self.lock:
            for infno, at in marks.items():
                self.latency[infno].append(at - previous)
                previous = at
            self.latency["visit"].append(previous - started)


def run(driver: Driver, workers: int, seconds: float, rate: float | None, label: str,
        bar: Progress) -> tuple[int, float]:
    """Visits done and wall time; `rate` (visits/s) paces the load, None = as fast as possible."""
    task = bar.add_task(label, total=seconds)
    stop = time.perf_counter() + seconds
    done = [0]
    lock = threading.Lock()

    def worker(index: int) -> None:
        next_at = time.perf_counter() + (index / rate if rate else 0)
        while time.perf_counter() < stop:
            if rate:
                time.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += workers / rate
            driver.visit()
            with lock:
                done[0] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(worker, i) for i in range(workers)]
        while any(not f.done() for f in futures):
            bar.update(task, completed=min(seconds, time.perf_counter() - started))
            time.sleep(0.2)
        for f in futures:
            f.result()
    return done[0], time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_backends(databases: list[str]) -> list[int]:
    """The PostgreSQL backends serving the federation's own databases (not other work the
    server does at the same time)."""
    if not databases:
        return []
    with psycopg.connect(PG, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)",
                            (databases,)).fetchall()
    return [int(row[0]) for row in rows]


class CpuMeter:
    """CPU seconds spent by the federation's processes, the load generator and the PostgreSQL
    backends of the federation's databases (those started during the run counted from zero;
    the server's background writers are not counted)."""

    def __init__(self, fed: Federation) -> None:
        self.groups = {"hub": lambda: [fed.procs["hub"].pid],
                       "treating node": lambda: [fed.procs[TREATING].pid],
                       "insured nodes": lambda: [p.pid for r, p in fed.procs.items()
                                                 if r not in ("hub", TREATING)],
                       "postgres": lambda: postgres_backends(fed.created_pg)}
        self.start = self.read()

    def read(self) -> dict[str, dict[int, float]]:
        seen: dict[str, dict[int, float]] = {}
        for name, pids in self.groups.items():
            seen[name] = {}
            for pid in pids():
                try:
                    seen[name][pid] = cpu_seconds(pid)
                except OSError:
                    continue
        seen["load generator"] = {0: time.process_time()}
        return seen

    def per_visit_ms(self, visits: int) -> dict[str, float]:
        end = self.read()
        spent = {name: sum(cpu - self.start[name].get(pid, 0.0) for pid, cpu in pids.items())
                 * 1000 / max(visits, 1) for name, pids in end.items()}
        spent["total"] = sum(spent.values())
        return {k: round(v, 2) for k, v in spent.items()}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    parser.add_argument("--lines", type=int, default=5, help="fee lines per visit (2204)")
    parser.add_argument("--spread", action="store_true",
                        help="patients of the three insured provinces in turn, not Sichuan's first")
    args = parser.parse_args()
    on = date.today()
    rows = seeds(on)
    catalogue = rows[TREATING]["catalogue"]
    lines = [(r["code"], "25.00", "2") for r in catalogue[:args.lines]]
    with tempfile.TemporaryDirectory() as tmp:
        fed = Federation(Path(tmp), rows, pg_url=None if args.sqlite else PG, call_timeout=2.5,
                         his_timeout=3.0)
        try:
            fed.start()
            driver = Driver(fed, rows, lines, args.spread)
            with Progress(console=console) as bar:
                for _ in range(20):
                    driver.visit()  # warm up
                driver.latency.clear()
                # the load generator stands for many hospitals' HIS: its own collector's
                # pauses are not the federation's latency (adapters/heap.py)
                settle_heap()
                meter = CpuMeter(fed)
                count, wall = run(driver, args.workers, args.seconds, None, "full load", bar)
                cpu = meter.per_visit_ms(count)
                full_rate = count / wall
                full = {k: list(v) for k, v in driver.latency.items()}
                driver.latency.clear()
                half_count, half_wall = run(driver, args.workers, args.seconds, full_rate / 2,
                                            "half load", bar)
                half = {k: list(v) for k, v in driver.latency.items()}
        finally:
            fed.close()
    tps = None if args.sqlite else pgbench_tps(int(args.seconds))
    result = {
        "benchmark": "cross_province_visits", "backend": "sqlite" if args.sqlite else "postgresql",
        "workers": args.workers, "lines_per_visit": len(lines), "spread": args.spread,
        "visits_per_s": round(full_rate, 1),
        "settlements_per_s": round(full_rate, 1),
        "full_load_p50_ms": {k: round(pct(v, 0.5), 1) for k, v in full.items()},
        "full_load_p99_ms": {k: round(pct(v, 0.99), 1) for k, v in full.items()},
        "half_load_visits_per_s": round(half_count / half_wall, 1),
        "half_load_p50_ms": {k: round(pct(v, 0.5), 1) for k, v in half.items()},
        "half_load_p99_ms": {k: round(pct(v, 0.99), 1) for k, v in half.items()},
        "half_load_mean_settle_ms": round(statistics.mean(half["2207"]) * 1000, 1),
        "cpu_ms_per_visit": cpu,
        "pgbench_tpcb_tps": tps,
        "ratio_settlements_to_pgbench_tps": round(full_rate / tps, 4) if tps else None,
        "python": platform.python_version(), "cores": os.cpu_count(),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
