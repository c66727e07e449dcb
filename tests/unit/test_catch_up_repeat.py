"""The repeat of an index catch-up is spread over the provinces (adapters/index_catchup.py):
after a hub restart all of them catch up at once, and their repeats should not all reach the
hub in the same heartbeat again."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from medsettle.adapters.index_catchup import AGAIN, SPREAD_SECONDS, repeat_after
from medsettle.core.codes import PROVINCES

HEARTBEAT = 2  # seconds, a province node's default


def test_each_province_repeats_at_a_fixed_moment_within_the_spread() -> None:
    for region in PROVINCES:
        after = repeat_after(region)
        assert AGAIN <= after < AGAIN + timedelta(seconds=SPREAD_SECONDS)
        assert repeat_after(region) == after  # the same at every start


def test_no_heartbeat_carries_more_than_a_third_of_the_repeats() -> None:
    slots = Counter(int(repeat_after(region).total_seconds()) // HEARTBEAT
                    for region in PROVINCES)
    assert len(slots) >= SPREAD_SECONDS // HEARTBEAT
    assert max(slots.values()) <= len(PROVINCES) // 3
