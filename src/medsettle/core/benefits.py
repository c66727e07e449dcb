"""The benefits engine: the insured place's policy applied to a classified bill (domain.md §4).

`settle` is a pure function: (parameter set, person with accumulators, visit with classified lines)
→ `Settlement` holding the 16 national amount fields, the fund split, every accumulator delta,
the new accumulators and an ordered explanation. `reverse` undoes a settlement exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Literal

from medsettle.core import lines as ln
from medsettle.core.accumulators import Accumulators, Path
from medsettle.core.bands import (
    Band,
    Segment,
    as_bands,
    eligible_within_cap,
    exact_sum,
    ratio_at,
    reduced,
    rounded,
    segments,
)
from medsettle.core.errors import (
    ChronicDiseaseNotCovered,
    ChronicNotCertified,
    ChronicNotOpened,
    InstitutionSuspended,
    InvalidInput,
    NotFiled,
    PolicyNotInForce,
    UnsupportedScheme,
)
from medsettle.core.money import apply_ratio
from medsettle.core.policy import TIER_ORDER, BandTier, Benefit, ParameterSet
from medsettle.core.tables import CATEGORIES_OF_SCHEME

VisitType = Literal["inpatient", "outpatient", "chronic"]


@dataclass(frozen=True, slots=True)
class Person:
    """The insured person as the insured place sees them at settlement."""

    scheme: str
    category: str
    benefit_class: str | None
    acc: Accumulators = field(default_factory=Accumulators)
    cvlserv: bool = False
    maf_category: str | None = None
    chronic_certified: frozenset[str] = frozenset()
    use_acct: bool = False
    contribution_tier: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """One visit to settle: type, level tier, settlement date and the classified lines."""

    type: VisitType
    level: str
    setl_date: date
    lines: Sequence[ln.FeeLine]
    disease: str | None = None
    emergency: bool = False
    dedc_level: str | None = None
    institution_suspended: bool = False
    disease_opened: bool = True


@dataclass(frozen=True, slots=True)
class Amounts:
    """The 16 amount fields of a settlement result, in domain.md's order, integer fen."""

    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int
    act_pay_dedc: int
    hifp_pay: int
    pool_prop_selfpay: int
    hifmi_pay: int
    hifob_pay: int
    cvlserv_pay: int
    maf_pay: int
    fund_pay_sumamt: int
    psn_part_amt: int
    acct_pay: int
    psn_cash_pay: int

    def as_dict(self) -> dict[str, int]:
        """Field name → fen, in the national order."""
        return {f: getattr(self, f) for f in AMOUNT_FIELDS}

    def negated(self) -> Amounts:
        """The reversal record: every amount's exact negative."""
        return Amounts(*(-getattr(self, f) for f in AMOUNT_FIELDS))


