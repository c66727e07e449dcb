"""Arm the use cases' failpoints from the environment (fault drills and end-to-end tests).

`MEDSETTLE_CRASH_AT=settle.after_insured` (comma-separated names of services.failpoints.POINTS)
makes the node kill itself with SIGKILL, as `kill -9` would, the first time a message reaches
that point. Unset, nothing is armed.
"""

from __future__ import annotations

import logging
import os
import signal

from medsettle.services import failpoints

logger = logging.getLogger(__name__)
VARIABLE = "MEDSETTLE_CRASH_AT"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm_from_environment() -> list[str]:
    """Arm every point named in MEDSETTLE_CRASH_AT; returns their names."""
    names = [n.strip() for n in os.environ.get(VARIABLE, "").split(",") if n.strip()]
    for name in names:
        failpoints.arm(name, _die)
    if names:
        logger.warning("failpoints armed: the node will kill itself there",
                       extra={"points": names})
    return names
