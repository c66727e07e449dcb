"""Exact order statistics for the rules' fences (Tukey: Q3 + k×IQR), on Fractions."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction


def quantile(values: Sequence[Fraction], q: Fraction) -> Fraction:
    """The q-quantile of sorted values, linear between order statistics (the "inclusive"
    method: the minimum is quantile 0, the maximum quantile 1)."""
    if not values:
        raise ValueError("no values")
    position = (len(values) - 1) * q
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def upper_fence(values: Sequence[Fraction | int], k: Decimal) -> Fraction:
    """Q3 + k × (Q3 − Q1) of the values (Tukey's upper fence)."""
    ordered = sorted(Fraction(v) for v in values)
    q1 = quantile(ordered, Fraction(1, 4))
    q3 = quantile(ordered, Fraction(3, 4))
    return q3 + Fraction(k) * (q3 - q1)


def show(value: Fraction, places: int = 4) -> str:
    """A fraction as a decimal string (half-up at `places`), for evidence."""
    scaled = value * 10**places
    whole = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    text = str(whole).rjust(places + 1, "0")
    return f"{sign}{text[:-places]}.{text[-places:]}" if places else f"{sign}{text}"