AMOUNT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Amounts))
FUNDS: tuple[str, ...] = ("hifp", "hifmi", "hifob", "cvlserv", "maf")


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the explanation: a stable reason code, the rule applied and its numbers."""

    code: str
    rule: str
    values: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Settlement:
    """What `settle` returns; amounts and deltas are everything a cancel needs to undo it."""

    amounts: Amounts
    policy_id: str
    benefit_class: str
    visit_type: str
    medical_year: str
    ratio: Decimal
    deductible_due: int
    e_over: int
    lines: tuple[ln.PricedLine, ...]
    steps: tuple[Step, ...]
    delta: Mapping[Path, int]
    acc_before: Accumulators
    acc_after: Accumulators
    ratio_bands: tuple[Band, ...] = ()
    policy_hash: str = ""  # the parameter set's content hash: (policy_id, policy_hash) names it

    def fund_split(self) -> dict[str, int]:
        """Who pays: each fund, the personal account and cash (sums to medfee_sumamt)."""
        a = self.amounts
        return {"hifp": a.hifp_pay, "hifmi": a.hifmi_pay, "hifob": a.hifob_pay,
                "cvlserv": a.cvlserv_pay, "maf": a.maf_pay, "acct": a.acct_pay,
                "cash": a.psn_cash_pay}


def settle(policy: ParameterSet, person: Person, visit: Visit) -> Settlement:
    """Settle one visit under the insured place's policy: S0 checks, then S1–S9."""
    benefit, c = _check_preconditions(policy, person, visit)
    steps: list[Step] = [Step(f"class.{c}", "benefit class (待遇类别) from the filing",
                              {"class": c, "policy": policy.id})]
    acc = person.acc
    t = visit.type
    year = policy.medical_year(visit.setl_date)

    # S1–S2: lines and totals.
    extra = policy.temp_reduction.extra_for(c)
    priced = tuple(ln.price_line(line, extra) for line in visit.lines)
    totals = ln.total_lines(priced)
    inscp = totals.inscp_scp_amt
    steps.append(Step("lines.totals", "S1–S2 treating-place catalogue (就医地目录) per line",
                      {"lines": len(priced), "medfee_sumamt": totals.medfee_sumamt,
                       "fulamt_ownpay_amt": totals.fulamt_ownpay_amt,
                       "overlmt_selfpay": totals.overlmt_selfpay,
                       "preselfpay_amt": totals.preselfpay_amt, "inscp_scp_amt": inscp,
                       "extra_preselfpay": str(extra)}))

    # S3: deductible (起付线).
    dedc_level = visit.dedc_level or visit.level
    amount = benefit.deductible.amount.lookup(person.category, dedc_level,
                                              person.contribution_tier)
    if benefit.deductible.mode == "per_visit":
        n = acc.get("visits", t) + 1
        factors = benefit.deductible.repeat_factors
        factor = factors[min(n, len(factors)) - 1]
        due = apply_ratio(amount, factor)
        steps.append(Step("deductible.per_visit", "S3 deductible per visit × repeat factor",
                          {"amount": amount, "visit_number": n, "factor": str(factor),
                           "due": due, "level": dedc_level}))
    else:
        paid = acc.get("dedc_paid", t)
        due = max(0, amount - paid)
        steps.append(Step("deductible.annual", "S3 annual deductible less what was paid",
                          {"amount": amount, "paid_before": paid, "due": due}))
    dedc = min(inscp, due)

    # S4: ratio (支付比例), reduced for temporary travellers in points mode; a band list (分段报销)
    # is placed from 0 (per visit) or from the cap group's eligible amount so far this year.
    eligible = inscp - dedc
    points = policy.temp_reduction.points_for(c)
    cell = benefit.ratio.lookup(person.category, visit.level, person.contribution_tier)
    bands = reduced(as_bands(cell), points)
    start = 0
    if benefit.ratio_basis == "year" and benefit.cap_group is not None:
        start = acc.get("pool_base", benefit.cap_group)
    parts = segments(bands, 0, start, eligible)
    ratio = ratio_at(bands, start)
    if isinstance(cell, tuple):
        steps.append(Step("ratio.banded", "S4 pool ratio by amount band (分段报销), less "
                          "temporary-traveller points",
                          {"category": person.category, "level": visit.level,
                           "basis": benefit.ratio_basis, "points": points, "start": start,
                           "bands": _bands_doc(bands)}))
    else:
        steps.append(Step("ratio.reduced" if points else "ratio.base",
                          "S4 pool ratio by category and level, less temporary-traveller points",
                          {"category": person.category, "level": visit.level,
                           "base_ratio": str(cell), "points": points, "ratio": str(ratio)}))

    # S5: pool and caps.
    raw = rounded(exact_sum(parts))
    cap_left, cap_code, period = _cap_left(policy, person, visit, acc, year)
    pay_values: dict[str, object] = {"eligible": eligible}
    if isinstance(cell, tuple):
        pay_values["segments"] = _segments_doc(parts)
    if cap_left is None or raw <= cap_left:
        hifp, e_over = raw, 0
        steps.append(Step("pool.paid", "S5 pool pays R(E × ratio)",
                          {**pay_values, "ratio": str(ratio) if len(bands) == 1 else "banded",
                           "hifp_pay": hifp, "cap_left": cap_left}))
    else:
        hifp = cap_left
        within = eligible_within_cap(parts, cap_left)
        e_over = max(0, eligible - (eligible if within is None else within))
        steps.append(Step(cap_code, "S5 pool pays only what its cap leaves",
                          {**pay_values, "raw": raw, "cap_left": cap_left, "hifp_pay": hifp,
                           "e_over": e_over}))
    pool_prop_selfpay = eligible - hifp

    # S6: further tiers, in fixed order.
    delta: dict[Path, int] = {("visits", t): 1, ("dedc_paid", t): dedc}
    if benefit.cap_group is not None:
        delta[("pool_paid", benefit.cap_group)] = hifp
        if benefit.ratio_basis == "year":
            delta[("pool_base", benefit.cap_group)] = eligible
    if period is not None and visit.disease is not None:
        delta[("chronic_paid", visit.disease, period)] = hifp
    burden = dedc + pool_prop_selfpay
    pays = {name: 0 for name in TIER_ORDER}
    for name in TIER_ORDER:
        tier, why = _tier_for(policy, person, name, t)
        if tier is None:
            steps.append(Step(f"tier.{name}.{why}", f"S6 {name} does not run", {}))
            continue
        x = e_over if name == "hifob" else burden
        pay = _pay_bands(tier, acc.get("tiers", name, "base"), acc.get("tiers", name, "paid"), x,
                         name, steps)
        delta[("tiers", name, "base")] = x
        delta[("tiers", name, "paid")] = pay
        pays[name] = pay
        burden -= pay

    # S7–S8: totals and the personal account.
    fund = hifp + sum(pays.values())
    psn_part = totals.medfee_sumamt - fund
    acct = 0
    if person.use_acct and person.scheme == "employee":
        payable = psn_part if policy.account_scope == "all" else (
            psn_part - totals.fulamt_ownpay_amt - totals.overlmt_selfpay)
        balance = acc.get("acct_balance")
        acct = min(balance, payable)
        delta[("acct_balance",)] = -acct
        steps.append(Step("account.used", "S8 personal account (个人账户) pays its scope",
                          {"scope": policy.account_scope, "payable": payable,
                           "balance": balance, "acct_pay": acct}))
    else:
        steps.append(Step("account.not_used", "S8 the personal account is not used",
                          {"use_acct": person.use_acct, "scheme": person.scheme}))
    amounts = Amounts(
        medfee_sumamt=totals.medfee_sumamt, fulamt_ownpay_amt=totals.fulamt_ownpay_amt,
        overlmt_selfpay=totals.overlmt_selfpay, preselfpay_amt=totals.preselfpay_amt,
        inscp_scp_amt=inscp, act_pay_dedc=dedc, hifp_pay=hifp,
        pool_prop_selfpay=pool_prop_selfpay, hifmi_pay=pays["hifmi"], hifob_pay=pays["hifob"],
        cvlserv_pay=pays["cvlserv"], maf_pay=pays["maf"], fund_pay_sumamt=fund,
        psn_part_amt=psn_part, acct_pay=acct, psn_cash_pay=psn_part - acct)
    steps.append(Step("totals", "S7 funds and the person's share",
                      {"fund_pay_sumamt": fund, "psn_part_amt": psn_part, "acct_pay": acct,
                       "psn_cash_pay": psn_part - acct}))
    return Settlement(amounts=amounts, policy_id=policy.id, benefit_class=c, visit_type=t,
                      medical_year=year, ratio=ratio, deductible_due=due, e_over=e_over,
                      lines=priced, steps=tuple(steps), delta=delta, acc_before=acc,
                      acc_after=acc.applied(delta), ratio_bands=bands,
                      policy_hash=policy.content_hash)


