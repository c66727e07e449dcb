"""What the simulator found and is not fixed yet (docs/simulation.md, "What the simulator found").

Each test replays the seed that shows the fault and asserts that the simulator reports it. When
the system is fixed, the run keeps its invariants, the test fails, and it becomes a test that
the run passes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from medsettle.adapters.files import load_policy_book
from medsettle.adapters.simulation.hospitals import Habits
from medsettle.adapters.simulation.network import Faults
from medsettle.adapters.simulation.run import Settings, SimulationFailed, simulate
from medsettle.adapters.simulation.world import WorldSpec, pick_provinces

BOOK = load_policy_book()
TINY = WorldSpec(pick_provinces(2), persons=16, institutions=2)


@pytest.fixture(autouse=True)
def quiet() -> Iterator[None]:
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


def test_a_cancel_resent_as_a_new_message_is_left_half_done_and_the_simulator_says_so(
        ) -> None:
    """The hub's answer to the treating place's cancel is lost; the HIS sends the cancel again
    as a new message; the insured place says it is already cancelled; the treating place keeps
    the settlement in force; reconciliation compares amounts, not status, and never heals it."""
    new_message_when_busy = Habits(cancel_share=1.0, cancel_when_busy="new")
    with pytest.raises(SimulationFailed) as failed:
        simulate(Settings(seed=0, world=TINY, visits=3, days=1, habits=new_message_when_busy,
                          faults=Faults(drop=0.05, lose_reply=0.1)), BOOK)
    message = str(failed.value)
    assert message.startswith("simulation seed 0 broke an invariant")
    assert "insured place has settle cancelled" in message
    assert "treating place settle settled" in message


def test_the_same_run_with_the_cancel_resent_as_it_was_keeps_every_invariant() -> None:
    same_message_when_busy = Habits(cancel_share=1.0, cancel_when_busy="same")
    result = simulate(Settings(seed=0, world=TINY, visits=3, days=1,
                               habits=same_message_when_busy,
                               faults=Faults(drop=0.05, lose_reply=0.1)), BOOK)
    assert result.visits["cancelled"] >= 1
