"""Business time: MedSettle stores moments in UTC and reads business dates in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def business_time(moment: datetime) -> datetime:
    """A stored moment as Asia/Shanghai wall-clock time (a naive moment is taken as local)."""
    return moment.astimezone(SHANGHAI) if moment.tzinfo else moment


def business_date(moment: datetime) -> date:
    """The Asia/Shanghai business date of a moment."""
    return business_time(moment).date()


def age_on(birth: date, on: date) -> int:
    """Age in whole years on a date (a birthday counts from its day)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC half-open range [start, end) of the business days first..last (inclusive)."""
    start = datetime.combine(first, datetime.min.time(), SHANGHAI)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


#: How a UTC second is written (second_key).
SECOND = "%Y-%m-%dT%H:%M:%S"


def second_key(moment: datetime) -> str:
    """The UTC second of a moment, as "2026-11-30T04:05:07" (index catch-ups count by it)."""
    return moment.astimezone(UTC).strftime(SECOND)
