"""The treating place's catalogue (domain.md §7): classes, validity dates, restrictions, and the
fen split of a classified line (§4 S1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from medsettle.core.catalogue import Catalogue, LineContext, parse_entry
from medsettle.core.errors import InvalidInput
from medsettle.core.lines import FeeLine, price_line

ON = date(2025, 6, 15)
INPATIENT_L3 = LineContext(visit_type="inpatient", level="L3", sex="F", age=40)


def catalogue(*rows: dict[str, Any]) -> Catalogue:
    return Catalogue("310100", [parse_entry(row, f"entries[{i}]") for i, row in enumerate(rows)])


def classify(cat: Catalogue, code: str, *, on: date = ON, ctx: LineContext = INPATIENT_L3,
             price: str = "10.00", count: str = "1") -> FeeLine:
    return cat.classify(code, Decimal(price), Decimal(count), on, ctx)


def test_an_unknown_code_is_class_none_and_fully_self_paid_without_error() -> None:
    fee = classify(catalogue({"code": "X1", "chrgitm_lv": "01"}), "NOT-LISTED", price="25.00",
                   count="2")
    assert fee.cls == "none"
    priced = price_line(fee)
    # ¥25 × 2 = 5,000 fen, all self-paid.
    assert (priced.amt, priced.full, priced.inscp) == (5000, 5000, 0)
    assert priced.reasons == ("line.not_in_catalogue",)


@pytest.mark.parametrize(("level", "selfpay", "cls"), [
    ("01", None, "A"),
    ("02", "0.10", "B"),
    ("03", None, "C"),
    ("04", "0.20", "B"),   # 可报丙类 with a self-pay ratio is treated as 乙
    ("04", None, "C"),     # ... and without one as 丙
    ("04", "0", "C"),
])
def test_the_charge_level_decides_the_line_class(level: str, selfpay: str | None,
                                                 cls: str) -> None:
    row: dict[str, Any] = {"code": "K", "chrgitm_lv": level}
    if selfpay is not None:
        row["selfpay_prop"] = selfpay
    fee = classify(catalogue(row), "K")
    assert fee.cls == cls
    assert fee.selfpay_prop == Decimal(selfpay or "0")


@pytest.mark.parametrize(("on", "found"), [
    (date(2024, 12, 31), False),
    (date(2025, 1, 1), True),
    (date(2025, 6, 30), True),
    (date(2025, 7, 1), False),   # valid_until is exclusive
])
def test_an_entry_is_found_only_inside_its_validity_dates(on: date, found: bool) -> None:
    cat = catalogue({"code": "K", "chrgitm_lv": "01", "valid_from": "2025-01-01",
                     "valid_until": "2025-07-01"})
    assert (cat.entry("K", on) is not None) is found
    assert classify(cat, "K", on=on).cls == ("A" if found else "none")


@pytest.mark.parametrize("newest_first", [False, True])
def test_a_dated_replacement_takes_over_on_its_start_date(newest_first: bool) -> None:
    old = {"code": "K", "name": "old", "chrgitm_lv": "02", "selfpay_prop": "0.10",
           "valid_from": "2024-01-01", "valid_until": "2025-07-01"}
    new = {"code": "K", "name": "new", "chrgitm_lv": "01", "valid_from": "2025-07-01"}
    cat = catalogue(*([new, old] if newest_first else [old, new]))
    before = classify(cat, "K", on=date(2025, 6, 30))
    after = classify(cat, "K", on=date(2025, 7, 1))
    assert (before.cls, before.name, before.selfpay_prop) == ("B", "old", Decimal("0.10"))
    assert (after.cls, after.name, after.selfpay_prop) == ("A", "new", Decimal("0"))
    assert len(cat) == 2


RESTRICTIONS: list[tuple[str, dict[str, Any], LineContext, bool]] = [
    ("inpatient_only_met", {"visit_types": ["inpatient"]}, INPATIENT_L3, True),
    ("inpatient_only_failed_by_outpatient", {"visit_types": ["inpatient"]},
     LineContext("outpatient", "L3", "F", 40), False),
    ("min_level_met_exactly", {"min_level": "L2"}, LineContext("inpatient", "L2", "F", 40), True),
    ("min_level_failed", {"min_level": "L2"}, LineContext("inpatient", "L1", "F", 40), False),
    ("sex_met", {"sex": "F"}, INPATIENT_L3, True),
    ("sex_failed", {"sex": "M"}, INPATIENT_L3, False),
    ("min_age_met_on_the_day", {"min_age": 40}, INPATIENT_L3, True),
    ("min_age_failed", {"min_age": 41}, INPATIENT_L3, False),
    ("max_age_met_on_the_day", {"max_age": 40}, INPATIENT_L3, True),
    ("max_age_failed", {"max_age": 39}, INPATIENT_L3, False),
    ("every_condition_met", {"visit_types": ["inpatient", "chronic"], "min_level": "L3",
                             "sex": "F", "min_age": 18, "max_age": 65}, INPATIENT_L3, True),
]


@pytest.mark.parametrize(("restriction", "ctx", "ok"), [row[1:] for row in RESTRICTIONS],
                         ids=[row[0] for row in RESTRICTIONS])
def test_a_restriction_decides_whether_the_line_is_paid(restriction: dict[str, Any],
                                                        ctx: LineContext, ok: bool) -> None:
    cat = catalogue({"code": "K", "chrgitm_lv": "01", "restriction": restriction})
    fee = classify(cat, "K", ctx=ctx, price="100.00")
    assert fee.cls == "A"
    assert fee.restricted_ok is ok
    # ¥100 甲: in scope 10,000 when allowed, else fully self-paid 10,000.
    priced = price_line(fee)
    assert (priced.inscp, priced.full) == ((10000, 0) if ok else (0, 10000))


BAD_ENTRIES: list[tuple[dict[str, Any], str]] = [
    ({"chrgitm_lv": "05"}, "entries[0].chrgitm_lv"),
    ({"selfpay_prop": 0.1}, "entries[0].selfpay_prop"),
    ({"selfpay_prop": "1.2"}, "entries[0].selfpay_prop"),
    ({"lmt_pric": "abc"}, "entries[0].lmt_pric"),
    ({"lmt_pric": "-1"}, "entries[0].lmt_pric"),
    ({"valid_from": "x"}, "entries[0].valid_from"),
    ({"valid_until": "2025-02-30"}, "entries[0].valid_until"),
    ({"code": ""}, "entries[0].code"),
    ({"restriction": {"min_level": "L9"}}, "entries[0].restriction.min_level"),
    ({"restriction": {"visit_types": "inpatient"}}, "entries[0].restriction.visit_types"),
    ({"restriction": {"min_age": -1}}, "entries[0].restriction.min_age"),
    ({"restriction": {"max_age": "65"}}, "entries[0].restriction.max_age"),
    ({"restriction": "inpatient only"}, "entries[0].restriction"),
]


@pytest.mark.parametrize(("change", "field"), BAD_ENTRIES,
                         ids=[f"{next(iter(c))}={next(iter(c.values()))!r}" for c, _ in BAD_ENTRIES])
def test_a_bad_catalogue_entry_names_its_field(change: dict[str, Any], field: str) -> None:
    row = {"code": "K", "name": "k", "chrgitm_lv": "02", "selfpay_prop": "0.10"} | change
    with pytest.raises(InvalidInput) as err:
        parse_entry(row, "entries[0]")
    assert err.value.field == field


# 乙 ¥12,800 × 1 with cap ¥10,000 and prop 0.20 (domain.md §11 E4, line 4):
# amt 1,280,000; allowed 1,000,000; over 280,000; pre R(1,000,000 × 0.20) = 200,000;
# inscp 800,000.
def test_an_over_cap_class_b_line_splits_into_over_cap_preselfpay_and_in_scope_fen() -> None:
    cat = catalogue({"code": "C0101", "chrgitm_lv": "02", "selfpay_prop": "0.20",
                     "lmt_pric": "10000.00"})
    fee = classify(cat, "C0101", price="12800.00")
    assert (fee.cls, fee.cap_price) == ("B", Decimal("10000.00"))
    p = price_line(fee)
    assert (p.amt, p.allowed, p.over, p.pre, p.inscp, p.full) == (
        1280000, 1000000, 280000, 200000, 800000, 0)
    assert p.reasons == ("line.class_b.preselfpay", "line.over_price_cap")


# 乙 ¥9.99 × 2.5 under its cap ¥12: amt R(2,497.5) = 2,498 = allowed; pre R(2,498 × 0.15)
# = R(374.7) = 375; inscp 2,123; over 0.
def test_a_class_b_line_under_its_cap_has_nothing_over_cap() -> None:
    cat = catalogue({"code": "K", "chrgitm_lv": "02", "selfpay_prop": "0.15",
                     "lmt_pric": "12.00"})
    p = price_line(classify(cat, "K", price="9.99", count="2.5"))
    assert (p.amt, p.allowed, p.over, p.pre, p.inscp) == (2498, 2498, 0, 375, 2123)
    assert p.reasons == ("line.class_b.preselfpay",)
