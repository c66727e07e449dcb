"""The real-time rules' cost at the insured node, in process: `supervision_realtime.screen` (R05's
query of the person's settlements under the transaction, the claim rules on 10 lines) beside the
settlement engine on the same lines and the same person's accumulators query (the baseline: what
a settlement at the insured node already does), on SQLite, in the same run.

    .venv/bin/python bench/bench_screen.py [--calls 3000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.core.benefits import Amounts, Person, Visit, settle
from medsettle.core.lines import FeeLine
from medsettle.core.records import (
    InsuredVisit,
    Role,
    SettlementKind,
    SettlementRecord,
    SettlementStatus,
    VisitStatus,
)
from medsettle.services.supervision_realtime import screen, use_thresholds

NOW = datetime(2026, 10, 5, 4, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    use_thresholds(load_threshold_book())
    book = load_policy_book()
    policy = book.find("510100", "employee", date(2026, 10, 5))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(make_engine(f"sqlite:///{Path(tmp) / 'p.db'}"))
        migrate(store.engine, "province")
        zero = Amounts(*([0] * 16))
        with store.tx() as tx:
            for k in range(20):  # a person with twenty earlier settlements
                tx.add_settlement(SettlementRecord(
                    f"S{k}", Role.INSURED, SettlementKind.SETTLE, SettlementStatus.SETTLED,
                    f"V{k}", "P1", "510100", "440300", "H44030000001", "11", "outpatient",
                    "310", NOW - timedelta(days=k), "2026", zero, f"M{k}"))
        lines = tuple(FeeLine(cls="A" if k % 2 else "B", price=Decimal("35.50"),
                              count=Decimal("2"), selfpay_prop=Decimal("0.10"),
                              code=f"XC08CAD026A0{k:010d}") for k in range(10))
        visit = InsuredVisit("V99", "P1", "440300", "H44030000001", "outpatient", "11",
                             datetime(2026, 10, 5, 8), VisitStatus.OPEN, "long_term")
        person = SimpleNamespace(insu_admdvs="510100", gend="1", brdy=date(1980, 1, 1))
        req = SimpleNamespace(lines=lines, level="L3", disease=None)

        def timed(work) -> float:  # type: ignore[no-untyped-def]
            with store.tx() as tx:
                started = time.perf_counter()
                for _ in range(args.calls):
                    work(tx)
                return (time.perf_counter() - started) / args.calls * 1e6

        def baseline(tx) -> None:  # type: ignore[no-untyped-def]
            acc = tx.accumulators("P1", "2026")
            settle(policy, Person(scheme="employee", category="active",
                                  benefit_class="long_term", acc=acc),
                   Visit(type="outpatient", level="L3", setl_date=date(2026, 10, 5),
                         lines=lines))

        base = min(timed(baseline) for _ in range(3))
        screened = min(timed(lambda tx: screen(tx, visit, person, req, NOW, persist=False,
                                               settlement_id=None)) for _ in range(3))
    print(json.dumps({"calls": args.calls, "baseline_engine_and_accumulators_us": round(base, 1),
                      "screen_us": round(screened, 1), "screen_over_baseline":
                      round(screened / base, 3)}, indent=1))


if __name__ == "__main__":
    main()
