"""The monthly batch of the rules that need history (domain.md §9), on the node that holds the
data: a province node over the visits it treated (their fee lines, with 90 days of history and
the year so far) and the filings of its insured persons; the hub over its settlement index for
what only it sees across provinces (R05: one person in two provinces on a day; R09: an
institution's cross-province fund payments against the three months before). Each run replaces
the month's batch hits with their evidence; R09 opens a 双地联查 case."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from medsettle.core.calendar import age_on, business_date, day_bounds
from medsettle.core.catalogue import Restriction
from medsettle.core.clearing import YearMonth, province_of
from medsettle.core.errors import StateConflict
from medsettle.core.records import Role, SettlementKind, SettlementStatus
from medsettle.core.supervision import identity, trends
from medsettle.core.supervision.facts import Claim, FilingEvent, claim_of, line_of
from medsettle.core.supervision.hits import Hit
from medsettle.core.supervision.runner import MonthFacts, batch, dedupe
from medsettle.core.supervision.thresholds import Thresholds
from medsettle.services.audit import Actor
from medsettle.services.ports import Database, UnitOfWork
from medsettle.services.supervision_cases import in_open_cases

logger = logging.getLogger(__name__)
ThresholdsOf = Callable[[str], Thresholds]
HISTORY_DAYS = 90


def month_days(month: YearMonth) -> tuple[date, date]:
    """The first and last business day of a month."""
    following = month.shift(1)
    return date(month.year, month.month, 1), date(following.year, following.month,
                                                  1) - timedelta(days=1)


def _restriction(doc: Any) -> Restriction | None:
    if not doc:
        return None
    types = doc.get("visit_types")
    return Restriction(visit_types=frozenset(types) if types else None,
                       min_level=doc.get("min_level"), sex=doc.get("sex"),
                       min_age=doc.get("min_age"), max_age=doc.get("max_age"))


def node_facts(tx: UnitOfWork, month: YearMonth) -> MonthFacts:
    """A province node's month: the cross-province and local visits it treated and settled,
    with their lines and the history the rules need, and its insured persons' filings."""
    first, last = month_days(month)
    start = min(first - timedelta(days=HISTORY_DAYS), date(last.year, 1, 1))
    catalogue = {r.code: r for r in tx.rows("catalogue")}
    kinds = {code: str(r.med_chrgitm_type) for code, r in catalogue.items()}
    restrictions = {code: r for code, row in catalogue.items()
                    if (r := _restriction(row.restriction)) is not None}
    levels = {i.fixmedins_code: i.level for i in tx.rows("institutions")}
    visits = {v.visit_id: v for v in tx.treated_visits()}
    lines: dict[str, list[Any]] = {}
    for stored in tx.fee_lines():
        if stored.settlement_id:
            lines.setdefault(stored.settlement_id, []).append(line_of(stored, kinds))
    claims: list[Claim] = []
    history: list[Claim] = []
    for record in tx.settlements_between(Role.TREATING, start, last):
        if record.kind is not SettlementKind.SETTLE or (
                record.status is not SettlementStatus.SETTLED):
            continue
        visit = visits.get(record.visit_id)
        settled = business_date(record.settled_at)
        begins = visit.begins.date() if visit else settled
        ends = visit.ends.date() if visit and visit.ends else settled
        person = visit.person if visit else None
        claim = claim_of(record, lines.get(record.settlement_id, ()), begins=begins, ends=ends,
                         level=levels.get(record.institution, ""),
                         diagnosis=(visit.disease or "") if visit else "",
                         gender=person.gender if person else "",
                         age=age_on(person.birth_date, settled) if person else None)
        (claims if settled >= first else history).append(claim)
    events = []
    for f in tx.rows("filings"):
        events.append(FilingEvent(f.psn_no, f.applied_on, "filed", f.filing_no))
        if f.status == "cancelled":
            events.append(FilingEvent(f.psn_no, f.decided_on or f.applied_on, "cancelled",
                                      f.filing_no))
    return MonthFacts(str(month), first, last, claims, history, events, {}, restrictions,
                      rules=frozenset(f"R{n:02d}" for n in range(1, 13)) - {"R09"})


def keep_hits(tx: UnitOfWork, hits: list[Hit], month: YearMonth, now: datetime) -> None:
    """Replace the month's batch hits (earlier ones are marked replaced, not deleted)."""
    tx_delete_batch(tx, month)
    tx.add_many("supervision_hits", [{
        "rule": h.rule, "unit": h.unit, "key": h.key[:120], "severity": h.severity,
        "source": "batch", "month": str(month), "institution": h.institution,
        "person": h.person, "settlement_id": h.settlements[-1] if h.settlements else "",
        "amount": h.amount, "found_at": now, "case_id": None, "document": h.to_dict()}
        for h in hits])


def tx_delete_batch(tx: UnitOfWork, month: YearMonth) -> None:
    """Forget a month's earlier batch hits of this node's own batch (a re-run replaces them);
    at the hub, the hits a province reported (`reported_by`) are that province's to replace."""
    for row in tx.rows("supervision_hits", source="batch", month=str(month)):
        if not (row.document or {}).get("reported_by"):
            tx.change("supervision_hits", {"id": row.id}, source="replaced")


def run_node(store: Database, month: YearMonth, thresholds: ThresholdsOf,
             now: datetime) -> list[Hit]:
    """A province node's batch of a month; its hits are kept and returned."""
    with store.tx() as tx:
        facts = node_facts(tx, month)
    hits = batch(facts, thresholds)
    with store.tx() as tx:
        keep_hits(tx, hits, month, now)
    logger.info("supervision batch", extra={"month": str(month), "claims": len(facts.claims),
                                            "hits": len(hits)})
    return hits


