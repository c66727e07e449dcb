from __future__ import annotations

from decimal import Decimal

import pytest

from medsettle.core.errors import InvalidInput, MoneyTypeError
from medsettle.core.money import (
    Money,
    apply_ratio,
    divide_by_ratio,
    fen_to_yuan,
    parse_decimal,
    parse_fen,
    parse_ratio,
    price_times_count,
    round_half_up,
    split,
    yuan_to_fen,
)


@pytest.mark.parametrize(("num", "den", "fen"), [
    (5, 10, 1), (4, 10, 0), (15, 10, 2), (25, 10, 3), (-5, 10, -1), (0, 7, 0), (1, 3, 0),
    (2, 3, 1), (116279070, 100, 1162791),
])
def test_rule_r_rounds_halves_up(num: int, den: int, fen: int) -> None:
    assert round_half_up(num, den) == fen


def test_apply_ratio_is_exact_where_floats_are_not() -> None:
    assert apply_ratio(4747209, Decimal("0.85")) == 4035128   # 4,035,127.65 rounds up
    assert apply_ratio(1272800, Decimal("0.84")) == 1069152
    assert apply_ratio(105, Decimal("0.5")) == 53              # 52.5 → 53, never banker's


def test_divide_by_ratio_gives_the_in_scope_amount_behind_a_capped_payment() -> None:
    assert divide_by_ratio(1000000, Decimal("0.86")) == 1162791


def test_price_times_count_in_fen() -> None:
    assert price_times_count(Decimal("35.50"), Decimal("20")) == 71000
    assert price_times_count(Decimal("0.333333"), Decimal("3")) == 100
    assert price_times_count(Decimal("12.005"), Decimal("1")) == 1201


@pytest.mark.parametrize(("value", "fen"), [("356.80", 35680), (356.8, 35680), (20, 2000),
                                            ("0.005", 1), ("-1.00", -100)])
def test_yuan_to_fen_reads_strings_and_json_numbers(value: object, fen: int) -> None:
    assert yuan_to_fen(value, "medfee_sumamt") == fen


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", True, None, [], "1e30"])
def test_yuan_to_fen_names_the_field_on_bad_input(bad: object) -> None:
    with pytest.raises(MoneyTypeError) as err:
        yuan_to_fen(bad, "medfee_sumamt")
    assert err.value.field == "medfee_sumamt"


@pytest.mark.parametrize(("value", "message"), [
    (0.85, "quoted"), ("1.5", "above"), ("-0.1", "below"), ("0.1234567", "decimal places"),
    (True, "quoted"), ("x", "not a decimal"),
])
def test_parse_ratio_refuses_floats_and_out_of_range(value: object, message: str) -> None:
    with pytest.raises(MoneyTypeError, match=message) as err:
        parse_ratio(value, "ratio.L3")
    assert err.value.field == "ratio.L3"


@pytest.mark.parametrize("bad", [1.0, -1, True, "100", 10**13])
def test_parse_fen_refuses_anything_but_a_sane_int(bad: object) -> None:
    with pytest.raises(MoneyTypeError):
        parse_fen(bad, "caps.main")


def test_parse_decimal_accepts_ints_and_strings() -> None:
    assert parse_decimal("12.80", "pric") == Decimal("12.80")
    assert parse_decimal(3, "cnt") == Decimal(3)


def test_fen_to_yuan_formats_two_decimals() -> None:
    assert [fen_to_yuan(f) for f in (0, 5, 123456, -5)] == ["0.00", "0.05", "1234.56", "-0.05"]


def test_split_is_exact_and_deterministic() -> None:
    assert split(100, [1, 1, 1]) == [34, 33, 33]
    assert split(-100, [1, 1, 1]) == [-34, -33, -33]
    assert split(7, [0, 5]) == [0, 7]


def test_split_needs_a_positive_weight() -> None:
    with pytest.raises(InvalidInput, match="weight"):
        split(10, [0, 0])


def test_money_refuses_floats_and_adds_exactly() -> None:
    with pytest.raises(MoneyTypeError):
        Money(1.5)  # type: ignore[arg-type]
    assert Money(10) + Money(5) - Money(3) == Money(12)
    assert str(-Money(1234)) == "¥-12.34"
