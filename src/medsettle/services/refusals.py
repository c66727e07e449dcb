"""Clearing adjustments of supervision cases (domain.md §8): refused amounts (拒付) deducted in
the next monthly clearing, items under an open 费用协查 carried over (held from the month's
clearing, released when the case is decided, less what was refused), and settlements indexed after
their month was cleared (late: owed in full through the next clearing).

An adjustment is a signed amount on an (insured, treating) pair: negative lowers what the insured
province owes. The next clearing run applies every adjustment not yet applied to its pairs and
marks it with the month, so the nets of all provinces still sum to zero and a re-run of a month
changes nothing. Runs take turns on the hub's index (hold_index_for_clearing), and an adjustment
is marked only while still pending, so two runs never both apply it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from medsettle.core.clearing import Obligation, YearMonth, owed, province_of
from medsettle.core.errors import StateConflict
from medsettle.services.ports import UnitOfWork


def add(tx: UnitOfWork, case_id: str, insured: str, treating: str, kind: str, amount: int,
        now: datetime) -> None:
    """Record an adjustment for the next clearing (nothing for a zero amount)."""
    if amount:
        tx.add("clearing_adjustments", {
            "case_id": case_id, "insured": province_of(insured),
            "treating": province_of(treating), "kind": kind, "amount": amount,
            "created_at": now, "month_applied": None})


def book_late(tx: UnitOfWork, rows: list[dict[str, Any]], now: datetime) -> int:
    """Settlements indexed after their month was cleared (a reconciliation, or a node's index
    catch-up after the hub lost its journal): each becomes a `late` adjustment of its pair, which
    the next clearing applies, so no settlement misses clearing. Returns how many."""
    if not rows:
        return 0
    cleared = {str(month) for month in tx.distinct("clearing_statements", "month")}
    booked = 0
    for row in rows:
        insured, treating = str(row["insu_admdvs"]), str(row["mdtrtarea_admvs"])
        if insured[:2] == treating[:2] or str(YearMonth.of(row["setl_time"])) not in cleared:
            continue
        add(tx, str(row["setl_id"]), insured, treating, "late",
            owed(str(row["kind"]), int(row["fund_pay_sumamt"]), int(row["acct_pay"])), now)
        booked += 1
    return booked


def applied_in(tx: UnitOfWork, month: YearMonth) -> list[dict[str, object]]:
    """The adjustments a month's clearing applied."""
    return [dict(r._mapping) for r in tx.rows("clearing_adjustments", order_by="id",
                                                 month_applied=str(month))]


def pending(tx: UnitOfWork) -> list[dict[str, object]]:
    """Adjustments no clearing has applied yet."""
    return [dict(r._mapping) for r in tx.rows("clearing_adjustments", order_by="id",
                                                 month_applied=None)]


def apply_adjustments(tx: UnitOfWork, month: YearMonth, totals: list[Obligation]
                      ) -> list[Obligation]:
    """The month's obligations with every pending adjustment added to its pair (a pair without
    settlements this month gets a line of its own); the adjustments are marked applied."""
    by_pair = {(o.insured, o.treating): o for o in totals}
    for row in pending(tx):
        pair = (str(row["insured"]), str(row["treating"]))
        current = by_pair.get(pair) or Obligation(*pair)
        by_pair[pair] = replace(current, adjustment=current.adjustment + int(str(row["amount"])))
        _mark_applied(tx, row, month)
    return [by_pair[pair] for pair in sorted(by_pair)]


def _mark_applied(tx: UnitOfWork, row: dict[str, object], month: YearMonth) -> None:
    """Mark one adjustment applied by `month`, only if no other clearing applied it meanwhile:
    else StateConflict, so the run rolls back instead of applying it a second time."""
    changed = tx.change("clearing_adjustments", {"id": row["id"], "month_applied": None},
                        month_applied=str(month))
    if changed != 1:
        raise StateConflict(f"clearing adjustment {row['id']} ({row['kind']} of case "
                            f"{row['case_id']}) was applied by another clearing run while "
                            f"{month} was being cleared; run {month} again",
                            field="month_applied")


def of_case(tx: UnitOfWork, case_id: str) -> list[dict[str, object]]:
    """A case's adjustments, applied or not."""
    return [dict(r._mapping) for r in tx.rows("clearing_adjustments", order_by="id",
                                                 case_id=case_id)]
