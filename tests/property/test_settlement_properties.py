"""Invariants of domain.md §4 for random policies, people and bills (hypothesis)."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from medsettle.core.accumulators import Accumulators, without_zeros
from medsettle.core.benefits import Person, Settlement, Visit, reverse, settle
from medsettle.core.lines import FeeLine
from medsettle.core.money import apply_ratio
from medsettle.core.policy import ParameterSet, parse_parameter_set

ON = date(2025, 6, 15)
ratios = st.integers(0, 100).map(lambda p: f"{p / 100:.2f}")


@st.composite
def band_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    """An amount-banded pool ratio (分段报销): 1–4 bands, edges strictly increasing, last open."""
    edges = sorted(set(draw(st.lists(st.integers(1, 20_000_000), max_size=3))))
    return [{"upto": upto, "ratio": draw(ratios)} for upto in [*edges, None]]


pool_ratios = ratios | band_lists()


@st.composite
def policies(draw: st.DrawFn) -> ParameterSet:
    """A random but valid employee parameter set with every tier."""
    upto1 = draw(st.integers(1, 5_000_000))
    deductible_tier = draw(st.integers(0, upto1 - 1))
    large = draw(st.sampled_from(["hifmi", "hifob"]))
    tiers: dict[str, Any] = {
        "cvlserv": {"applies_to": ["inpatient", "chronic"], "deductible": 0,
                    "bands": [{"upto": None, "ratio": draw(ratios)}],
                    "cap": draw(st.integers(0, 3_000_000))},
        "maf": {"applies_to": ["inpatient", "chronic", "outpatient"],
                "categories": {"dibao": {"deductible": draw(st.integers(0, 100_000)),
                                         "bands": [{"upto": None, "ratio": draw(ratios)}],
                                         "cap": draw(st.integers(0, 3_000_000))}}},
    }
    if large == "hifmi":
        tiers["hifmi"] = {"applies_to": ["inpatient", "chronic"], "deductible": deductible_tier,
                          "bands": [{"upto": upto1, "ratio": draw(ratios)},
                                    {"upto": None, "ratio": draw(ratios)}],
                          "cap": draw(st.none() | st.integers(0, 60_000_000))}
    else:
        tiers["hifob"] = {"applies_to": ["inpatient"], "ratio": draw(ratios),
                          "cap": draw(st.none() | st.integers(0, 40_000_000))}
    doc = {
        "id": "prop", "insu_admdvs": "330100", "scheme": "employee", "valid_from": "2025-01-01",
        "provenance": {"*": {"status": "illustrative", "note": "property test"}},
        "benefits": {
            "inpatient": {"deductible": {"mode": "per_visit",
                                         "amount": draw(st.integers(0, 200_000)),
                                         "repeat_factors": ["1", "0.5", "0"]},
                          "ratio": draw(pool_ratios), "cap_group": "main",
                          "ratio_basis": draw(st.sampled_from(["visit", "year"]))},
            "outpatient": {"deductible": {"mode": "annual", "amount": draw(st.integers(0, 50_000))},
                           "ratio": draw(pool_ratios), "cap_group": "outpatient",
                           "ratio_basis": draw(st.sampled_from(["visit", "year"]))},
            "chronic": {"deductible": {"mode": "annual", "amount": 0}, "ratio": draw(pool_ratios),
                        "cap_group": "main",
                        "diseases": {"M07803": {"cap": draw(st.integers(0, 1_000_000)),
                                                "cap_period": "month"}}},
        },
        "caps": {"main": draw(st.integers(0, 50_000_000)),
                 "outpatient": draw(st.none() | st.integers(0, 500_000))},
        "temp_reduction": {"mode": "points",
                           "points": {"other_temp": draw(st.integers(0, 20))}},
        "tiers": tiers,
        "account": {"scope": draw(st.sampled_from(["inscope_only", "all"]))},
    }
    return parse_parameter_set(doc, "property")


fee_lines = st.builds(
    FeeLine,
    cls=st.sampled_from(["A", "B", "C", "none"]),
    price=st.integers(0, 5_000_000).map(lambda c: Decimal(c) / 100),
    count=st.integers(1, 400).map(lambda c: Decimal(c) / 4),
    selfpay_prop=st.integers(0, 30).map(lambda p: Decimal(p) / 100),
    cap_price=st.none() | st.integers(0, 5_000_000).map(lambda c: Decimal(c) / 100),
    restricted_ok=st.booleans(),
)


@st.composite
def accumulators(draw: st.DrawFn) -> Accumulators:
    return Accumulators({
        ("visits", "inpatient"): draw(st.integers(0, 3)),
        ("dedc_paid", "outpatient"): draw(st.integers(0, 60_000)),
        ("pool_paid", "main"): draw(st.integers(0, 50_000_000)),
        ("pool_paid", "outpatient"): draw(st.integers(0, 500_000)),
        ("pool_base", "main"): draw(st.integers(0, 30_000_000)),
        ("pool_base", "outpatient"): draw(st.integers(0, 1_000_000)),
        ("chronic_paid", "M07803", "2025-06"): draw(st.integers(0, 1_000_000)),
        ("tiers", "hifmi", "base"): draw(st.integers(0, 10_000_000)),
        ("tiers", "hifmi", "paid"): draw(st.integers(0, 1_000_000)),
        ("tiers", "hifob", "base"): draw(st.integers(0, 10_000_000)),
        ("tiers", "hifob", "paid"): draw(st.integers(0, 1_000_000)),
        ("acct_balance",): draw(st.integers(0, 1_000_000)),
    })


@st.composite
def people(draw: st.DrawFn) -> Person:
    return Person(scheme="employee", category=draw(st.sampled_from(["active", "retired"])),
                  benefit_class=draw(st.sampled_from(["long_term", "other_temp"])),
                  acc=draw(accumulators()), cvlserv=draw(st.booleans()),
                  maf_category=draw(st.sampled_from([None, "dibao"])),
                  chronic_certified=frozenset({"M07803"}), use_acct=draw(st.booleans()))


@st.composite
def visits(draw: st.DrawFn, lines: Any = None) -> Visit:
    vtype = draw(st.sampled_from(["inpatient", "outpatient", "chronic"]))
    return Visit(type=vtype, level=draw(st.sampled_from(["L0", "L1", "L2", "L3"])), setl_date=ON,
                 lines=tuple(draw(lines or st.lists(fee_lines, min_size=1, max_size=12))),
                 disease="M07803" if vtype == "chronic" else None)


def check_invariants(s: Settlement) -> None:
    a = s.amounts
    assert a.medfee_sumamt == a.fulamt_ownpay_amt + a.overlmt_selfpay + a.preselfpay_amt \
        + a.inscp_scp_amt
    assert a.inscp_scp_amt == a.act_pay_dedc + a.hifp_pay + a.pool_prop_selfpay
    assert a.fund_pay_sumamt == a.hifp_pay + a.hifmi_pay + a.hifob_pay + a.cvlserv_pay + a.maf_pay
    assert a.medfee_sumamt == a.fund_pay_sumamt + a.psn_part_amt
    assert a.psn_part_amt == a.acct_pay + a.psn_cash_pay
    assert all(value >= 0 for value in a.as_dict().values()), a
    assert a.hifmi_pay + a.hifob_pay + a.cvlserv_pay + a.maf_pay <= a.act_pay_dedc \
        + a.pool_prop_selfpay
    assert s.acc_after.get("acct_balance") >= 0


def caps_respected(policy: ParameterSet, person: Person, visit: Visit, before: Accumulators,
                   after: Accumulators) -> None:
    """No fund's paid accumulator rises past its cap (if it was within it before)."""
    main = policy.caps["main"]
    assert main is not None
    cap = main.lookup(person.category, visit.level)
    if before.get("pool_paid", "main") <= cap:
        assert after.get("pool_paid", "main") <= cap
    out_cap = policy.caps["outpatient"]
    if out_cap is not None:
        limit = out_cap.lookup(person.category, visit.level)
        if before.get("pool_paid", "outpatient") <= limit:
            assert after.get("pool_paid", "outpatient") <= limit
    quota = policy.benefits["chronic"].diseases["M07803"].cap
    assert quota is not None
    if before.get("chronic_paid", "M07803", "2025-06") <= quota:
        assert after.get("chronic_paid", "M07803", "2025-06") <= quota
    for name, tier in policy.tiers.items():
        if tier.cap is not None and before.get("tiers", name, "paid") <= tier.cap:
            assert after.get("tiers", name, "paid") <= tier.cap


