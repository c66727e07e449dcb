"""Benchmark: a long deterministic simulation of the federation (docs/simulation.md).

    .venv/bin/python bench/bench_simulate.py --visits 25000 --provinces 4 --seed 1

One seeded run of the hub and the provinces in this process over the simulated network, with the
default faults (lost, late and duplicated messages, crashes and restarts, HIS time-outs and
reversals, nightly reconciliation, clearing on the 1st). The invariants are checked every
`--check-every` steps and in full at rest (after every step in the test suite; a long run checks
less often because the per-step checks read whole tables). In the same run, the baseline: as
many one-row inserts into a SQLite file on the same disk as the run sent messages (100,000 at
most), each in its own transaction. Prints JSON: messages, seconds, messages/s, baseline
inserts/s and the ratio.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from sqlalchemy import Column, Integer, MetaData, String, Table, insert

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.simulation.network import Faults
from medsettle.adapters.simulation.run import Settings, Simulation
from medsettle.adapters.simulation.world import WorldSpec, pick_provinces, scratch_root

sys.path.insert(0, os.path.dirname(__file__))
from scratch import machine

console = Console(stderr=True)
#: The baseline's inserts at most: its rate is flat, and a million of them would add half an hour
#: to a million-message run.
BASELINE_MAX = 100_000


def baseline_inserts(count: int) -> float:
    """Seconds for `count` one-row inserts into a SQLite file, one transaction each."""
    folder = Path(tempfile.mkdtemp(prefix="medsettle-bench-", dir=scratch_root()))
    engine = make_engine(f"sqlite:///{folder / 'baseline.db'}")
    rows = Table("messages", MetaData(), Column("id", Integer, primary_key=True),
                 Column("msgid", String(30)), Column("body", String(200)))
    rows.metadata.create_all(engine)
    started = time.perf_counter()
    for n in range(count):
        with engine.begin() as conn:
            conn.execute(insert(rows), [{"msgid": f"M{n:029d}", "body": "x" * 120}])
    seconds = time.perf_counter() - started
    engine.dispose()
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visits", type=int, default=2000)
    parser.add_argument("--provinces", type=int, default=4)
    parser.add_argument("--persons", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=0, help="0: one day per 2,000 visits")
    parser.add_argument("--check-every", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    days = args.days or max(1, args.visits // 2000)
    settings = Settings(seed=args.seed, world=WorldSpec(pick_provinces(args.provinces),
                                                        persons=args.persons, institutions=6),
                        visits=args.visits, days=days, faults=Faults.default(),
                        check_every=args.check_every, tick=300.0)
    book = load_policy_book()
    simulation = Simulation(settings, book)  # builds the world (not timed)
    started, cpu = time.perf_counter(), time.process_time()
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 30:
            last[0] = time.perf_counter()
            console.print(f"{done}/{total} visits, {simulation.net.messages:,} messages, "
                          f"{time.perf_counter() - started:.0f} s")
    result = simulation.run(progress)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    inserts = min(result.messages, BASELINE_MAX)
    rate, base_rate = result.messages / seconds, inserts / baseline_inserts(inserts)
    print(json.dumps({
        "machine": machine(), "load_average": os.getloadavg(), "seed": args.seed,
        "provinces": args.provinces, "visits": args.visits, "days": days,
        "check_every": args.check_every, "outcomes": dict(result.visits),
        "messages": result.messages, "steps": result.steps, "crashes": result.crashes,
        "reconciliations": result.reconciliations, "clearings": result.clearings,
        "digest": result.digest, "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1), "messages_per_s": round(rate, 1),
        "baseline_inserts_per_s": round(base_rate, 1),
        "ratio_to_baseline": round(rate / base_rate, 4)}, indent=1))


if __name__ == "__main__":
    main()
