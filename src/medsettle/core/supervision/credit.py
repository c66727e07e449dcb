"""Institutions' credit (信用) and suspension from cross-province direct settlement (domain.md §9,
illustrative numbers): 100 to start; confirmed findings deduct 2 (minor), 10 (serious) or 30
(fraud); below 60, or on any fraud, direct settlement is suspended for 6 months (12 for fraud)
until reinstated after rectification. Law: 国务院令第735号 Art. 40 (6–12-month suspension)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from medsettle.core.errors import InvalidInput

START = 100
DEDUCTIONS = {"none": 0, "minor": 2, "serious": 10, "fraud": 30}
FLOOR = 60
SUSPENSION_MONTHS = {"below_floor": 6, "fraud": 12}


@dataclass(frozen=True, slots=True)
class CreditChange:
    """What a finding does to an institution's credit."""

    score: int
    points: int
    suspend: bool
    until: date | None
    why: str


def months_later(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month + 1, candidate)
        except ValueError:
            continue
    raise ValueError("unreachable")


def apply_finding(score: int, severity: str, on: date) -> CreditChange:
    """Deduct for a confirmed finding; suspend below the floor or on fraud."""
    if severity not in DEDUCTIONS:
        raise InvalidInput("severity", f"must be one of {', '.join(DEDUCTIONS)}")
    points = DEDUCTIONS[severity]
    after = max(0, score - points)
    if severity == "fraud":
        return CreditChange(after, points, True, months_later(on, SUSPENSION_MONTHS["fraud"]),
                            "fraud (欺诈骗保)")
    if after < FLOOR:
        return CreditChange(after, points, True,
                            months_later(on, SUSPENSION_MONTHS["below_floor"]),
                            f"credit {after} below {FLOOR}")
    return CreditChange(after, points, False, None, "")
