"""kill -9 drill on PostgreSQL: hospitals in Guangdong settle `--visits` cross-province visits
for persons insured in Sichuan and Shanghai while the hub, the treating node and the insured
nodes are killed with SIGKILL every `--every` seconds (± half) and restarted; then the daily
reconciliation runs and every database is audited (adapters/chaos.py).

Prints the figures as JSON: the problems found (all must be 0: fen that differ between the
treating and insured ledgers, visits settled twice or half reversed, msgids or reversals pending,
unbalanced ledgers, settlements missing at the hub, nodes not up), what the visits ended as, the
kills, and the gap between the hub's index and the insured ledgers over time before
reconciliation. The baseline is the same run without kills (`--every 0` skips it).

    .venv/bin/python bench/bench_crash.py [--visits 10000] [--every 5] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from scratch import machine

from medsettle.adapters.chaos import run_drill
from medsettle.adapters.cli_demo import rows_of, today_in_china
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.launcher import Federation
from medsettle.adapters.player import Player
from medsettle.sim.population import generate_province
from medsettle.sim.traffic import plan_day

TREATING, INSURED = "440000", ("510000", "310000")
PG = os.environ.get("MEDSETTLE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def federation(workdir: Path, persons: int) -> tuple[Federation, dict]:  # type: ignore[type-arg]
    book = load_policy_book()
    day = today_in_china()
    seeds = {p: generate_province(p, persons=persons, institutions=8, on=day, seed=3, book=book)
             for p in (TREATING, *INSURED)}
    fed = Federation(workdir, {p: rows_of(s) for p, s in seeds.items()}, pg_url=PG,
                     call_timeout=1.5, his_timeout=2.0)
    return fed, seeds


def planned(seeds: dict, visits: int) -> list:  # type: ignore[type-arg]
    plan = plan_day(seeds, day=today_in_china(), visits=visits * 12, seed=3)
    return [v for v in plan if v.treating_province == TREATING and v.expect == "settle"][:visits]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=10_000)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=None,
                        help="start no new visit after this long (the machine is shared)")
    parser.add_argument("--baseline", type=int, default=300,
                        help="visits of the no-kill baseline run (0: none)")
    args = parser.parse_args()
    out: dict[str, object] = {"machine": machine(), "command": " ".join(sys.argv)}
    with tempfile.TemporaryDirectory() as tmp:
        fed, seeds = federation(Path(tmp), max(200, args.visits // 10))
        fed.start()
        try:
            plan = planned(seeds, args.visits + args.baseline)
            if args.baseline:
                started = time.monotonic()
                tally = Player(fed.urls).play(plan[args.visits:], args.concurrency)
                out["baseline_settled"] = sum(tally.settled.values())
                out["baseline_visits_per_s"] = round(sum(tally.settled.values()) /
                                                     (time.monotonic() - started), 2)
            result = run_drill(fed, plan[:args.visits], TREATING, INSURED, every=args.every,
                               concurrency=args.concurrency, minutes=args.minutes)
        finally:
            fed.close()
    result["visits_per_s"] = round(result["settled_by_his"] / result["seconds"], 2)
    timeline = result.pop("timeline")
    out |= result
    out["index_gap_timeline_every_10th"] = timeline[::10]
    print(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