@settings(max_examples=300, deadline=None)
@given(policies(), people(), visits())
def test_every_settlement_balances_and_no_amount_is_negative(policy: ParameterSet, person: Person,
                                                             visit: Visit) -> None:
    check_invariants(settle(policy, person, visit))


@settings(max_examples=300, deadline=None)
@given(policies(), people(), visits())
def test_no_fund_pays_past_its_cap(policy: ParameterSet, person: Person, visit: Visit) -> None:
    s = settle(policy, person, visit)
    caps_respected(policy, person, visit, person.acc, s.acc_after)


@settings(max_examples=300, deadline=None)
@given(policies(), people(), visits())
def test_settle_then_reverse_restores_every_accumulator(policy: ParameterSet, person: Person,
                                                        visit: Visit) -> None:
    s = settle(policy, person, visit)
    record, restored = reverse(s, s.acc_after)
    assert without_zeros(restored.values) == without_zeros(person.acc.values)
    assert all(r == -v for r, v in zip(record.as_dict().values(), s.amounts.as_dict().values(), strict=True))


@settings(max_examples=300, deadline=None)
@given(policies(), people(), visits(), st.integers(1, 11))
def test_splitting_a_bill_never_lets_a_fund_pay_past_its_cap(policy: ParameterSet, person: Person,
                                                             visit: Visit, cut: int) -> None:
    if len(visit.lines) < 2:
        visit = Visit(visit.type, visit.level, visit.setl_date, tuple(visit.lines) * 2,
                      visit.disease)
    cut = min(cut, len(visit.lines) - 1)
    first = Visit(visit.type, visit.level, ON, visit.lines[:cut], visit.disease)
    second = Visit(visit.type, visit.level, ON, visit.lines[cut:], visit.disease)
    s1 = settle(policy, person, first)
    s2 = settle(policy, Person(person.scheme, person.category, person.benefit_class,
                               s1.acc_after, person.cvlserv, person.maf_category,
                               person.chronic_certified, person.use_acct), second)
    check_invariants(s1)
    check_invariants(s2)
    caps_respected(policy, person, visit, person.acc, s2.acc_after)
    whole = settle(policy, person, visit)
    assert s1.amounts.medfee_sumamt + s2.amounts.medfee_sumamt == whole.amounts.medfee_sumamt


