"""The real-time rules at the insured place (参保地), on pre-settle and settle: one call from
insured_settle.compute, which gets the warnings back (and the answer's warn_msg at the HIS).

- R05 hard stop: the person already has a settlement today in another province. The insured
  node holds every settlement of its insured person, local or cross-province, and checks them
  under the person's row lock, so two settles at the same moment in two provinces cannot both
  pass (the hub's index is written in batches, off the request path, and is never locked).
- R03, R04, R05 quantities, R06 supply, R11 per visit/day, R12 on the claim's lines: warnings.
  A settlement's hits are kept with their evidence (supervision_hits) in its transaction.

Thresholds: the treating place's, from the documents the node set at start (`use_thresholds`).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from medsettle.core.calendar import age_on, business_date
from medsettle.core.errors import SettledElsewhereToday
from medsettle.core.lines import FeeLine
from medsettle.core.records import InsuredVisit, Role
from medsettle.core.supervision.facts import Claim, Line, kind_of_code
from medsettle.core.supervision.hits import Hit
from medsettle.core.supervision.identity import DaySettlement, same_day_conflict
from medsettle.core.supervision.runner import realtime
from medsettle.core.supervision.thresholds import ThresholdBook, Thresholds, defaults
from medsettle.services.ports import UnitOfWork

logger = logging.getLogger(__name__)
_book: list[ThresholdBook] = []


def use_thresholds(book: ThresholdBook) -> None:
    """Set the thresholds the node's real-time rules use (adapters call this once at start)."""
    _book[:] = [book]


def thresholds(region: str, on: date) -> Thresholds:
    """The thresholds in force for a region (built-in defaults when none were set)."""
    if not _book:
        return defaults(region)
    try:
        return _book[0].find(region, on)
    except Exception:
        return defaults(region)


def screen(tx: UnitOfWork, visit: InsuredVisit, person: Any, req: Any, now: datetime, *,
           persist: bool, settlement_id: str | None) -> tuple[str, ...]:
    """Run the real-time rules on a claim about to be pre-settled or settled; raise
    SettledElsewhereToday for R05's hard stop; keep a settlement's hits; return the warnings."""
    on = business_date(now)
    t = thresholds(visit.treating_region, on)
    earlier = [DaySettlement(r.settlement_id, r.treating_region, r.institution)
               for r in tx.settled_elsewhere(visit.person_id, Role.INSURED, on,
                                             visit.treating_region)]
    stop = same_day_conflict(visit.person_id, on, visit.treating_region, earlier, t,
                             settlement_id or "")
    if stop is not None and stop.severity == "hard_stop":
        logger.warning("R05 hard stop", extra={"mdtrt_id": visit.visit_id,
                                               "settled": stop.settlements[0]})
        raise SettledElsewhereToday(f"R05: {stop.message} (直接结算已拒绝，请走手工报销)")
    claim = Claim(settlement_id=settlement_id or visit.visit_id, person_id=visit.person_id,
                  insured_region=person.insu_admdvs, treating_region=visit.treating_region,
                  institution=visit.institution, visit_type=visit.visit_type, settled_on=on,
                  begins=visit.begins.date(), ends=on, medfee=0, fund=0,
                  lines=tuple(_line(i, fee) for i, fee in enumerate(req.lines)),
                  level=req.level, gender=str(person.gend),
                  age=age_on(person.brdy, on), disease=req.disease)
    hits = realtime(claim, t)
    if stop is not None:
        hits.insert(0, stop)
    if persist and hits and settlement_id:
        tx.add_many("supervision_hits", [_row(hit, now, settlement_id) for hit in hits])
    return tuple(hit.text() for hit in hits)


def _line(i: int, fee: FeeLine) -> Line:
    over = fee.amt - fee.allowed if fee.cls in ("A", "B") and fee.restricted_ok else 0
    return Line(serial=str(i + 1), code=fee.code, kind=kind_of_code(fee.code), day=None,
                count=fee.count, price=fee.price, amount=fee.amt,
                in_scope=0 if fee.cls in ("C", "none") or not fee.restricted_ok
                else fee.allowed - fee.pre, over_cap=over, cap_price=fee.cap_price,
                cls=fee.cls, restricted_ok=fee.restricted_ok)


def _row(hit: Hit, now: datetime, settlement_id: str) -> dict[str, object]:
    return {"rule": hit.rule, "unit": hit.unit, "key": hit.key[:120], "severity": hit.severity,
            "source": "realtime", "month": None, "institution": hit.institution,
            "person": hit.person, "settlement_id": settlement_id, "amount": hit.amount,
            "found_at": now, "case_id": None, "document": hit.to_dict()}