def hub_claims(tx: UnitOfWork, first: date, last: date) -> list[Claim]:
    """The hub's index of the days as claims without lines (settlements, cancels left out)."""
    start, end = day_bounds(first, last)
    cancelled = {r.ref_setl_id for r in tx.rows("settlement_index", kind="cancel")}
    claims = []
    for r in tx.rows("settlement_index", kind="settle"):
        if not start <= r.setl_time < end or r.setl_id in cancelled:
            continue
        day = business_date(r.setl_time)
        claims.append(Claim(settlement_id=r.setl_id, person_id=r.psn_no,
                            insured_region=r.insu_admdvs, treating_region=r.mdtrtarea_admvs,
                            institution=r.fixmedins_code, visit_type=r.visit_type,
                            settled_on=day, begins=day, ends=day, medfee=int(r.medfee_sumamt),
                            fund=int(r.fund_pay_sumamt)))
    return claims


def monthly_funds(tx: UnitOfWork, month: YearMonth, months: int) -> dict[str, list[int]]:
    """Each institution's cross-province fund payments of the `months` months up to `month`
    (cancels negative), oldest first."""
    keys = [str(month.shift(-k)) for k in range(months - 1, -1, -1)]
    first, _ = month_days(month.shift(-(months - 1)))
    _, last = month_days(month)
    sums: dict[str, dict[str, int]] = {}
    start, end = day_bounds(first, last)
    for r in tx.rows("settlement_index"):
        if not start <= r.setl_time < end or r.insu_admdvs[:2] == r.mdtrtarea_admvs[:2]:
            continue
        m = str(YearMonth.of(r.setl_time))
        amount = int(r.fund_pay_sumamt) * (-1 if r.kind == "cancel" else 1)
        by_month = sums.setdefault(r.fixmedins_code, {})
        by_month[m] = by_month.get(m, 0) + amount
    return {code: [by_month.get(k, 0) for k in keys] for code, by_month in sums.items()}


def run_hub(store: Database, month: YearMonth, thresholds: ThresholdsOf, now: datetime,
            open_case: Callable[..., Any] | None = None) -> list[Hit]:
    """The hub's batch: R05 across provinces and R09 cost surges (each opening a 双地联查 case
    through `open_case`, once per institution and month)."""
    first, last = month_days(month)
    national = thresholds("000000")
    with store.tx() as tx:
        claims = hub_claims(tx, first, last)
        funds = monthly_funds(tx, month, national.r09.baseline_months + 1)
    hits = identity.two_provinces_a_day(claims, national)
    by_region: dict[str, dict[str, list[int]]] = {}
    regions = {c.institution: c.treating_region for c in claims}
    for code, values in funds.items():
        by_region.setdefault(regions.get(code, code[1:7]), {})[code] = values
    for region, monthly in by_region.items():
        hits.extend(trends.cost_surge(monthly, str(month), thresholds(region)))
    hits = dedupe(hits)
    with store.tx() as tx:
        keep_hits(tx, hits, month, now)
    if open_case is not None:
        for hit in (h for h in hits if h.rule == "R09"):
            _joint_audit(store, hit, claims, month, now, open_case)
    return hits


def _joint_audit(store: Database, hit: Hit, claims: list[Claim], month: YearMonth,
                 now: datetime, open_case: Callable[..., Any]) -> None:
    """R09 opens a 双地联查 of the institution with the province that paid it most this month,
    its 20 largest settlements not already in an open case as items (once per institution and
    month: a case the rule opened, which no province can open in its name)."""
    mine = [c for c in claims if c.institution == hit.institution
            and c.insured_region[:2] != c.treating_region[:2]]
    if not mine:
        return
    paid: dict[str, int] = {}
    for c in mine:
        paid[province_of(c.insured_region)] = paid.get(province_of(c.insured_region), 0) + c.fund
    insured = max(paid, key=lambda p: paid[p])
    reason = f"R09 cost surge {month}: {hit.message}"
    with store.tx() as tx:
        existing = [row.case_id for row in tx.rows("supervision_cases",
                                                   institution=hit.institution)
                    if "R09" in row.document.get("rules", [])
                    and str(row.document.get("reason", "")).startswith(f"R09 cost surge {month}:")]
        taken = in_open_cases(tx, [c.settlement_id for c in mine])
    if existing:
        case_id = existing[0]
    else:
        top = sorted((c for c in mine if province_of(c.insured_region) == insured
                      and c.settlement_id not in taken), key=lambda c: c.fund, reverse=True)[:20]
        if not top:
            return  # every settlement is already under a case of its own
        try:
            case_id = open_case(store, kind="joint_audit", insured=insured,
                                treating=province_of(mine[0].treating_region),
                                institution=hit.institution, reason=reason,
                                settlement_ids=[c.settlement_id for c in top],
                                actor=Actor("rule:R09", "hub"), now=now, rules=("R09",)).case_id
        except StateConflict as exc:  # a province opened a case on one of them meanwhile
            logger.warning("R09 joint audit not opened", extra={
                "institution": hit.institution, "month": str(month), "why": str(exc)})
            return
    with store.tx() as tx:
        for row in tx.rows("supervision_hits", rule="R09", key=hit.key, month=str(month),
                           source="batch"):
            tx.change("supervision_hits", {"id": row.id}, case_id=case_id)
