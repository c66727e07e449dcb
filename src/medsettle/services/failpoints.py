"""Named points in the use cases where a test or a fault drill can stop the process dead.

Nothing is armed in normal operation, and `reach` is then one dictionary lookup. The node's
command line arms points from the environment (`MEDSETTLE_CRASH_AT`), so an end-to-end test can
kill a real node at an exact step (after the insured place settled, before the treating place
recorded it, …) and show that a retry still ends with exactly one settlement.
"""

from __future__ import annotations

from collections.abc import Callable

_armed: dict[str, Callable[[], None]] = {}

#: The points, in the order a settlement passes them at the treating node.
POINTS = ("visit.after_insured", "settle.before_insured", "settle.after_insured",
          "settle.after_commit")


def arm(name: str, action: Callable[[], None]) -> None:
    """Run `action` when a use case reaches point `name`."""
    if name not in POINTS:
        raise ValueError(f"unknown failpoint {name!r}; known: {', '.join(POINTS)}")
    _armed[name] = action


def disarm() -> None:
    """Forget every armed point."""
    _armed.clear()


def reach(name: str) -> None:
    """A use case passes point `name`: run its action, if one is armed."""
    action = _armed.get(name)
    if action is not None:
        action()