def reverse(settlement: Settlement, acc: Accumulators) -> tuple[Amounts, Accumulators]:
    """Cancel (撤销) or reversal (冲正): the negated record and `acc` with every delta removed."""
    return settlement.amounts.negated(), acc.reversed(settlement.delta)


def _check_preconditions(policy: ParameterSet, person: Person,
                         visit: Visit) -> tuple[Benefit, str]:
    """S0: on any failure raise; nothing changes. Returns the benefit rule and the class."""
    if not policy.in_force(visit.setl_date):
        raise PolicyNotInForce(f"{policy.id} is not in force on {visit.setl_date.isoformat()}")
    if person.scheme != policy.scheme:
        raise UnsupportedScheme(f"person scheme {person.scheme!r} does not match policy "
                                f"{policy.id} ({policy.scheme})")
    if person.category not in CATEGORIES_OF_SCHEME[policy.scheme]:
        raise UnsupportedScheme(f"category {person.category!r} is not settled under the "
                                f"{policy.scheme} scheme")
    if person.benefit_class is None:
        raise NotFiled("no filing (备案) matches this visit and it is not an emergency: file "
                       "after the fact (补办) or claim manual reimbursement (手工报销)")
    if visit.institution_suspended:
        raise InstitutionSuspended("the institution is suspended from cross-province direct "
                                   "settlement")
    if not visit.lines:
        raise InvalidInput("visit.items", "a visit needs at least one fee line")
    benefit = policy.benefit(visit.type)
    if visit.type == "chronic":
        if visit.disease is None:
            raise InvalidInput("visit.disease", "a chronic visit must name its disease code")
        if visit.disease not in benefit.diseases:
            raise ChronicDiseaseNotCovered(f"{visit.disease} is not a 门诊慢特病 of {policy.id}")
        if visit.disease not in person.chronic_certified:
            raise ChronicNotCertified(f"the person is not certified for {visit.disease} at the "
                                      "insured place")
        if not visit.disease_opened:
            raise ChronicNotOpened(f"the institution has not opened {visit.disease}")
    return benefit, person.benefit_class


