"""R05 冒名/虚开: one person settled in two provinces on one day, outpatient settlements while
admitted elsewhere, implausible quantities (domain.md §9).

The same-day rule is a hard stop in real time (`same_day_conflict`, asked with the person's
settlements of the day as the insured place holds them: the insured node asks its database for
those of other provinces only, and any others given are passed over here) and a batch rule over
the hub's index.
Law: 国务院令第735号 Art. 40 (冒名, 虚构): refund + 2–5× fine, 6–12-month suspension.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from medsettle.core.supervision.facts import Claim, by_person
from medsettle.core.supervision.hits import Hit
from medsettle.core.supervision.thresholds import Thresholds


@dataclass(frozen=True, slots=True)
class DaySettlement:
    """A settlement of the person on a business day: where it was treated."""

    settlement_id: str
    treating_region: str
    institution: str


def same_day_conflict(person: str, day: date, treating_region: str,
                      earlier: Sequence[DaySettlement], t: Thresholds,
                      settlement_id: str = "") -> Hit | None:
    """R05 in real time: the person already has a settlement today in another province than
    `treating_region`. A hard stop when the region says so (r05.same_day_hard_stop)."""
    other = [s for s in earlier if s.treating_region[:2] != treating_region[:2]]
    if not other:
        return None
    first = other[0]
    return Hit("R05", "settlement", settlement_id or f"{person}:{day.isoformat()}",
               f"already settled today in province {first.treating_region[:2]}0000 "
               f"({first.settlement_id}); now asked in {treating_region[:2]}0000",
               f"r05.same_day_hard_stop = {str(t.r05.same_day_hard_stop).lower()}",
               t.source_of("r05.same_day_hard_stop"),
               {"day": day.isoformat(), "provinces": f"{first.treating_region[:2]}0000, "
                                                     f"{treating_region[:2]}0000"},
               tuple(s.settlement_id for s in other) + ((settlement_id,) if settlement_id
                                                         else ()),
               person=person, severity="hard_stop" if t.r05.same_day_hard_stop else "warning")


def two_provinces_a_day(claims: Sequence[Claim], t: Thresholds) -> list[Hit]:
    """R05 (batch): for each person and day, every settlement after the first in a province
    other than the first one's. Outpatient settlements on a day the person was admitted in
    another institution count too."""
    hits = []
    for group in by_person(claims).values():
        by_day: dict[date, list[Claim]] = {}
        for claim in group:
            by_day.setdefault(claim.settled_on, []).append(claim)
        for day, today in sorted(by_day.items()):
            today.sort(key=lambda c: (c.settled_on, c.settlement_id))
            first = today[0]
            for later in today[1:]:
                if later.treating_region[:2] != first.treating_region[:2]:
                    hits.append(_pair_hit(first, later, t,
                                          f"settled in two provinces on {day}"))
        stays = [c for c in group if c.visit_type == "inpatient"]
        for claim in group:
            if claim.visit_type == "inpatient":
                continue
            stay = next((s for s in stays if s.institution != claim.institution
                         and s.begins < claim.begins < s.ends), None)
            if stay is not None:
                hits.append(_pair_hit(stay, claim, t, f"outpatient on {claim.begins} while "
                                      f"admitted at {stay.institution} ({stay.begins}–"
                                      f"{stay.ends})"))
    unique = {h.key: h for h in reversed(hits)}
    return sorted(unique.values(), key=lambda h: h.key)


def _pair_hit(first: Claim, later: Claim, t: Thresholds, text: str) -> Hit:
    return Hit("R05", "settlement", later.settlement_id, text,
               f"r05.same_day_hard_stop = {str(t.r05.same_day_hard_stop).lower()}",
               t.source_of("r05.same_day_hard_stop"),
               {"first": f"{first.treating_region} {first.institution}",
                "then": f"{later.treating_region} {later.institution}"},
               (first.settlement_id, later.settlement_id), (), later.institution,
               later.person_id, later.fund)


def implausible_quantities(claim: Claim, t: Thresholds) -> Hit | None:
    """R05: a service line (not a drug or consumable) with more units in a day than
    r05.max_units_per_day (25 hours of nursing, 30 dressings)."""
    limit = t.r05.max_units_per_day
    units: dict[tuple[str, date | None], Decimal] = {}
    for line in claim.lines:
        if line.drug or line.kind == "08" or line.code[:1] == "C":
            continue
        units[(line.code, line.day)] = units.get((line.code, line.day), Decimal(0)) + line.count
    worst = max(units.items(), key=lambda kv: kv[1], default=None)
    if worst is None:
        return None
    (code, day), count = worst
    allowed = limit * (1 if day is not None else claim.days)
    if count <= allowed:
        return None
    lines = [f"{claim.settlement_id}/{ln.serial}" for ln in claim.lines
             if ln.code == code and ln.day == day]
    return Hit("R05", "settlement", claim.settlement_id,
               f"{count} units of {code}" + (f" on {day}" if day else "") + f" (at most "
               f"{allowed})", f"r05.max_units_per_day = {limit}",
               t.source_of("r05.max_units_per_day"), {"units": str(count), "code": code},
               (claim.settlement_id,), tuple(lines), claim.institution, claim.person_id,
               sum(ln.amount for ln in claim.lines if ln.code == code and ln.day == day))
