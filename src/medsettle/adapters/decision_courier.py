"""The hub tells a treating province the supervision decisions it missed.

A decided case is sent to its treating province at once (the credit deduction, a suspension,
the refused amount in its ledger). When that province is down the case shows "not yet told";
the courier sends it again when the province registers (it restarted), when it heartbeats after
being down, and every `interval` seconds for provinces that are up. A province registers
while it starts, a moment before it listens: when a round finds a province up but cannot reach
it, the next round comes after 1 s, then 2, 4, … up to `interval`. The province applies a
decision once per case (services/credit.apply_decision), so sending it again is harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from medsettle.adapters.db.store import Store
from medsettle.adapters.hub_link import HubLink
from medsettle.core.errors import MedSettleError
from medsettle.services import hub as hub_svc
from medsettle.services import supervision_cases as svc

logger = logging.getLogger(__name__)


def tell_treating(store: Store, keys: dict[str, str], case: dict[str, Any]) -> dict[str, Any]:
    """Send a decided case to its treating province (best effort); its answer or the trouble."""
    link = HubLink(keys, 10.0, pool=1)
    province = str(case["treating"])
    try:
        with store.tx() as tx:
            endpoint = hub_svc.endpoint_of(tx, province)
        answer = link.post(province, endpoint, "/fed/v1/supervision/decisions", {
            "case_id": case["case_id"], "institution": case["institution"],
            "insured": case["insured"], "severity": case["severity"],
            "refused": case["refused"]})
        result = answer.get("result")
        if not answer.get("ok") or not isinstance(result, dict):
            return {"told": False, "why": str(answer.get("error"))}
        return {"told": True, **result}
    except (MedSettleError, KeyError) as exc:
        logger.warning("treating province not told of a decision",
                       extra={"case_id": case["case_id"], "why": str(exc)})
        return {"told": False, "why": str(exc) or type(exc).__name__}
    finally:
        link.close()


def retry_wait(misses: int, interval: float) -> float:
    """The wait before the next round after `misses` rounds in a row missed a province: 1 s,
    then doubling, never more than the interval (the full interval after none)."""
    return interval if misses < 1 else min(interval, 2.0 ** min(misses - 1, 30))


class DecisionCourier:
    """A thread that sends untold decisions to provinces that are up."""

    def __init__(self, store: Store, keys: dict[str, str], clock: Callable[[], datetime],
                 interval: float = 60.0, stale_after: timedelta = timedelta(seconds=15)) -> None:
        self.store = store
        self.stale_after = stale_after
        self.keys = keys
        self.clock = clock
        self.interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="decision-courier", daemon=True)

    def start(self) -> None:
        """Start the thread (a first round at once)."""
        self._wake.set()
        self._thread.start()

    def nudge(self) -> None:
        """Run a round soon (a province registered or came back)."""
        self._wake.set()

    def close(self) -> None:
        """Stop the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(15)

    def _run(self) -> None:
        misses = 0  # rounds in a row that could not reach a province that is up
        while not self._stop.is_set():
            self._wake.wait(retry_wait(misses, self.interval))
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                misses = misses + 1 if self.round() else 0
            except Exception:  # a bug must not stop the courier for good
                logger.exception("decision courier round failed")

    def round(self) -> int:
        """Send every untold decision whose treating province is up; how many of those its
        province was up at the hub for but did not take (the next round comes sooner)."""
        since = self.clock() - self.stale_after
        with self.store.read() as tx:  # up, and heard from lately
            up = {str(n.region) for n in tx.rows("nodes", status="up") if n.last_seen >= since}
        missed = 0
        for case in svc.untold(self.store):
            if str(case["treating"])[:2] + "0000" not in up or self._stop.is_set():
                continue
            answer = tell_treating(self.store, self.keys, case)
            svc.note_credit(self.store, str(case["case_id"]), answer, self.clock())
            if not answer.get("told"):
                missed += 1
                continue
            logger.info("treating province told of a decision it missed",
                        extra={"case_id": case["case_id"], "treating": case["treating"]})
        return missed