def _cap_left(policy: ParameterSet, person: Person, visit: Visit, acc: Accumulators,
              year: str) -> tuple[int | None, str, str | None]:
    """S5.2: what the applicable caps leave (None = unlimited), which cap binds, chronic period."""
    benefit = policy.benefits[visit.type]
    left: int | None = None
    code = "pool.capped.group"
    group = benefit.cap_group
    table = policy.caps.get(group) if group is not None else None
    if group is not None and table is not None:
        cap = table.lookup(person.category, visit.level, person.contribution_tier)
        left = max(0, cap - acc.get("pool_paid", group))
    period = None
    if visit.type == "chronic" and visit.disease is not None:
        quota = benefit.diseases[visit.disease]
        period = visit.setl_date.strftime("%Y-%m") if quota.period == "month" else year
        if quota.cap is not None:
            disease_left = max(0, quota.cap - acc.get("chronic_paid", visit.disease, period))
            if left is None or disease_left < left:
                left, code = disease_left, "pool.capped.disease"
    return left, code, period


def _tier_for(policy: ParameterSet, person: Person, name: str,
              visit_type: str) -> tuple[BandTier | None, str]:
    """The tier's rule if configured, applicable to the visit type and the person qualifies (S6);
    otherwise None and why not."""
    if name == "maf":
        if not policy.maf:
            return None, "not_configured"
        tier = policy.maf.get(person.maf_category) if person.maf_category else None
    else:
        if name not in policy.tiers:
            return None, "not_configured"
        tier = policy.tiers[name] if name != "cvlserv" or person.cvlserv else None
    if tier is None:
        return None, "not_qualified"
    if visit_type not in tier.applies_to:
        return None, "not_applicable"
    return tier, ""


def _pay_bands(tier: BandTier, base: int, paid: int, x: int, name: str,
               steps: list[Step]) -> int:
    """Band(tier, x): pay each band's ratio on the part of [base, base+x] inside it, then cap."""
    parts = segments(tier.bands, tier.deductible, base, x)
    pay = rounded(exact_sum(parts))
    code = f"tier.{name}.paid" if pay else f"tier.{name}.below_deductible"
    if tier.cap is not None and pay > max(0, tier.cap - paid):
        pay = max(0, tier.cap - paid)
        code = f"tier.{name}.capped"
    steps.append(Step(code, f"S6 {name} pays by bands over the yearly base",
                      {"x": x, "base_before": base, "deductible": tier.deductible,
                       "segments": _segments_doc(parts), "cap": tier.cap, "paid_before": paid,
                       "pay": pay}))
    return pay


def _segments_doc(parts: list[Segment]) -> list[dict[str, object]]:
    return [{"from": p.start, "to": p.end, "ratio": str(p.ratio)} for p in parts if p.width]


def _bands_doc(bands: tuple[Band, ...]) -> list[dict[str, object]]:
    return [{"upto": b.upto, "ratio": str(b.ratio)} for b in bands]
