"""What the simulator found (docs/simulation.md, "What the simulator found"): each test replays
the seed that showed the fault and asserts that the run now keeps every invariant.
"""

from __future__ import annotations

from medsettle.adapters.files import load_policy_book
from medsettle.adapters.simulation.hospitals import Habits
from medsettle.adapters.simulation.network import Faults
from medsettle.adapters.simulation.run import Settings, simulate
from medsettle.adapters.simulation.world import WorldSpec, pick_provinces

BOOK = load_policy_book()
TINY = WorldSpec(pick_provinces(2), persons=16, institutions=2)


def test_a_cancel_resent_as_a_new_message_is_booked_once_on_both_sides() -> None:
    """Found by the simulator, now fixed: the hub's answer to the treating place's cancel is
    lost; the HIS sends the cancel again as a new message. The insured place answers the cancel
    that stands (idempotent by settlement), so the treating place books the same cancel instead
    of keeping the settlement in force while the insured place has cancelled it."""
    new_message_when_busy = Habits(cancel_share=1.0, cancel_when_busy="new")
    result = simulate(Settings(seed=0, world=TINY, visits=3, days=1,
                               habits=new_message_when_busy,
                               faults=Faults(drop=0.05, lose_reply=0.1)), BOOK)
    assert result.visits["cancelled"] >= 1


def test_the_same_run_with_the_cancel_resent_as_it_was_keeps_every_invariant() -> None:
    same_message_when_busy = Habits(cancel_share=1.0, cancel_when_busy="same")
    result = simulate(Settings(seed=0, world=TINY, visits=3, days=1,
                               habits=same_message_when_busy,
                               faults=Faults(drop=0.05, lose_reply=0.1)), BOOK)
    assert result.visits["cancelled"] >= 1
