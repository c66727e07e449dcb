"""R01 挂床住院 and R02 分解住院: inpatient stays (domain.md §9).

Law: 国务院令第735号 Arts. 15/38 (分解住院, 挂床): refund + 1–2× fine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from medsettle.core.supervision.facts import Claim, by_person
from medsettle.core.supervision.hits import Hit
from medsettle.core.supervision.stats import show, upper_fence
from medsettle.core.supervision.thresholds import Thresholds


def idle_days(claim: Claim, t: Thresholds) -> Hit | None:
    """R01: at least `min_days` consecutive days of the stay whose only charges are of the kinds
    bed/exam/nursing (01/02/07), i.e. days on which the patient was not treated."""
    if claim.visit_type != "inpatient":
        return None
    kinds_by_day: dict[date, set[str]] = {}
    for line in claim.lines:
        if line.day is not None:
            kinds_by_day.setdefault(line.day, set()).add(line.kind)
    run: list[date] = []
    best: list[date] = []
    day = claim.begins
    while day <= claim.ends:
        kinds = kinds_by_day.get(day)
        if kinds and kinds <= t.r01.only_kinds:
            run.append(day)
            best = run if len(run) > len(best) else best
        else:
            run = []
        day += timedelta(days=1)
    if len(best) < t.r01.min_days:
        return None
    idle = [f"{claim.settlement_id}/{line.serial}" for line in claim.lines if line.day in best]
    amount = sum(line.amount for line in claim.lines if line.day in best)
    return Hit("R01", "settlement", claim.settlement_id,
               f"{len(best)} consecutive days ({best[0]}–{best[-1]}) with only bed, "
               f"examination and nursing charges", f"r01.min_days = {t.r01.min_days}",
               t.source_of("r01.min_days"),
               {"idle_days": str(len(best)), "first": best[0].isoformat(),
                "last": best[-1].isoformat(), "stay_days": str(claim.days)},
               (claim.settlement_id,), tuple(idle), claim.institution, claim.person_id, amount)


def census_outliers(claims: Iterable[Claim], days: Sequence[date], t: Thresholds) -> list[Hit]:
    """R01 (census): each institution's inpatients present on each of `days`, against the Tukey
    fence of its own previous `census_days` days (claims must cover that history)."""
    present: dict[str, dict[date, int]] = {}
    for claim in claims:
        if claim.visit_type != "inpatient":
            continue
        counts = present.setdefault(claim.institution, {})
        day = claim.begins
        while day <= claim.ends:
            counts[day] = counts.get(day, 0) + 1
            day += timedelta(days=1)
    hits = []
    for institution, counts in sorted(present.items()):
        for day in days:
            window = [counts.get(day - timedelta(days=k), 0)
                      for k in range(1, t.r01.census_days + 1)]
            if sum(1 for v in window if v) < t.r01.min_census_days:
                continue
            fence = upper_fence(window, t.r01.fence)
            census = counts.get(day, 0)
            if census > fence:
                hits.append(Hit(
                    "R01", "institution_day", f"{institution}:{day.isoformat()}",
                    f"{census} inpatients on {day} against a fence of {show(fence, 1)} from the "
                    f"previous {t.r01.census_days} days", f"r01.fence = {t.r01.fence}",
                    t.source_of("r01.fence"), {"census": str(census), "fence": show(fence, 2)},
                    institution=institution))
    return hits


def readmissions(claims: Sequence[Claim], t: Thresholds) -> list[Hit]:
    """R02: a stay admitted to the same institution within `max_gap_days` of the previous stay's
    discharge, with the same principal diagnosis (first `diagnosis_chars` characters)."""
    hits = []
    chars = t.r02.diagnosis_chars
    for stays in by_person([c for c in claims if c.visit_type == "inpatient"]).values():
        for before, after in zip(stays, stays[1:], strict=False):
            gap = (after.begins - before.ends).days
            if (after.institution != before.institution or not 0 <= gap <= t.r02.max_gap_days
                    or not before.diagnosis or
                    before.diagnosis[:chars] != after.diagnosis[:chars]):
                continue
            hits.append(Hit(
                "R02", "settlement", after.settlement_id,
                f"readmitted {gap} days after discharge ({before.ends}) with the same "
                f"diagnosis {after.diagnosis[:chars]}", f"r02.max_gap_days = "
                f"{t.r02.max_gap_days}", t.source_of("r02.max_gap_days"),
                {"gap_days": str(gap), "diagnosis": after.diagnosis,
                 "previous_discharge": before.ends.isoformat()},
                (before.settlement_id, after.settlement_id), (), after.institution,
                after.person_id, after.fund))
    return hits
