"""Applying the rules: `realtime` to one claim at pre-settle or settle, `batch` to a month.

Thresholds are found per region by the caller's `thresholds(region)`: rules about an
institution's conduct (R01, R03, R04, R07, R09–R12) use the treating place's, rules about a
person (R02's readmission is the institution's too; R05, R06, R08, R11's year) the insured
place's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from medsettle.core.catalogue import Restriction
from medsettle.core.supervision import billing, drugs, eligibility, identity, stay, trends
from medsettle.core.supervision.facts import Claim, FilingEvent
from medsettle.core.supervision.hits import Hit
from medsettle.core.supervision.thresholds import Thresholds

ThresholdsOf = Callable[[str], Thresholds]


def realtime(claim: Claim, t: Thresholds,
             restrictions: Mapping[str, Restriction] | None = None) -> list[Hit]:
    """The rules that need nothing but the claim (R03, R04, R05 quantities, R06 supply, R07,
    R11 per visit/day, R12), in rule order; each gives at most one hit."""
    found = [billing.repeated_charges(claim, t), billing.swapped_items(claim, t),
             identity.implausible_quantities(claim, t), drugs.oversupply(claim, t),
             eligibility.restriction_not_met(claim, restrictions or {}, t)
             if restrictions else None,
             drugs.beyond_standard(claim, t), billing.over_cap_in_scope(claim, t)]
    return [hit for hit in found if hit is not None]


@dataclass
class MonthFacts:
    """What one month's batch looks at: the month's claims, earlier claims for history (at
    least the 90 days before, and the year so far for R11), filing events, each institution's
    monthly fund payments (R09) and the catalogue's restrictions (R07)."""

    month: str
    first: date
    last: date
    claims: Sequence[Claim]
    history: Sequence[Claim] = ()
    filings: Sequence[FilingEvent] = ()
    fund_by_month: Mapping[str, Sequence[int]] = field(default_factory=dict)
    restrictions: Mapping[str, Restriction] = field(default_factory=dict)
    rules: frozenset[str] | None = None  # None: all


def _by_region(claims: Iterable[Claim], key: Callable[[Claim], str]) -> dict[str, list[Claim]]:
    groups: dict[str, list[Claim]] = {}
    for claim in claims:
        groups.setdefault(key(claim), []).append(claim)
    return groups


def batch(facts: MonthFacts, thresholds: ThresholdsOf) -> list[Hit]:
    """Every rule over the month; hits keyed by a settlement are kept only for the month's own
    settlements (history is context, not a subject)."""
    wanted = facts.rules
    on = facts.last

    def run(rule: str) -> bool:
        return wanted is None or rule in wanted

    hits: list[Hit] = []
    everything = [*facts.history, *facts.claims]
    cache: dict[str, Thresholds] = {}

    def t_of(region: str) -> Thresholds:
        if region not in cache:
            cache[region] = thresholds(region)
        return cache[region]

    for claim in facts.claims:
        t = t_of(claim.treating_region)
        if run("R01"):
            hits.extend(h for h in [stay.idle_days(claim, t)] if h)
        for hit in realtime(claim, t, facts.restrictions):
            if run(hit.rule):
                hits.append(hit)
    days = [facts.first + timedelta(days=k) for k in range((facts.last - facts.first).days + 1)]
    for region, group in _by_region(everything, lambda c: c.treating_region).items():
        t = t_of(region)
        if run("R01"):
            hits.extend(stay.census_outliers(group, days, t))
        if run("R02"):
            hits.extend(stay.readmissions(group, t))
    for region, group in _by_region(everything, lambda c: c.insured_region).items():
        t = t_of(region)
        if run("R05"):
            hits.extend(identity.two_provinces_a_day(group, t))
        if run("R06"):
            hits.extend(drugs.early_refills(group, t))
        if run("R11"):
            year = [c for c in group if c.begins.year == facts.last.year]
            hits.extend(drugs.yearly_standard(year, t))
    if run("R08") and facts.filings:
        for region, events in _events_by_region(facts.filings).items():
            hits.extend(eligibility.frequent_changes(events, on, t_of(region)))
    if run("R09") and facts.fund_by_month:
        regions = {c.institution: c.treating_region for c in everything}
        for region, monthly in _split(facts.fund_by_month, regions).items():
            hits.extend(trends.cost_surge(monthly, facts.month, t_of(region)))
    if run("R10"):
        for group in _by_region(facts.claims, lambda c: c.treating_region[:2]).values():
            hits.extend(trends.structure_outliers(trends.structures(group),
                                                  t_of(group[0].treating_region)))
    own = {c.settlement_id for c in facts.claims}
    kept = [h for h in hits if h.unit != "settlement" or h.key in own]
    return dedupe(kept)


def _events_by_region(events: Sequence[FilingEvent]) -> dict[str, list[FilingEvent]]:
    return {"000000": list(events)}


def _split(monthly: Mapping[str, Sequence[int]], regions: Mapping[str, str]
           ) -> dict[str, dict[str, Sequence[int]]]:
    result: dict[str, dict[str, Sequence[int]]] = {}
    for institution, values in monthly.items():
        region = regions.get(institution) or institution[1:7]
        result.setdefault(region, {})[institution] = values
    return result


def dedupe(hits: Iterable[Hit]) -> list[Hit]:
    """One hit per (rule, key): the first found."""
    seen: dict[tuple[str, str], Hit] = {}
    for hit in hits:
        seen.setdefault((hit.rule, hit.key), hit)
    return sorted(seen.values(), key=lambda h: (h.rule, h.key))
