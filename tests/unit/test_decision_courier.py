"""The decision courier tries again soon when a province the hub holds up could not be reached
(it registers while starting, a moment before it listens), backing off up to its interval."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from medsettle.adapters.decision_courier import DecisionCourier, retry_wait


def test_the_wait_after_a_miss_starts_at_one_second_and_doubles_up_to_the_interval() -> None:
    assert [retry_wait(misses, 60.0) for misses in range(9)] == [
        60.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert retry_wait(500, 60.0) == 60.0
    assert retry_wait(1, 0.5) == 0.5  # never longer than a short interval


class ScriptedCourier(DecisionCourier):
    """A courier whose rounds miss as many provinces as a script says, to watch when they
    run."""

    def __init__(self, script: list[int]) -> None:
        super().__init__(store=None, keys={}, clock=lambda: datetime.now(UTC),  # type: ignore[arg-type]
                         interval=60.0)
        self.script = script
        self.rounds = 0
        self.done = threading.Event()

    def round(self) -> int:
        self.rounds += 1
        if self.rounds >= len(self.script):
            self.done.set()
        return self.script[min(self.rounds, len(self.script)) - 1]


def test_a_round_that_missed_a_province_is_followed_by_another_without_a_nudge() -> None:
    courier = ScriptedCourier([1, 1, 0])  # missed, missed, all told
    courier.start()
    try:
        assert courier.done.wait(10), f"only {courier.rounds} rounds ran"
        assert courier.rounds == 3
    finally:
        courier.close()


def test_after_a_round_that_told_everyone_the_courier_waits_for_its_interval() -> None:
    courier = ScriptedCourier([0, 0])
    courier.start()
    try:
        assert not courier.done.wait(2), "a second round ran without a miss or a nudge"
        assert courier.rounds == 1
        courier.nudge()
        assert courier.done.wait(5)
    finally:
        courier.close()
