"""Index catch-up: after the hub was out of reach, an insured node sends it the index rows of its
recent cross-province settlements again (`POST /fed/v1/index`, which keeps one row per setl_id).

The hub writes its settlement index from the answers it forwards, in batches held in memory for
a fraction of a second (adapters/hub_journal.py). When the hub is killed, the rows still held are
lost, and so is the row of a settlement whose answer never crossed back; before this catch-up
they stayed missing until the daily reconciliation (docs/faults.md measures the window). The
insured node's ledger is the record, so resending from it is always right, and cheap: only the
last CATCH_UP of settlements, once, when the hub answers again.

When (`CatchUp`): once after the node starts (it may have been killed after a settlement
committed and before the answer crossed back, or been down while the hub restarted); after a
heartbeat failed; after a heartbeat answered by a hub process the node has not heard from
before (`HubBoots`: the hub names its process in every register and heartbeat answer, so a hub
killed and back between two heartbeats is noticed too); and each of those once more AGAIN
later, for a settlement that was in flight when the hub died and committed after the first
catch-up read the ledger. A 10,000-visit kill drill once left 6 settlements to reconciliation
without the first three.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from medsettle.adapters.db.records import settlement_row
from medsettle.adapters.db.store import Store
from medsettle.adapters.peers import HubClient
from medsettle.core.calendar import business_date
from medsettle.core.records import Role
from medsettle.services.reconcile import record_from

#: How far back a catch-up looks (a hub down longer than this is left to reconciliation).
CATCH_UP = timedelta(minutes=30)
#: When a catch-up is sent once more (settlements in flight at the first have committed).
AGAIN = timedelta(seconds=15)
CHUNK = 500


class HubBoots:
    """The hub processes a node has heard from, to notice one it has not: restarted, or
    another worker of a hub run as several, whose memory held index rows of its own."""

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self.seen: OrderedDict[str, None] = OrderedDict()

    def is_new(self, answer: object) -> bool:
        """Whether the answer comes from a hub process not heard from before (never for the
        first one heard from, nor for an answer that names none)."""
        boot = answer.get("boot") if isinstance(answer, dict) else None
        if not isinstance(boot, str) or not boot:
            return False
        new = bool(self.seen) and boot not in self.seen
        self.seen[boot] = None
        self.seen.move_to_end(boot)
        while len(self.seen) > self.keep:
            self.seen.popitem(last=False)
        return new


class CatchUp:
    """When a node sends its index catch-up (see the module's docstring)."""

    def __init__(self, again: timedelta = AGAIN) -> None:
        self.boots = HubBoots()
        self.again = again
        self.pending = True  # at the node's start
        self.again_at: datetime | None = None

    def lost(self) -> None:
        """The hub was out of reach or refused."""
        self.pending = True

    def heard(self, answer: object) -> None:
        """A register or heartbeat answer: a hub process not heard from before lost rows."""
        if self.boots.is_new(answer):
            self.pending = True

    def owed(self) -> bool:
        """Whether a catch-up or its repeat is still to be sent."""
        return self.pending or self.again_at is not None

    def due(self, now: datetime) -> bool:
        """Whether to send one now."""
        return self.pending or (self.again_at is not None and now >= self.again_at)

    def send(self, store: Store, hub: HubClient, now: datetime) -> tuple[int, bool]:
        """Send it: how many rows, and whether it followed a loss (not the follow-up)."""
        fresh = self.pending
        sent = send_index_catch_up(store, hub, now)
        self.pending = False
        self.again_at = now + self.again if fresh else None
        return sent, fresh


def recent_index_rows(store: Store, now: datetime) -> list[dict[str, Any]]:
    """The index rows of this node's insured, cross-province records of the last CATCH_UP."""
    since = now - CATCH_UP
    with store.tx() as tx:
        found = tx.settlements_between(Role.INSURED, business_date(since), business_date(now))
    records = [record_from(settlement_row(s)) for s in found]
    return [{k: v for k, v in r.as_doc().items() if k != "status"} for r in records
            if r.cross_province and r.setl_time >= since]


def send_index_catch_up(store: Store, hub: HubClient, now: datetime) -> int:
    """Send the recent index rows to the hub; how many were sent."""
    rows = recent_index_rows(store, now)
    for start in range(0, len(rows), CHUNK):
        hub.ask("/fed/v1/index", {"rows": rows[start:start + CHUNK]}, timeout=30)
    return len(rows)