def _with_ratio(policy: ParameterSet, ratio: object, basis: str = "visit") -> ParameterSet:
    """The policy with every benefit's ratio TABLE replaced by `ratio` (and its basis)."""
    doc = copy.deepcopy(dict(policy.document))
    for benefit in doc["benefits"].values():
        benefit["ratio"] = copy.deepcopy(ratio)
        benefit["ratio_basis"] = basis
    return parse_parameter_set(doc, "property")


@settings(max_examples=300, deadline=None)
@given(policies(), people(), visits(), ratios, st.sampled_from(["visit", "year"]))
def test_a_single_band_pays_exactly_what_its_ratio_pays(policy: ParameterSet, person: Person,
                                                        visit: Visit, ratio: str,
                                                        basis: str) -> None:
    plain = settle(_with_ratio(policy, ratio), person, visit)
    banded = settle(_with_ratio(policy, [{"upto": None, "ratio": ratio}], basis), person, visit)
    assert banded.amounts == plain.amounts
    assert banded.e_over == plain.e_over and banded.ratio == plain.ratio
    extra = {path: v for path, v in banded.delta.items() if path[0] == "pool_base"}
    assert {p: v for p, v in banded.delta.items() if p[0] != "pool_base"} == dict(plain.delta)
    if basis == "year":
        eligible = plain.amounts.inscp_scp_amt - plain.amounts.act_pay_dedc
        assert list(extra.values()) == [eligible]
    else:
        assert extra == {}


@settings(max_examples=300, deadline=None)
@given(policies(), people(), visits(), band_lists())
def test_reversal_restores_the_yearly_eligible_base(policy: ParameterSet, person: Person,
                                                    visit: Visit, bands: list[Any]) -> None:
    yearly = _with_ratio(policy, bands, "year")
    s = settle(yearly, person, visit)
    group = yearly.benefits[visit.type].cap_group
    assert group is not None
    eligible = s.amounts.inscp_scp_amt - s.amounts.act_pay_dedc
    assert s.acc_after.get("pool_base", group) == person.acc.get("pool_base", group) + eligible
    _, restored = reverse(s, s.acc_after)
    assert restored.get("pool_base", group) == person.acc.get("pool_base", group)
    assert without_zeros(restored.values) == without_zeros(person.acc.values)


@settings(max_examples=300, deadline=None)
@given(policies(), people(), visits(), band_lists(), st.sampled_from(["visit", "year"]))
def test_bands_pay_between_their_lowest_and_highest_ratio(policy: ParameterSet, person: Person,
                                                          visit: Visit, bands: list[Any],
                                                          basis: str) -> None:
    s = settle(_with_ratio(policy, bands, basis), person, visit)
    check_invariants(s)
    eligible = s.amounts.inscp_scp_amt - s.amounts.act_pay_dedc
    low = min(b.ratio for b in s.ratio_bands)
    high = max(b.ratio for b in s.ratio_bands)
    assert s.amounts.hifp_pay <= apply_ratio(eligible, high)
    if s.e_over == 0 and not any(step.code.startswith("pool.capped") for step in s.steps):
        assert s.amounts.hifp_pay >= apply_ratio(eligible, low)
    assert 0 <= s.e_over <= eligible
