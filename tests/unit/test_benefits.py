"""Behaviours of the benefits engine (domain.md §4 S0–S9) on small inline parameter documents.

Every expected number is derived by hand from domain.md's rules; the comment above each test
shows the arithmetic. Amounts are fen.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from medsettle.core import explain
from medsettle.core.accumulators import Accumulators, without_zeros
from medsettle.core.benefits import Person, Settlement, Visit, reverse, settle
from medsettle.core.errors import (
    ChronicDiseaseNotCovered,
    ChronicNotCertified,
    ChronicNotOpened,
    InstitutionSuspended,
    InvalidInput,
    MedSettleError,
    NotFiled,
    PolicyNotInForce,
    ReversalError,
    UnsupportedScheme,
)
from medsettle.core.lines import FeeLine
from medsettle.core.policy import ParameterSet, parse_parameter_set

ON = date(2025, 6, 15)

BASE: dict[str, Any] = {
    "id": "t-employee-2025", "insu_admdvs": "330100", "scheme": "employee",
    "valid_from": "2025-01-01", "valid_until": "2026-01-01", "year_start": "01-01",
    "provenance": {"*": {"status": "illustrative", "note": "unit-test fixture"}},
    "benefits": {
        "inpatient": {"deductible": {"mode": "per_visit",
                                     "amount": {"L1": 30000, "L2": 50000, "L3": 80000},
                                     "repeat_factors": ["1", "0.5", "0"]},
                      "ratio": {"L1": "0.90", "L2": "0.85", "L3": "0.80"},
                      "cap_group": "main"},
        "outpatient": {"deductible": {"mode": "annual", "amount": 20000}, "ratio": "0.60",
                       "cap_group": "outpatient"},
        "chronic": {"deductible": {"mode": "annual", "amount": 0}, "ratio": "0.90",
                    "cap_group": "main",
                    "diseases": {"M07803": {"cap": 600000, "cap_period": "month"},
                                 "M03900": {"cap": 300000}}},
    },
    "caps": {"main": 40000000, "outpatient": 200000},
    "temp_reduction": {"mode": "points",
                       "points": {"referral": 10, "emergency": 10, "other_temp": 20}},
}

EXTRA_MODE = {"mode": "extra_preselfpay",
              "extra_preselfpay": {"referral": "0.10", "emergency": "0.10",
                                   "other_temp": "0.20", "long_term_return": "0.10"}}
CVLSERV = {"applies_to": ["inpatient"], "deductible": 0,
           "bands": [{"upto": None, "ratio": "0.50"}], "cap": 2000000}
MAF = {"applies_to": ["inpatient"],
       "categories": {"dibao": {"deductible": 0, "bands": [{"upto": None, "ratio": "0.70"}],
                                "cap": 3000000},
                      "tekun": {"bands": [{"upto": None, "ratio": "0.90"}], "cap": 100000}}}


def policy(**top: object) -> ParameterSet:
    """BASE with some top-level keys replaced."""
    doc = copy.deepcopy(BASE)
    doc.update(copy.deepcopy(top))
    return parse_parameter_set(doc, "test.yaml")


def person(benefit_class: str | None = "long_term", *, acc: dict[Any, int] | None = None,
           **kw: Any) -> Person:
    """An active employee with a long-term filing unless told otherwise."""
    kw.setdefault("scheme", "employee")
    kw.setdefault("category", "active")
    return Person(benefit_class=benefit_class, acc=Accumulators(dict(acc or {})), **kw)


def line(cls: str, pric: str, cnt: str = "1", *, prop: str | None = None,
         cap: str | None = None, ok: bool = True) -> FeeLine:
    return FeeLine(cls=cls,  # type: ignore[arg-type]
                   price=Decimal(pric), count=Decimal(cnt),
                   selfpay_prop=Decimal(prop or "0"),
                   cap_price=None if cap is None else Decimal(cap), restricted_ok=ok)


def visit(*lines: FeeLine, type: str = "inpatient", level: str = "L3", on: date = ON,
          **kw: Any) -> Visit:
    return Visit(type=type, level=level, setl_date=on, lines=lines, **kw)  # type: ignore[arg-type]


#: One 甲 line of ¥10,000 (1,000,000 fen): at L3 deductible 80,000, E 920,000, ratio 0.80.
TEN_THOUSAND = line("A", "10000.00")


def codes(s: Settlement) -> list[str]:
    return [step.code for step in s.steps]


# --- S3 deductible -------------------------------------------------------------------------


# n = visits + 1; due = R(80,000 × factor[min(n, 3) − 1]); hifp = R((1,000,000 − due) × 0.80).
@pytest.mark.parametrize(("visits_before", "due", "hifp"), [
    (0, 80000, 736000),   # 1st stay: factor 1 → E 920,000 → 736,000
    (1, 40000, 768000),   # 2nd stay: factor 0.5 → E 960,000 → 768,000
    (2, 0, 800000),       # 3rd stay: factor 0 → E 1,000,000 → 800,000
    (3, 0, 800000),       # 4th stay: the last factor (0) repeats
])
def test_per_visit_deductible_follows_the_repeat_factors_stay_by_stay(
        visits_before: int, due: int, hifp: int) -> None:
    s = settle(policy(), person(acc={("visits", "inpatient"): visits_before}),
               visit(TEN_THOUSAND))
    assert s.deductible_due == due
    assert s.amounts.act_pay_dedc == due
    assert s.amounts.hifp_pay == hifp
    assert s.acc_after.get("visits", "inpatient") == visits_before + 1
    assert s.acc_after.get("dedc_paid", "inpatient") == due


# annual 20,000 with 5,000 met → due 15,000; 甲 ¥300 = 30,000 in scope; dedc 15,000;
# E 15,000 × 0.60 = 9,000; pps 6,000.
def test_an_annual_deductible_partly_met_charges_only_what_is_left() -> None:
    s = settle(policy(), person(acc={("dedc_paid", "outpatient"): 5000}),
               visit(line("A", "300.00"), type="outpatient", level="L2"))
    assert s.deductible_due == 15000
    assert (s.amounts.act_pay_dedc, s.amounts.hifp_pay, s.amounts.pool_prop_selfpay) == (
        15000, 9000, 6000)
    assert s.acc_after.get("dedc_paid", "outpatient") == 20000
    assert s.acc_after.get("pool_paid", "outpatient") == 9000


# due 20,000 but only 甲 ¥50 = 5,000 in scope (丙 ¥100 = 10,000 is self-paid):
# act_pay_dedc = min(5,000, 20,000) = 5,000; E 0 → hifp 0; psn = 15,000.
def test_the_deductible_paid_is_limited_by_a_small_in_scope_amount() -> None:
    s = settle(policy(), person(),
               visit(line("A", "50.00"), line("C", "100.00"), type="outpatient", level="L2"))
    assert s.deductible_due == 20000
    assert s.amounts.act_pay_dedc == 5000
    assert (s.amounts.hifp_pay, s.amounts.pool_prop_selfpay) == (0, 0)
    assert s.amounts.psn_part_amt == 15000
    assert s.acc_after.get("dedc_paid", "outpatient") == 5000


# dedc_level L1 → deductible 30,000; the ratio still follows level L3 (0.80):
# E 970,000 × 0.80 = 776,000.
def test_the_deductible_level_may_differ_from_the_ratio_level() -> None:
    s = settle(policy(), person(), visit(TEN_THOUSAND, level="L3", dedc_level="L1"))
    assert s.amounts.act_pay_dedc == 30000
    assert s.ratio == Decimal("0.80")
    assert s.amounts.hifp_pay == 776000
    step = next(st for st in s.steps if st.code.startswith("deductible."))
    assert step.values["level"] == "L1"


# --- S4 ratio ------------------------------------------------------------------------------


# r = 0.80; r′ = r − points/100; hifp = R(920,000 × r′).
@pytest.mark.parametrize(("benefit_class", "ratio", "hifp", "code"), [
    ("long_term", "0.80", 736000, "ratio.base"),
    ("long_term_return", "0.80", 736000, "ratio.base"),  # no points configured for it
    ("referral", "0.70", 644000, "ratio.reduced"),
    ("emergency", "0.70", 644000, "ratio.reduced"),
    ("other_temp", "0.60", 552000, "ratio.reduced"),
])
def test_points_cut_the_ratio_of_temporary_travellers_but_not_of_long_term_filers(
        benefit_class: str, ratio: str, hifp: int, code: str) -> None:
    s = settle(policy(), person(benefit_class), visit(TEN_THOUSAND))
    assert s.benefit_class == benefit_class
    assert s.ratio == Decimal(ratio)
    assert s.amounts.hifp_pay == hifp
    assert code in codes(s)
    assert codes(s)[0] == f"class.{benefit_class}"


# Jiangxi-style extra 先行自付, ratio not cut (0.80). Lines: 甲 ¥1000 (100,000) and
# 乙 ¥33.33 × 3 = 9,999 with prop 0.15 → pre R(1,499.85) = 1,500.
#  x = 0.20: 甲 pre R(100,000×0.2) = 20,000; 乙 pre 1,500 + R(8,499×0.2 = 1,699.8) = 3,200.
#            pre 23,200; inscp 80,000 + 6,799 = 86,799; E 6,799; hifp R(5,439.2) = 5,439.
#  x = 0.10: 甲 pre 10,000; 乙 pre 1,500 + R(849.9) = 2,350; pre 12,350; inscp 97,649;
#            E 17,649; hifp R(14,119.2) = 14,119.
#  x = 0:    pre 1,500; inscp 108,499; E 28,499; hifp R(22,799.2) = 22,799.
@pytest.mark.parametrize(("benefit_class", "line_pre", "pre", "inscp", "hifp"), [
    ("other_temp", [20000, 3200], 23200, 86799, 5439),
    ("referral", [10000, 2350], 12350, 97649, 14119),
    ("long_term_return", [10000, 2350], 12350, 97649, 14119),
    ("long_term", [0, 1500], 1500, 108499, 22799),
])
def test_extra_preselfpay_adds_a_share_per_line_and_keeps_the_ratio(
        benefit_class: str, line_pre: list[int], pre: int, inscp: int, hifp: int) -> None:
    s = settle(policy(temp_reduction=EXTRA_MODE), person(benefit_class),
               visit(line("A", "1000.00"), line("B", "33.33", "3", prop="0.15")))
    assert [p.pre for p in s.lines] == line_pre
    a = s.amounts
    assert a.medfee_sumamt == 109999
    assert (a.preselfpay_amt, a.inscp_scp_amt, a.act_pay_dedc) == (pre, inscp, 80000)
    assert s.ratio == Decimal("0.80")
    assert a.hifp_pay == hifp
    assert a.pool_prop_selfpay == inscp - 80000 - hifp
    assert a.psn_part_amt == 109999 - hifp
    extra_reason = "line.extra_preselfpay" in s.lines[1].reasons
    assert extra_reason is (benefit_class != "long_term")


# --- S1 lines ------------------------------------------------------------------------------


# 丙 ¥150 × 2 with cap ¥100: full = amt = 30,000, over 0 (the cap is ignored).
def test_a_class_c_line_ignores_its_price_cap() -> None:
    s = settle(policy(), person(), visit(line("C", "150.00", "2", cap="100.00")))
    assert (s.lines[0].full, s.lines[0].over, s.lines[0].inscp) == (30000, 0, 0)
    a = s.amounts
    assert (a.fulamt_ownpay_amt, a.overlmt_selfpay, a.inscp_scp_amt) == (30000, 0, 0)
    assert (a.act_pay_dedc, a.hifp_pay, a.psn_part_amt) == (0, 0, 30000)


# 甲 ¥200 failing its restriction → full 20,000; 甲 ¥1000 → inscp 100,000;
# dedc 80,000; E 20,000 → hifp 16,000; psn = 20,000 + 80,000 + 4,000 = 104,000.
def test_a_failed_restriction_makes_a_class_a_line_fully_self_paid() -> None:
    s = settle(policy(), person(), visit(line("A", "200.00", ok=False), line("A", "1000.00")))
    assert s.lines[0].full == 20000
    assert s.lines[0].reasons == ("line.restriction_not_met",)
    a = s.amounts
    assert (a.medfee_sumamt, a.fulamt_ownpay_amt, a.inscp_scp_amt) == (120000, 20000, 100000)
    assert (a.hifp_pay, a.psn_part_amt) == (16000, 104000)


# --- S8 personal account -------------------------------------------------------------------

# Outpatient, deductible already met. 甲 ¥100 = 10,000; 丙 ¥45 = 4,500;
# 乙 ¥52 × 3 = 15,600 capped at ¥50 → allowed 15,000, over 600, pre 1,500, inscp 13,500.
# medfee 30,100; inscp 23,500; E 23,500 × 0.60 = 14,100; psn 16,000.
# inscope_only payable = 16,000 − 4,500 − 600 = 10,900; all: 16,000.
ACCOUNT_LINES = (line("A", "100.00"), line("C", "45.00"),
                 line("B", "52.00", "3", prop="0.10", cap="50.00"))


@pytest.mark.parametrize(("scope", "balance", "acct", "cash"), [
    ("inscope_only", 100000, 10900, 5100),
    ("all", 100000, 16000, 0),
    ("inscope_only", 3000, 3000, 13000),
    ("all", 3000, 3000, 13000),
])
def test_the_account_pays_its_scope_up_to_the_balance(scope: str, balance: int, acct: int,
                                                      cash: int) -> None:
    s = settle(policy(account={"scope": scope}),
               person(use_acct=True, acc={("dedc_paid", "outpatient"): 20000,
                                          ("acct_balance",): balance}),
               visit(*ACCOUNT_LINES, type="outpatient", level="L2"))
    a = s.amounts
    assert (a.medfee_sumamt, a.overlmt_selfpay, a.inscp_scp_amt) == (30100, 600, 23500)
    assert (a.hifp_pay, a.psn_part_amt) == (14100, 16000)
    assert (a.acct_pay, a.psn_cash_pay) == (acct, cash)
    assert s.acc_after.get("acct_balance") == balance - acct
    assert "account.used" in codes(s)


def test_an_employee_who_does_not_use_the_account_pays_all_in_cash() -> None:
    s = settle(policy(), person(use_acct=False, acc={("dedc_paid", "outpatient"): 20000,
                                                     ("acct_balance",): 100000}),
               visit(*ACCOUNT_LINES, type="outpatient", level="L2"))
    assert (s.amounts.acct_pay, s.amounts.psn_cash_pay) == (0, 16000)
    assert s.acc_after.get("acct_balance") == 100000


# Same bill under a resident policy (same numbers): psn 16,000, all cash, balance untouched.
def test_a_resident_never_uses_the_account() -> None:
    resident_policy = policy(scheme="resident", id="t-resident-2025")
    s = settle(resident_policy,
               person(scheme="resident", category="resident", use_acct=True,
                      acc={("dedc_paid", "outpatient"): 20000, ("acct_balance",): 100000}),
               visit(*ACCOUNT_LINES, type="outpatient", level="L2"))
    assert (s.amounts.psn_part_amt, s.amounts.acct_pay, s.amounts.psn_cash_pay) == (
        16000, 0, 16000)
    assert s.acc_after.get("acct_balance") == 100000
    assert ("acct_balance",) not in s.delta
    assert "account.not_used" in codes(s)


# --- S6 tiers ------------------------------------------------------------------------------

# TEN_THOUSAND at L3: dedc 80,000; hifp 736,000; pps 184,000; B = 264,000.
# cvlserv: R(264,000 × 0.50) = 132,000 → fund 868,000, cash 132,000.
@pytest.mark.parametrize(("cvlserv", "pay", "code"), [
    (True, 132000, "tier.cvlserv.paid"),
    (False, 0, "tier.cvlserv.not_qualified"),
])
def test_the_civil_servant_subsidy_pays_only_for_a_civil_servant(cvlserv: bool, pay: int,
                                                                 code: str) -> None:
    s = settle(policy(tiers={"cvlserv": CVLSERV}), person(cvlserv=cvlserv), visit(TEN_THOUSAND))
    assert s.amounts.cvlserv_pay == pay
    assert s.amounts.fund_pay_sumamt == 736000 + pay
    assert s.amounts.psn_cash_pay == 264000 - pay
    assert code in codes(s)
    assert s.acc_after.get("tiers", "cvlserv", "paid") == pay


# B = 264,000. dibao: R(264,000 × 0.70) = 184,800 (cap 3,000,000 far away).
# tekun: R(264,000 × 0.90) = 237,600 > cap 100,000 → 100,000; base still grows by 264,000.
# Unlisted or no category: maf does not run.
@pytest.mark.parametrize(("category", "pay", "base", "code"), [
    ("dibao", 184800, 264000, "tier.maf.paid"),
    ("tekun", 100000, 264000, "tier.maf.capped"),
    ("orphan", 0, 0, "tier.maf.not_qualified"),
    (None, 0, 0, "tier.maf.not_qualified"),
])
def test_medical_assistance_pays_only_a_listed_category_within_its_cap(
        category: str | None, pay: int, base: int, code: str) -> None:
    s = settle(policy(tiers={"maf": MAF}), person(maf_category=category), visit(TEN_THOUSAND))
    assert s.amounts.maf_pay == pay
    assert s.amounts.psn_part_amt == 264000 - pay
    assert s.acc_after.get("tiers", "maf", "base") == base
    assert s.acc_after.get("tiers", "maf", "paid") == pay
    assert code in codes(s)


# hifmi 50% from 0, cap 1,000,000; before: base 1,800,000, paid 900,000. B = 264,000:
# exact 132,000 > cap − paid = 100,000 → pay 100,000; base += 264,000 (all of x).
def test_a_tier_cap_reached_mid_visit_pays_the_rest_of_the_cap_and_counts_all_of_x() -> None:
    hifmi = {"applies_to": ["inpatient"], "deductible": 0,
             "bands": [{"upto": None, "ratio": "0.50"}], "cap": 1000000}
    s = settle(policy(tiers={"hifmi": hifmi}),
               person(acc={("tiers", "hifmi", "base"): 1800000,
                           ("tiers", "hifmi", "paid"): 900000}),
               visit(TEN_THOUSAND))
    assert s.amounts.hifmi_pay == 100000
    assert s.acc_after.get("tiers", "hifmi", "base") == 2064000
    assert s.acc_after.get("tiers", "hifmi", "paid") == 1000000
    assert s.amounts.psn_part_amt == 164000
    assert "tier.hifmi.capped" in codes(s)


# hifmi from 100,000: 50% to 200,000, then 80%. Base 50,000 + x 264,000 = [50,000, 314,000]:
# [100,000, 200,000) × 0.5 = 50,000; [200,000, 314,000) × 0.8 = 91,200; pay 141,200.
def test_tier_bands_cut_the_yearly_base_at_the_deductible_and_each_upto() -> None:
    hifmi = {"applies_to": ["inpatient"], "deductible": 100000,
             "bands": [{"upto": 200000, "ratio": "0.50"}, {"upto": None, "ratio": "0.80"}]}
    s = settle(policy(tiers={"hifmi": hifmi}), person(acc={("tiers", "hifmi", "base"): 50000}),
               visit(TEN_THOUSAND))
    assert s.amounts.hifmi_pay == 141200
    step = next(st for st in s.steps if st.code == "tier.hifmi.paid")
    assert step.values["segments"] == [{"from": 100000, "to": 200000, "ratio": "0.50"},
                                       {"from": 200000, "to": 314000, "ratio": "0.80"}]


# main cap 1,000,000 with 500,000 used → cap_left 500,000 < raw 736,000 → hifp 500,000;
# E_over = 920,000 − R(500,000 / 0.80) = 920,000 − 625,000 = 295,000; pps 420,000;
# hifob R(295,000 × 0.85) = 250,750; psn = 80,000 + 420,000 − 250,750 = 249,250.
def test_past_the_pool_cap_the_large_amount_subsidy_pays_on_the_excess() -> None:
    s = settle(policy(caps={"main": 1000000, "outpatient": None},
                      tiers={"hifob": {"applies_to": ["inpatient"], "ratio": "0.85"}}),
               person(acc={("pool_paid", "main"): 500000}), visit(TEN_THOUSAND))
    a = s.amounts
    assert (a.hifp_pay, s.e_over, a.pool_prop_selfpay) == (500000, 295000, 420000)
    assert a.hifob_pay == 250750
    assert a.psn_part_amt == 249250
    assert s.acc_after.get("pool_paid", "main") == 1000000
    assert s.acc_after.get("tiers", "hifob", "base") == 295000
    assert "pool.capped.group" in codes(s)


# --- S5 chronic quota and the medical year --------------------------------------------------

# chronic 甲 ¥1000 = 100,000; deductible 0; ratio 0.90 → hifp 90,000.
@pytest.mark.parametrize(("disease", "period"), [("M07803", "2025-03"), ("M03900", "2025")])
def test_a_monthly_quota_counts_by_month_and_a_yearly_one_by_year(disease: str,
                                                                   period: str) -> None:
    s = settle(policy(), person(chronic_certified=frozenset({"M07803", "M03900"})),
               visit(line("A", "1000.00"), type="chronic", disease=disease,
                     on=date(2025, 3, 20)))
    assert s.amounts.hifp_pay == 90000
    assert s.delta[("chronic_paid", disease, period)] == 90000
    assert s.acc_after.get("chronic_paid", disease, period) == 90000
    assert s.acc_after.get("pool_paid", "main") == 90000


# M07803 quota 600,000 a month; March already 550,000 (February's 600,000 does not count):
# cap_left 50,000 < raw 90,000 → hifp 50,000; E_over = 100,000 − R(55,555.56) = 44,444.
def test_a_monthly_quota_nearly_used_caps_the_pool_for_that_month_only() -> None:
    s = settle(policy(), person(chronic_certified=frozenset({"M07803"}),
                                acc={("chronic_paid", "M07803", "2025-02"): 600000,
                                     ("chronic_paid", "M07803", "2025-03"): 550000}),
               visit(line("A", "1000.00"), type="chronic", disease="M07803",
                     on=date(2025, 3, 20)))
    assert (s.amounts.hifp_pay, s.e_over, s.amounts.pool_prop_selfpay) == (50000, 44444, 50000)
    assert s.acc_after.get("chronic_paid", "M07803", "2025-03") == 600000
    assert "pool.capped.disease" in codes(s)


@pytest.mark.parametrize(("on", "year"), [(date(2025, 3, 1), "2024"),
                                          (date(2025, 6, 30), "2024"),
                                          (date(2025, 7, 1), "2025")])
def test_a_medical_year_starting_on_the_first_of_july_labels_spring_with_the_year_before(
        on: date, year: str) -> None:
    s = settle(policy(year_start="07-01"), person(chronic_certified=frozenset({"M03900"})),
               visit(line("A", "1000.00"), type="chronic", disease="M03900", on=on))
    assert s.medical_year == year
    assert s.delta[("chronic_paid", "M03900", year)] == 90000


# --- S0 preconditions ----------------------------------------------------------------------

CHRONIC: dict[str, Any] = {"type": "chronic", "disease": "M07803"}
S0 = [
    ("valid_until_is_exclusive", person(), visit(TEN_THOUSAND, on=date(2026, 1, 1)),
     PolicyNotInForce),
    ("before_valid_from", person(), visit(TEN_THOUSAND, on=date(2024, 12, 31)), PolicyNotInForce),
    ("resident_on_employee_policy", person(scheme="resident", category="resident"),
     visit(TEN_THOUSAND), UnsupportedScheme),
    ("no_benefit_class", person(None), visit(TEN_THOUSAND), NotFiled),
    ("institution_suspended", person(), visit(TEN_THOUSAND, institution_suspended=True),
     InstitutionSuspended),
    ("disease_not_listed", person(chronic_certified=frozenset({"M00503"})),
     visit(TEN_THOUSAND, type="chronic", disease="M00503"), ChronicDiseaseNotCovered),
    ("not_certified", person(), visit(TEN_THOUSAND, **CHRONIC), ChronicNotCertified),
    ("not_opened", person(chronic_certified=frozenset({"M07803"})),
     visit(TEN_THOUSAND, disease_opened=False, **CHRONIC), ChronicNotOpened),
    ("no_lines", person(), visit(), InvalidInput),
]


@pytest.mark.parametrize(("who", "what", "error"), [row[1:] for row in S0],
                         ids=[row[0] for row in S0])
def test_a_failed_precondition_raises_and_returns_nothing(who: Person, what: Visit,
                                                          error: type[MedSettleError]) -> None:
    result: list[Settlement] = []
    with pytest.raises(MedSettleError) as err:
        result.append(settle(policy(), who, what))
    assert type(err.value) is error
    assert result == []


def test_a_visit_without_lines_names_the_items_field() -> None:
    with pytest.raises(InvalidInput) as err:
        settle(policy(), person(), visit())
    assert err.value.field == "visit.items"


# --- Reversal ------------------------------------------------------------------------------


def test_settle_then_reverse_restores_accumulators_and_negates_every_amount() -> None:
    before = {("visits", "inpatient"): 1, ("acct_balance",): 50000}
    s = settle(policy(), person(use_acct=True, acc=before), visit(TEN_THOUSAND))
    # 2nd stay: dedc 40,000; hifp 768,000; psn 232,000; acct = min(50,000, 232,000) = 50,000.
    assert (s.amounts.act_pay_dedc, s.amounts.hifp_pay, s.amounts.acct_pay) == (
        40000, 768000, 50000)
    record, restored = reverse(s, s.acc_after)
    assert record.as_dict() == {k: -v for k, v in s.amounts.as_dict().items()}
    assert without_zeros(restored.values) == before


def test_reverse_refuses_accumulators_that_do_not_contain_the_settlement() -> None:
    s = settle(policy(), person(), visit(TEN_THOUSAND))
    with pytest.raises(ReversalError):
        reverse(s, Accumulators())
    _, restored = reverse(s, s.acc_after)
    with pytest.raises(ReversalError):  # a second reversal of the same settlement
        reverse(s, restored)


# --- Explanation ---------------------------------------------------------------------------

SCENARIOS = {
    "long_term_inpatient": lambda: settle(policy(), person(), visit(TEN_THOUSAND)),
    "other_temp_with_account": lambda: settle(
        policy(), person("other_temp", use_acct=True, acc={("acct_balance",): 1000}),
        visit(TEN_THOUSAND)),
    "capped_with_hifob": lambda: settle(
        policy(caps={"main": 1000000, "outpatient": None},
               tiers={"hifob": {"applies_to": ["inpatient"], "ratio": "0.85"}}),
        person(acc={("pool_paid", "main"): 500000}), visit(TEN_THOUSAND)),
    "chronic_quota": lambda: settle(
        policy(tiers={"cvlserv": CVLSERV, "maf": MAF}),
        person(chronic_certified=frozenset({"M07803"}), cvlserv=True, maf_category="dibao"),
        visit(line("A", "1000.00"), **CHRONIC)),
    "outpatient_all_tiers": lambda: settle(
        policy(tiers={"cvlserv": CVLSERV, "maf": MAF}), person(cvlserv=True, maf_category="dibao"),
        visit(*ACCOUNT_LINES, type="outpatient", level="L2")),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_settlement_explains_itself_step_by_step_in_a_fixed_order(name: str) -> None:
    steps = codes(SCENARIOS[name]())
    families = [code.split(".")[0] for code in steps]
    assert families == ["class", "lines", "deductible", "ratio", "pool",
                        "tier", "tier", "tier", "tier", "account", "totals"]
    assert steps[1] == "lines.totals"
    assert steps[-1] == "totals"
    assert [code.split(".")[1] for code in steps[5:9]] == ["hifmi", "hifob", "cvlserv", "maf"]


def test_fund_reasons_name_the_deciding_step_for_every_fund() -> None:
    s = settle(policy(tiers={"cvlserv": CVLSERV}), person(cvlserv=True), visit(TEN_THOUSAND))
    assert explain.fund_reasons(s) == {
        "hifp": "pool.paid", "hifmi": "tier.hifmi.not_configured",
        "hifob": "tier.hifob.not_configured", "cvlserv": "tier.cvlserv.paid",
        "maf": "tier.maf.not_configured", "acct": "account.not_used"}


# cash = 264,000 − 132,000 = 132,000 fen → ¥1320.00; pool 736,000 → ¥7360.00.
def test_the_statement_shows_the_cash_amount_in_yuan() -> None:
    s = settle(policy(tiers={"cvlserv": CVLSERV}), person(cvlserv=True), visit(TEN_THOUSAND))
    assert s.amounts.psn_cash_pay == 132000
    text = explain.statement(s, title="T1")
    assert "¥1320.00" in text
    assert "¥7360.00" in text
    assert "T1" in text.splitlines()[0]


# 甲 ¥120 × 10 = 120,000; 乙 ¥12,800 capped at ¥10,000, prop 0.20 → over 280,000, pre 200,000,
# inscp 800,000; 丙 ¥1,500 = 150,000; not listed ¥30 = 3,000; 甲 failing a restriction ¥50 = 5,000.
def test_line_explanations_give_each_line_its_amounts_and_reason_codes() -> None:
    s = settle(policy(), person(), visit(
        line("A", "120.00", "10"), line("B", "12800.00", prop="0.20", cap="10000.00"),
        line("C", "1500.00"), line("none", "30.00"), line("A", "50.00", ok=False)))
    rows = explain.line_explanations(s)
    assert [[r["code"] for r in row["reasons"]] for row in rows] == [  # type: ignore[attr-defined]
        ["line.class_a.in_scope"],
        ["line.class_b.preselfpay", "line.over_price_cap"],
        ["line.class_c.self_paid"],
        ["line.not_in_catalogue"],
        ["line.restriction_not_met"],
    ]
    assert [row["line"] for row in rows] == [1, 2, 3, 4, 5]
    assert (rows[1]["amt"], rows[1]["overlmt_selfpay"], rows[1]["preselfpay_amt"],
            rows[1]["inscp_scp_amt"]) == (1280000, 280000, 200000, 800000)
    assert [row["fulamt_ownpay_amt"] for row in rows] == [0, 0, 150000, 3000, 5000]
    assert all(r["text"] for row in rows for r in row["reasons"])  # type: ignore[attr-defined]
