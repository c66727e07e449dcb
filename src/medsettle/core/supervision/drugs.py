"""R06 超量开药 and R11 超支付标准: quantities of drugs and items against their limits.

A drug's generic and form is the first `r06.generic_chars` characters of its national code
(domain.md §7: "The 12-char prefix = generic name + form"); one unit lasts `days_per_unit` days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from fractions import Fraction

from medsettle.core.supervision.facts import Claim, by_person
from medsettle.core.supervision.hits import Hit
from medsettle.core.supervision.thresholds import Standard, Thresholds

TAKE_HOME = ("outpatient", "chronic")


def _supply(claim: Claim, t: Thresholds) -> dict[str, Decimal]:
    """Days of supply per generic in one claim."""
    days: dict[str, Decimal] = {}
    for line in claim.lines:
        if line.drug and line.count > 0:
            generic = line.code[: t.r06.generic_chars]
            days[generic] = days.get(generic, Decimal(0)) + line.count * t.r06.days_per_unit
    return days


def oversupply(claim: Claim, t: Thresholds) -> Hit | None:
    """R06: one visit's supply of a drug above 30 days (84 for a chronic-disease visit)."""
    if claim.visit_type not in TAKE_HOME:
        return None
    limit = (t.r06.chronic_max_supply_days if claim.visit_type == "chronic"
             else t.r06.max_supply_days)
    supply = _supply(claim, t)
    worst = max(supply.items(), key=lambda kv: kv[1], default=None)
    if worst is None or worst[1] <= limit:
        return None
    generic, days = worst
    key = "r06.chronic_max_supply_days" if claim.visit_type == "chronic" else \
        "r06.max_supply_days"
    lines = [ln for ln in claim.lines if ln.drug and ln.code.startswith(generic)]
    return Hit("R06", "settlement", claim.settlement_id,
               f"{days} days of {generic} in one visit (at most {limit})", f"{key} = {limit}",
               t.source_of(key), {"supply_days": str(days), "generic": generic},
               (claim.settlement_id,), tuple(f"{claim.settlement_id}/{ln.serial}"
                                             for ln in lines),
               claim.institution, claim.person_id, sum(ln.amount for ln in lines))


def early_refills(claims: Sequence[Claim], t: Thresholds) -> list[Hit]:
    """R06 (batch): a drug dispensed again before `refill_used` (2/3) of the previous supply of
    the same generic could have been used."""
    hits: dict[str, Hit] = {}
    for group in by_person([c for c in claims if c.visit_type in TAKE_HOME]).values():
        last: dict[str, tuple[date, Decimal, str]] = {}
        for claim in group:
            for generic, days in sorted(_supply(claim, t).items()):
                previous = last.get(generic)
                last[generic] = (claim.begins, days, claim.settlement_id)
                if previous is None or claim.settlement_id in hits:
                    continue
                started, supplied, before = previous
                elapsed = (claim.begins - started).days
                needed = Fraction(supplied) * t.r06.refill_used
                if elapsed < needed:
                    hits[claim.settlement_id] = Hit(
                        "R06", "settlement", claim.settlement_id,
                        f"{generic} dispensed again after {elapsed} days of a {supplied}-day "
                        f"supply", f"r06.refill_used = {t.r06.refill_used}",
                        t.source_of("r06.refill_used"),
                        {"elapsed_days": str(elapsed), "previous_supply_days": str(supplied),
                         "generic": generic}, (before, claim.settlement_id), (),
                        claim.institution, claim.person_id, claim.fund)
    return list(hits.values())


def _standard(code: str, t: Thresholds) -> tuple[str, Standard] | None:
    found = [p for p in t.r11.standards if code.startswith(p)]
    if not found:
        return None
    prefix = max(found, key=len)
    return prefix, t.r11.standards[prefix]


def beyond_standard(claim: Claim, t: Thresholds) -> Hit | None:
    """R11: units of an item with a payment standard above its limit per visit or per day."""
    units: dict[tuple[str, date | None], Decimal] = {}
    totals: dict[str, Decimal] = {}
    for line in claim.lines:
        found = _standard(line.code, t)
        if found is None or line.in_scope <= 0:
            continue
        units[(found[0], line.day)] = units.get((found[0], line.day), Decimal(0)) + line.count
        totals[found[0]] = totals.get(found[0], Decimal(0)) + line.count
    for prefix, total in sorted(totals.items()):
        standard = t.r11.standards[prefix]
        if standard.per_visit is not None and total > standard.per_visit:
            return _hit(claim, t, prefix, f"{total} units in one visit (at most "
                                          f"{standard.per_visit})", "per_visit", total)
        if standard.per_day is not None:
            for (p, day), count in sorted(units.items(), key=str):
                allowed = standard.per_day * (1 if day is not None else claim.days)
                if p == prefix and count > allowed:
                    return _hit(claim, t, prefix, f"{count} units" + (f" on {day}" if day else
                                                                      "") +
                                f" (at most {allowed})", "per_day", count)
    return None


def _hit(claim: Claim, t: Thresholds, prefix: str, text: str, which: str,
         count: Decimal) -> Hit:
    lines = [ln for ln in claim.lines if ln.code.startswith(prefix)]
    key = f"r11.standards.{prefix}.{which}"
    limit = getattr(t.r11.standards[prefix], which)
    return Hit("R11", "settlement", claim.settlement_id, f"{prefix}: {text}",
               f"{key} = {limit}", t.source_of(key), {"units": str(count), "item": prefix},
               (claim.settlement_id,), tuple(f"{claim.settlement_id}/{ln.serial}"
                                             for ln in lines),
               claim.institution, claim.person_id, sum(ln.amount for ln in lines))


def yearly_standard(claims: Sequence[Claim], t: Thresholds) -> list[Hit]:
    """R11 (batch): a person's units of an item in a calendar year above its per_year standard;
    the claim that crosses the limit is the hit (claims: the year so far)."""
    hits = []
    for group in by_person(claims).values():
        used: dict[tuple[str, int], Decimal] = {}
        for claim in group:
            for line in claim.lines:
                found = _standard(line.code, t)
                if found is None or found[1].per_year is None or line.in_scope <= 0:
                    continue
                key = (found[0], claim.begins.year)
                before = used.get(key, Decimal(0))
                used[key] = before + line.count
                if before <= found[1].per_year < used[key]:
                    hits.append(_hit(claim, t, found[0], f"{used[key]} units in "
                                     f"{claim.begins.year} (at most {found[1].per_year})",
                                     "per_year", used[key]))
    unique = {h.key: h for h in hits}
    return list(unique.values())
