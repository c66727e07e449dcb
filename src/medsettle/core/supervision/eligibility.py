"""R07 限定支付 (sex, age, institution level, visit type) and R08 repeated filing changes.

R07 applies national batches of restrictions [C] as the treating place's catalogue carries
them (core.catalogue.Restriction); a line that fails one should have been self-paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from medsettle.core.catalogue import Restriction
from medsettle.core.supervision.facts import Claim, FilingEvent
from medsettle.core.supervision.hits import Hit
from medsettle.core.supervision.thresholds import Thresholds
from medsettle.core.tables import LEVELS


def _failed(r: Restriction, claim: Claim, checks: frozenset[str]) -> list[str]:
    """The restriction's conditions the claim does not meet (only those in `checks`)."""
    failed = []
    if "visit_type" in checks and r.visit_types is not None and (
            claim.visit_type not in r.visit_types):
        failed.append(f"visit type {claim.visit_type} not in {sorted(r.visit_types)}")
    if "level" in checks and r.min_level is not None and claim.level in LEVELS and (
            LEVELS.index(claim.level) < LEVELS.index(r.min_level)):
        failed.append(f"level {claim.level} below {r.min_level}")
    if "sex" in checks and r.sex is not None and claim.gender and claim.gender != r.sex:
        failed.append(f"sex {claim.gender}, restricted to {r.sex}")
    if "age" in checks and claim.age is not None and (
            (r.min_age is not None and claim.age < r.min_age)
            or (r.max_age is not None and claim.age > r.max_age)):
        failed.append(f"age {claim.age} outside {r.min_age or 0}–{r.max_age or '∞'}")
    return failed


def restriction_not_met(claim: Claim, restrictions: Mapping[str, Restriction],
                        t: Thresholds) -> Hit | None:
    """R07: a line of a restricted item, billed in scope, whose restriction the patient or the
    visit does not meet."""
    bad = []
    reasons: dict[str, str] = {}
    for line in claim.lines:
        r = restrictions.get(line.code)
        if r is None or line.in_scope <= 0:
            continue
        failed = _failed(r, claim, t.r07.checks)
        if failed:
            bad.append(line)
            reasons[line.code] = "; ".join(failed)
    if not bad:
        return None
    first = next(iter(reasons))
    return Hit("R07", "settlement", claim.settlement_id,
               f"{first}: {reasons[first]}, billed in scope",
               "r07.checks = " + ", ".join(sorted(t.r07.checks)), t.source_of("r07.checks"),
               reasons, (claim.settlement_id,),
               tuple(f"{claim.settlement_id}/{ln.serial}" for ln in bad), claim.institution,
               claim.person_id, sum(ln.in_scope for ln in bad))


def frequent_changes(events: Sequence[FilingEvent], until: date, t: Thresholds) -> list[Hit]:
    """R08: more than `max_changes` changes or cancellations of a person's filings in the
    `window_days` ending on `until` (inclusive)."""
    start = until - timedelta(days=t.r08.window_days - 1)
    counted: dict[str, list[FilingEvent]] = {}
    for event in events:
        if event.kind in ("changed", "cancelled") and start <= event.on <= until:
            counted.setdefault(event.person_id, []).append(event)
    hits = []
    for person, changes in sorted(counted.items()):
        if len(changes) > t.r08.max_changes:
            changes.sort(key=lambda e: e.on)
            hits.append(Hit("R08", "person", person,
                            f"{len(changes)} filing changes or cancellations from {start} to "
                            f"{until}", f"r08.max_changes = {t.r08.max_changes}",
                            t.source_of("r08.max_changes"),
                            {"changes": str(len(changes)), "window_days":
                             str(t.r08.window_days),
                             "dates": ", ".join(e.on.isoformat() for e in changes)},
                            person=person))
    return hits
