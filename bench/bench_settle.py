"""Pure settlements per second for a 50-line inpatient bill (issue: goal ≥ 20,000 per core).

Baseline, measured in the same run on the same core: the naive pricing of the same 50 lines
(Decimal multiply and quantize half-up per line, no policy). The ratio engine ÷ baseline is what
docs/benchmarks.md records, as this machine is noisy.

    .venv/bin/python bench/bench_settle.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from rich.console import Console
from rich.progress import Progress

from medsettle.adapters.files import load_policy_book
from medsettle.core.accumulators import Accumulators
from medsettle.core.benefits import Person, Visit, settle
from medsettle.core.lines import FeeLine

ON = date(2025, 6, 15)


def bill(n: int = 50) -> tuple[FeeLine, ...]:
    """A realistic inpatient bill: 甲 and 乙 drugs (some over their cap), services, 丙 lines."""
    lines = []
    for i in range(n):
        kind = i % 5
        price = Decimal(f"{(i * 37) % 900 + 12}.{i % 100:02d}")
        count = Decimal(f"{i % 7 + 1}")
        if kind in (0, 1):
            lines.append(FeeLine("A", price, count))
        elif kind == 2:
            lines.append(FeeLine("B", price, count, Decimal("0.10")))
        elif kind == 3:
            lines.append(FeeLine("B", price, count, Decimal("0.20"), cap_price=price - 5))
        else:
            lines.append(FeeLine("C", price, count))
    return tuple(lines)


def rate(work, seconds: float, progress: Progress, label: str) -> float:  # type: ignore[no-untyped-def]
    """Calls per second of `work` over about `seconds`."""
    task = progress.add_task(label, total=seconds)
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(200):
            work()
        calls += 200
        progress.update(task, completed=elapsed)
    progress.update(task, completed=seconds)
    return calls / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    policy = load_policy_book().find("330100", "employee", ON)
    lines = bill()
    person = Person("employee", "active", "long_term",
                    Accumulators({("visits", "inpatient"): 1, ("pool_paid", "main"): 1_000_000,
                                  ("acct_balance",): 500_000}), use_acct=True)
    visit = Visit("inpatient", "L3", ON, lines)
    cent = Decimal("1")

    def baseline() -> None:
        for line in lines:
            (line.price * 100 * line.count).quantize(cent, ROUND_HALF_UP)

    with Progress(console=Console(stderr=True)) as progress:
        engine = rate(lambda: settle(policy, person, visit), args.seconds, progress,
                      "settle 50-line bill")
        raw = [(ln.cls, ln.price, ln.count, ln.selfpay_prop, ln.cap_price) for ln in lines]
        with_lines = rate(lambda: settle(policy, person, Visit(
            "inpatient", "L3", ON, tuple(FeeLine(*r) for r in raw))), args.seconds, progress,
            "build 50 lines + settle")
        base = rate(baseline, args.seconds, progress, "baseline: Decimal pricing")
    print(json.dumps({"benchmark": "settle_50_lines", "settlements_per_s": round(engine),
                      "with_line_building_per_s": round(with_lines),
                      "baseline_bills_per_s": round(base), "ratio": round(engine / base, 3),
                      "goal_per_s": 20000, "python": platform.python_version(),
                      "machine": platform.machine()}))


if __name__ == "__main__":
    main()
