"""Index catch-up: after the hub was out of reach, an insured node sends it the index rows of its
recent cross-province settlements again (`POST /fed/v1/index`, which keeps one row per setl_id).

The hub writes its settlement index from the answers it forwards, in batches held in memory for
a fraction of a second (adapters/hub_journal.py). When the hub is killed, the rows still held are
lost, and so is the row of a settlement whose answer never crossed back; before this catch-up
they stayed missing until the daily reconciliation (docs/faults.md measures the window). The
insured node's ledger is the record, so resending from it is always right, and cheap: only the
last CATCH_UP of settlements, once, when the hub answers again.

"Again" is noticed two ways: a heartbeat that failed, and a hub process the node has not heard
from before (`HubBoots`): the hub names its process in every register and heartbeat answer, so a
hub killed and restarted between two heartbeats (on a quiet machine it is back within one)
is noticed too. A 10,000-visit kill drill once left 6 settlements to reconciliation that way.
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
