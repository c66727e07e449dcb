"""S1–S2: price each fee line and split it into self-paid, over-cap, 先行自付 and in-scope parts.

The treating place's catalogue (就医地目录) decides each line's class (甲/乙/丙 or not listed),
乙类 self-pay ratio and price cap; this module only does the arithmetic of domain.md §4 S1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, NamedTuple

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
    """One fee line as classified by the treating place: class, price and quantity, 乙 ratio, cap.

    The line's amount and its amount at the capped price are computed once, when the line is
    made (fee upload), since every pre-settlement and settlement of the visit needs them.
    """

    cls: LineClass
    price: Decimal
    count: Decimal
    selfpay_prop: Decimal = _ZERO
    cap_price: Decimal | None = None
    restricted_ok: bool = True
    code: str = ""
    name: str = ""
    amt: int = field(init=False, repr=False, compare=False)
    allowed: int = field(init=False, repr=False, compare=False)
    pre: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        amt = price_times_count(self.price, self.count)
        capped = self.cap_price is not None and self.price > self.cap_price
        allowed = price_times_count(self.cap_price, self.count) if capped else amt  # type: ignore[arg-type]
        object.__setattr__(self, "amt", amt)
        object.__setattr__(self, "allowed", allowed)
        object.__setattr__(self, "pre", apply_ratio(allowed, self.selfpay_prop)
                           if self.cls == "B" else 0)


class PricedLine(NamedTuple):
    """A line's amount split: amt = full + over + pre + inscp, with the reasons that applied."""

    amt: int
    full: int
    over: int
    pre: int
    inscp: int
    allowed: int
    reasons: tuple[str, ...]


class LineTotals(NamedTuple):
    """S2: the sums over the lines."""

    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int


_SELF_PAID_REASON = {"C": (CLASS_C_SELF_PAID,), "none": (NOT_IN_CATALOGUE,)}
_IN_SCOPE_REASONS = {
    # (class, over the price cap, extra 先行自付) → reasons
    (cls, over, extra): tuple(r for r, on in ((CLASS_A_IN_SCOPE if cls == "A" else
                                               CLASS_B_PRESELFPAY, True), (OVER_PRICE_CAP, over),
                                              (EXTRA_PRESELFPAY, extra)) if on)
    for cls in ("A", "B") for over in (False, True) for extra in (False, True)
}


def price_line(line: FeeLine, extra: Decimal = _ZERO) -> PricedLine:
    """S1 for one line; `extra` is the benefit class's extra 先行自付 share (0 in points mode)."""
    amt = line.amt
    if line.cls == "C" or line.cls == "none" or not line.restricted_ok:
        return PricedLine(amt, amt, 0, 0, 0, 0,
                          _SELF_PAID_REASON.get(line.cls, (RESTRICTION_NOT_MET,)))
    allowed = line.allowed
    pre = line.pre
    if extra:
        pre += apply_ratio(allowed - pre, extra)
    return PricedLine(amt, 0, amt - allowed, pre, allowed - pre, allowed,
                      _IN_SCOPE_REASONS[(line.cls, amt != allowed, bool(extra))])


def total_lines(priced: Sequence[PricedLine]) -> LineTotals:
    """S2: sum each part over the lines."""
    medfee = full = over = pre = inscp = 0
    for p in priced:
        medfee += p.amt
        full += p.full
        over += p.over
        pre += p.pre
        inscp += p.inscp
    return LineTotals(medfee, full, over, pre, inscp)
