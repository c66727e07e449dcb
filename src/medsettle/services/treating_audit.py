"""Pre-event and in-event audit (事前事中审核, 3101/3103) at the treating place.

The same real-time supervision rules that screen a settlement at the insured place (R03, R04,
R05 quantities, R06, R11, R12; services/supervision_realtime) look at one of the institution's
open visits: its uploaded, unsettled fee lines and, for 3101, the orders (处方/医嘱) the doctor is
about to bill, classified by the treating area's catalogue as a fee upload would. Rules that need
a month's history (R01, R02, R08–R10) have no real-time form: they find nothing here and run in
the monthly batch. Nothing is stored: an audit only answers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from medsettle.core.calendar import age_on, business_date
from medsettle.core.catalogue import LineContext
from medsettle.core.errors import NotFound, StateConflict
from medsettle.core.lines import price_line
from medsettle.core.records import TreatedVisit, VisitStatus
from medsettle.core.supervision.facts import Claim, Line, kind_of_code, line_of
from medsettle.core.supervision.hits import REALTIME_RULES, Hit
from medsettle.core.supervision.runner import realtime
from medsettle.services import commands as c
from medsettle.services.supervision_realtime import thresholds
from medsettle.services.treating import Treating, own_visit


@dataclass(frozen=True)
class Order:
    """An order not billed yet: its id, national code, quantity and price."""

    order_id: str
    code: str
    name: str
    count: Decimal
    price: Decimal


@dataclass(frozen=True)
class AuditVisit:
    """One patient's current visit to audit, with the orders of the message."""

    visit: c.VisitRef
    orders: tuple[Order, ...] = ()


@dataclass(frozen=True)
class Finding:
    """A rule hit on an audited visit."""

    person_id: str
    visit_id: str
    hit: Hit


def audit(t: Treating, visits: Iterable[AuditVisit], rules: frozenset[str] | None,
          now: datetime) -> list[Finding]:
    """The real-time rules' hits on each visit (only `rules`, when named); [] when clean."""
    on = business_date(now)
    findings: list[Finding] = []
    for wanted in visits:
        with t.db.tx() as tx:
            try:
                visit = own_visit(tx, wanted.visit)
            except NotFound as exc:
                raise NotFound(exc.message, field="visit_id") from None
            if visit.status not in (VisitStatus.OPEN, VisitStatus.DISCHARGED):
                raise StateConflict(f"visit {visit.visit_id} is {visit.status}: only an open "
                                    "visit is audited")
            inst = tx.one("institutions", fixmedins_code=visit.institution)
            stored = [line for line in tx.fee_lines(visit_id=visit.visit_id)
                      if line.active and line.settlement_id is None]
        kinds = {line.code: _kind(t, line.code, line.occurred_at.date()) for line in stored}
        lines = [line_of(line, kinds) for line in stored]
        lines += [_order_line(t, visit, inst.level, order, on) for order in wanted.orders]
        claim = _claim(visit, inst.admdvs, inst.level, lines, on)
        for hit in realtime(claim, thresholds(inst.admdvs, on)):
            if rules is None or hit.rule in rules:
                findings.append(Finding(visit.person_id, visit.visit_id, hit))
    return findings


def audited_rules(rules: frozenset[str] | None) -> tuple[str, ...]:
    """The asked rules that have a real-time form (the others find nothing here)."""
    return tuple(r for r in REALTIME_RULES if rules is None or r in rules)


def _kind(t: Treating, code: str, on: date) -> str:
    entry = t.catalogue.entry(code, on)
    return entry.med_chrgitm_type if entry and entry.med_chrgitm_type else kind_of_code(code)


def _order_line(t: Treating, visit: TreatedVisit, level: str, order: Order, on: date) -> Line:
    who = visit.person
    ctx = LineContext(visit.visit_type, level, who.gender if who else "",
                      age_on(who.birth_date, on) if who else 0)
    fee = t.catalogue.classify(order.code, order.price, order.count, on, ctx, order.name)
    priced = price_line(fee)
    return Line(serial=order.order_id, code=order.code, kind=_kind(t, order.code, on), day=on,
                count=order.count, price=order.price, amount=priced.amt,
                in_scope=priced.inscp, over_cap=priced.over, cap_price=fee.cap_price,
                cls=fee.cls, restricted_ok=fee.restricted_ok)


def _claim(visit: TreatedVisit, region: str, level: str, lines: list[Line], on: date
           ) -> Claim:
    who = visit.person
    return Claim(settlement_id=visit.visit_id, person_id=visit.person_id,
                 insured_region=visit.insured_region, treating_region=region,
                 institution=visit.institution, visit_type=visit.visit_type, settled_on=on,
                 begins=visit.begins.date(), ends=on, medfee=sum(li.amount for li in lines),
                 fund=0, lines=tuple(lines), level=level, gender=who.gender if who else "",
                 age=age_on(who.birth_date, on) if who else None, disease=visit.disease)
