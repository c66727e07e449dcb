"""What the simulator reads from a policy book: chronic disease lists and exempt zones (the
caller gives the book, usually the shipped one)."""

from __future__ import annotations

from datetime import date

from medsettle.core.codes import NATIONAL_CHRONIC_DISEASES
from medsettle.core.errors import PolicyNotInForce
from medsettle.core.policy import ParameterSet, PolicyBook


def policy_near(book: PolicyBook, region: str, scheme: str, on: date) -> ParameterSet | None:
    """The set in force on `on`, else the next one to start, else the last one; None if none."""
    try:
        return book.find(region, scheme, on)
    except PolicyNotInForce:
        sets = book.sets_of(region, scheme)
        later = [ps for ps in sets if ps.valid_from > on]
        if later:
            return later[0]
        return sets[-1] if sets else None


def chronic_diseases(book: PolicyBook, region: str, scheme: str, on: date) -> tuple[str, ...]:
    """The 门诊慢特病 the region's policy lists (domain.md §4); the national five if none ships."""
    ps = policy_near(book, region, scheme, on)
    chronic = None if ps is None else ps.benefits.get("chronic")
    if chronic is None:
        return tuple(NATIONAL_CHRONIC_DISEASES)
    return tuple(sorted(chronic.diseases))


def exempt_prefixes(book: PolicyBook, region: str, scheme: str, on: date) -> tuple[str, ...]:
    """Treating-place prefixes that count as filed for this insured region (domain.md §3)."""
    ps = policy_near(book, region, scheme, on)
    if ps is None:
        return ()
    return tuple(zone.treating_prefix for zone in ps.filing.exempt
                 if region.startswith(zone.insured_prefix))
