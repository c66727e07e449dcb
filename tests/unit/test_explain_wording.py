"""The statement's sentences say what happened: 职工大额 paying nothing because the basic pool's
cap was not reached (not "has not passed its deductible ¥0.00"), a per-visit outpatient
deductible (not "this stay"), and a benefit class whose reduction may be an extra 先行自付
(Jiangxi) rather than a ratio cut."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from medsettle.adapters.files import load_policy_book
from medsettle.core.benefits import Person, Visit, settle
from medsettle.core.explain import statement, step_text
from medsettle.core.explain_zh import step_text_zh
from medsettle.core.lines import FeeLine
from medsettle.core.policy import PolicyBook

ON = date(2025, 6, 15)


@pytest.fixture(scope="module")
def book() -> PolicyBook:
    return load_policy_book()


def class_a(price: str) -> tuple[FeeLine, ...]:
    return (FeeLine(cls="A", price=Decimal(price), count=Decimal(1)),)


def employee(benefit_class: str) -> Person:
    return Person(scheme="employee", category="active", benefit_class=benefit_class)


def test_hifob_paying_nothing_below_the_pool_cap_is_not_blamed_on_a_deductible(
        book: PolicyBook) -> None:
    # Zhengzhou employee, L3, ¥10,000 甲: deductible 90,000, 910,000 × 0.86 = 782,600, under the
    # pool's cap, so nothing lies beyond it for 职工大额.
    done = settle(book.find("410100", "employee", ON), employee("long_term"),
                  Visit(type="inpatient", level="L3", setl_date=ON, lines=class_a("10000")))
    assert done.amounts.hifp_pay == 782600 and done.amounts.hifob_pay == 0
    text = statement(done)
    assert "has not passed its deductible" not in text
    assert "has not reached its annual cap: the large-amount subsidy" in text


def test_a_per_visit_outpatient_deductible_is_not_called_a_stay(book: PolicyBook) -> None:
    # Zhengzhou employee general outpatient: ¥40 a visit at L2.
    done = settle(book.find("410100", "employee", ON), employee("long_term"),
                  Visit(type="outpatient", level="L2", setl_date=ON, lines=class_a("100")))
    step = next(s for s in done.steps if s.code == "deductible.per_visit")
    assert done.amounts.act_pay_dedc == 4000
    assert "住院" not in step_text_zh(step) and "stay" not in step_text(step)


def test_jiangxi_temporary_trip_text_does_not_claim_a_ratio_cut(book: PolicyBook) -> None:
    # Jiangxi: an extra 20 % 先行自付 instead of a ratio cut (r′ = r = 0.85 at L3).
    done = settle(book.find("360000", "employee", ON), employee("other_temp"),
                  Visit(type="inpatient", level="L3", setl_date=ON, lines=class_a("10000")))
    assert done.ratio == Decimal("0.85") and done.amounts.preselfpay_amt == 200000
    assert "降低报销比例" not in step_text_zh(done.steps[0])
