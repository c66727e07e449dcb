"""Supervision quality and speed on a simulated month (docs/supervision.md, docs/benchmarks.md).

Generates a month of at least 100,000 cross-province settlements (sim.month), injects every fraud
pattern of R01–R12 at its rate (sim.fraud, ground truth kept), runs the monthly batch (all
rules, from the records as a node reads them) and scores each rule's recall and precision. Also
times the real-time rules per settlement, beside a bare pass over the same records (baseline:
summing every line's amount, in the same run).

    .venv/bin/python bench/bench_supervision.py [--settlements 100000] [--seed 1] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import date

from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.core.catalogue import Restriction
from medsettle.core.clearing import YearMonth
from medsettle.core.supervision.runner import MonthFacts, batch, realtime
from medsettle.core.supervision.thresholds import Thresholds
from medsettle.sim.fraud import inject, score
from medsettle.sim.month_visits import generate_month

RATES = {"R01": 0.01, "R02": 0.01, "R03": 0.01, "R04": 0.01, "R05": 0.01, "R06": 0.01,
         "R07": 0.01, "R08": 0.002, "R09": 0.3, "R10": 0.05, "R11": 0.01, "R12": 0.01}
UNITS = {"R08": "persons", "R09": "institutions", "R10": "institutions"}


def restriction(doc: dict) -> Restriction:
    visit_types = doc.get("visit_types")
    return Restriction(visit_types=frozenset(visit_types) if visit_types else None,
                       min_level=doc.get("min_level"), sex=doc.get("sex"),
                       min_age=doc.get("min_age"), max_age=doc.get("max_age"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settlements", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    month = YearMonth(2026, 10)
    started = time.perf_counter()
    sim = inject(generate_month(month, args.settlements, seed=args.seed), RATES, args.seed)
    generated = time.perf_counter() - started
    book = load_threshold_book()
    on = date(2026, 10, 31)

    def thresholds(region: str) -> Thresholds:
        return book.find(region, on)

    started = time.perf_counter()
    lines_total = sum(line.amount for lines in sim.lines.values() for line in lines)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    claims = sim.claims()
    facts = MonthFacts(str(month), date(2026, 10, 1), on, claims, sim.history, sim.filings,
                       sim.fund_by_month, {c: restriction(r) for c, r in
                                           sim.restrictions.items()})
    hits = batch(facts, thresholds)
    batch_seconds = time.perf_counter() - started
    national = thresholds("000000")
    started = time.perf_counter()
    for claim in claims:
        realtime(claim, thresholds(claim.treating_region), facts.restrictions)
    realtime_seconds = time.perf_counter() - started
    scores = score(sim, hits)
    result = {
        "settlements": len(sim.records), "lines": sum(len(v) for v in sim.lines.values()),
        "history_claims": len(sim.history), "seed": args.seed, "generate_s": round(generated, 1),
        "baseline_bare_pass_s": round(bare, 3), "batch_s": round(batch_seconds, 2),
        "batch_over_baseline": round(batch_seconds / bare, 1) if bare else None,
        "realtime_per_settlement_us": round(realtime_seconds / len(claims) * 1e6, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}", "lines_total_fen": lines_total,
        "census_hits": sum(1 for h in hits if h.unit == "institution_day"),
        "thresholds": national.id,
        "rules": [{"rule": s.rule, "unit": UNITS.get(s.rule, "settlements"),
                   "injected": s.injected, "hits": s.hits, "true_hits": s.true_hits,
                   "recall": round(float(s.recall), 3),
                   "precision": round(float(s.precision), 3),
                   "hits_on_other_patterns": s.other_patterns} for s in scores]}
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    print(f"{result['settlements']:,} settlements, {result['lines']:,} lines; batch "
          f"{result['batch_s']} s (bare pass {result['baseline_bare_pass_s']} s); real time "
          f"{result['realtime_per_settlement_us']} µs per settlement; {result['machine']}")
    print("rule  unit           injected  hits  true  recall  precision  other")
    for r in result["rules"]:
        print(f"{r['rule']}   {r['unit']:<13} {r['injected']:>8} {r['hits']:>5} "
              f"{r['true_hits']:>5}  {r['recall']:.3f}   {r['precision']:.3f}     "
              f"{r['hits_on_other_patterns']}")


if __name__ == "__main__":
    main()
