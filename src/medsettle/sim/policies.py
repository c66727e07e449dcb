"""What the simulator reads from the shipped policies: chronic disease lists and exempt zones."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from medsettle.adapters.files import load_policy_book
from medsettle.core.codes import NATIONAL_CHRONIC_DISEASES
from medsettle.core.errors import PolicyNotInForce
from medsettle.core.policy import ParameterSet, PolicyBook


@lru_cache(maxsize=1)
def shipped_book() -> PolicyBook:
    """The shipped policy parameters, loaded once per process."""
    return load_policy_book()


def policy_near(region: str, scheme: str, on: date) -> ParameterSet | None:
    """The set in force on `on`, else the next one to start, else the last one; None if none."""
    book = shipped_book()
    try:
        return book.find(region, scheme, on)
    except PolicyNotInForce:
        sets = book.sets_of(region, scheme)
        later = [ps for ps in sets if ps.valid_from > on]
        if later:
            return later[0]
        return sets[-1] if sets else None


def chronic_diseases(region: str, scheme: str, on: date) -> tuple[str, ...]:
    """The 门诊慢特病 the region's policy lists (domain.md §4); the national five if none ships."""
    ps = policy_near(region, scheme, on)
    chronic = None if ps is None else ps.benefits.get("chronic")
    if chronic is None:
        return tuple(NATIONAL_CHRONIC_DISEASES)
    return tuple(sorted(chronic.diseases))


def exempt_prefixes(region: str, scheme: str, on: date) -> tuple[str, ...]:
    """Treating-place prefixes that count as filed for this insured region (domain.md §3)."""
    ps = policy_near(region, scheme, on)
    if ps is None:
        return ()
    return tuple(zone.treating_prefix for zone in ps.filing.exempt
                 if region.startswith(zone.insured_prefix))
