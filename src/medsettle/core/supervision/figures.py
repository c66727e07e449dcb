"""Small exact helpers of the statistics (domain.md §10): rates, ratios and percentiles."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from medsettle.core.supervision.stats import show


def rate(part: int, whole: int) -> str:
    """part ÷ whole as a decimal string with four places ("" when whole is 0)."""
    return show(Fraction(part, whole), 4) if whole else ""


def percentile(sorted_values: Sequence[int], p: int) -> int | None:
    """The nearest-rank p-th percentile of sorted values (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-p * len(sorted_values) // 100))  # ceil(p/100 × n)
    return sorted_values[rank - 1]


def median(values: Sequence[int]) -> int | None:
    """The nearest-rank median."""
    return percentile(sorted(values), 50)
