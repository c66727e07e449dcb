"""S1–S2: price each fee line and split it into self-paid, over-cap, 先行自付 and in-scope parts.

The treating place's catalogue (就医地目录) decides each line's class (甲/乙/丙 or not listed),
乙类 self-pay ratio and price cap; this module only does the arithmetic of domain.md §4 S1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from medsettle.core.money import apply_ratio, price_times_count

LineClass = Literal["A", "B", "C", "none"]
LINE_CLASSES: tuple[LineClass, ...] = ("A", "B", "C", "none")
_ZERO = Decimal(0)

# Stable reason codes for a line (machine-readable; explain.py has the text).
CLASS_A_IN_SCOPE = "line.class_a.in_scope"
CLASS_B_PRESELFPAY = "line.class_b.preselfpay"
CLASS_C_SELF_PAID = "line.class_c.self_paid"
NOT_IN_CATALOGUE = "line.not_in_catalogue"
RESTRICTION_NOT_MET = "line.restriction_not_met"
OVER_PRICE_CAP = "line.over_price_cap"
EXTRA_PRESELFPAY = "line.extra_preselfpay"


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One fee line as classified by the treating place: class, price and quantity, 乙 ratio, cap."""

    cls: LineClass
    price: Decimal
    count: Decimal
    selfpay_prop: Decimal = _ZERO
    cap_price: Decimal | None = None
    restricted_ok: bool = True
    code: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class PricedLine:
    """A line's amount split: amt = full + over + pre + inscp, with the reasons that applied."""

    amt: int
    full: int
    over: int
    pre: int
    inscp: int
    allowed: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LineTotals:
    """S2: the sums over the lines."""

    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int


def price_line(line: FeeLine, extra: Decimal = _ZERO) -> PricedLine:
    """S1 for one line; `extra` is the benefit class's extra 先行自付 share (0 in points mode)."""
    amt = price_times_count(line.price, line.count)
    if line.cls == "C" or line.cls == "none" or not line.restricted_ok:
        reason = (CLASS_C_SELF_PAID if line.cls == "C" else
                  NOT_IN_CATALOGUE if line.cls == "none" else RESTRICTION_NOT_MET)
        return PricedLine(amt, amt, 0, 0, 0, 0, (reason,))
    reasons = [CLASS_A_IN_SCOPE if line.cls == "A" else CLASS_B_PRESELFPAY]
    allowed = amt
    if line.cap_price is not None and line.price > line.cap_price:
        allowed = price_times_count(line.cap_price, line.count)
        reasons.append(OVER_PRICE_CAP)
    pre = apply_ratio(allowed, line.selfpay_prop) if line.cls == "B" else 0
    if extra:
        pre += apply_ratio(allowed - pre, extra)
        reasons.append(EXTRA_PRESELFPAY)
    return PricedLine(amt, 0, amt - allowed, pre, allowed - pre, allowed, tuple(reasons))


def total_lines(priced: Sequence[PricedLine]) -> LineTotals:
    """S2: sum each part over the lines."""
    return LineTotals(
        medfee_sumamt=sum(p.amt for p in priced),
        fulamt_ownpay_amt=sum(p.full for p in priced),
        overlmt_selfpay=sum(p.over for p in priced),
        preselfpay_amt=sum(p.pre for p in priced),
        inscp_scp_amt=sum(p.inscp for p in priced),
    )
