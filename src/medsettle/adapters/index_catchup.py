"""Index catch-up: after the hub was out of reach, an insured node sends it the index rows of its
recent cross-province settlements again (`POST /fed/v1/index`, which keeps one row per setl_id).

The hub writes its settlement index from the answers it forwards, in batches held in memory for
a fraction of a second (adapters/hub_journal.py). When the hub is killed, the rows still held are
lost, and so is the row of a settlement whose answer never crossed back; before this catch-up
they stayed missing until the daily reconciliation (docs/faults.md measures the window). The
insured node's ledger is the record, so resending from it is always right, and cheap: only the
seconds of the last CATCH_UP where the hub holds fewer rows than the node, once, when the hub
answers again (`send_index_catch_up`).

When (`CatchUp`): once after the node starts (it may have been killed after a settlement
committed and before the answer crossed back, or been down while the hub restarted); after a
heartbeat failed; after a heartbeat answered by a hub process the node has not heard from
before (`HubBoots`: the hub names its process in every register and heartbeat answer, so a hub
killed and back between two heartbeats is noticed too); and each of those once more AGAIN
later (plus up to SPREAD_SECONDS, fixed per province), for a settlement that was in flight
when the hub died and committed after the first catch-up read the ledger. A 10,000-visit kill drill once left 6 settlements to reconciliation
without the first three.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from medsettle.adapters.db.records import settlement_row
from medsettle.adapters.db.store import Store
from medsettle.adapters.peers import HubClient
from medsettle.core.calendar import SECOND, second_key
from medsettle.core.records import Role
from medsettle.services.reconcile import record_from

#: How far back a catch-up looks (a hub down longer than this is left to reconciliation).
CATCH_UP = timedelta(minutes=30)
#: When a catch-up is sent once more (settlements in flight at the first have committed).
AGAIN = timedelta(seconds=15)
#: Each province repeats up to this much later than AGAIN, by its region code
#: (`repeat_after`): after a hub restart every province catches up at once, and their repeats
#: would otherwise all reach the hub in the same heartbeat again.
SPREAD_SECONDS = 10
#: The last moments the repeat leaves out: their settlements may still be committing at the
#: node or crossing back to the hub (the counts would differ for no loss), and the hub, up
#: since the first catch-up, indexes them from their answers as usual.
SETTLING = timedelta(seconds=5)
CHUNK = 500


def repeat_after(region: str) -> timedelta:
    """How long after its catch-up a province sends the repeat: AGAIN plus a share of
    SPREAD_SECONDS fixed by its region code, the same at every start."""
    return AGAIN + timedelta(seconds=zlib.crc32(region.encode()) % SPREAD_SECONDS)


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
        sent = send_index_catch_up(store, hub, now, timedelta(0) if fresh else SETTLING)
        self.pending = False
        self.again_at = now + self.again if fresh else None
        return sent, fresh


def send_index_catch_up(store: Store, hub: HubClient, now: datetime,
                        settling: timedelta = timedelta(0)) -> int:
    """Send the hub the index rows it lacks of this node's insured's cross-province settlements
    of the last CATCH_UP but the last `settling`; how many rows were sent.

    The hub answers how many rows it holds per second (`GET /fed/v1/index/seconds`), the node
    counts its own the same way, and only the seconds where the hub holds fewer are read and
    sent: the hub's rows all come from this node's answers, so a second it holds as many of
    lacks none. The hub is asked first: what it had indexed by then, the node had committed,
    so a settlement committing meanwhile can only make the node's count the higher (its second
    sent for nothing), never hide a lost row. A catch-up after a node's start or a hub's
    restart then sends the few rows of the moments lost and of the last seconds in flight, not
    half an hour of settlements (which held every visit in flight up)."""
    since, until = now - CATCH_UP, now - settling
    window = urlencode({"since": since.isoformat(), "until": until.isoformat()})
    held = hub.read("/fed/v1/index/seconds", window, timeout=30)["seconds"]
    with store.read() as tx:
        mine = tx.cross_province_seconds("settlements", hub.node, since, until,
                                         role=Role.INSURED.value)
    short = {second for second, count in mine.items() if count > held.get(second, 0)}
    rows = index_rows_of(store, since, until, short) if short else []
    for start in range(0, len(rows), CHUNK):
        hub.ask("/fed/v1/index", {"rows": rows[start:start + CHUNK]}, timeout=30)
    return len(rows)


def index_rows_of(store: Store, since: datetime, until: datetime, seconds: set[str]
                  ) -> list[dict[str, Any]]:
    """The index rows of this node's insured, cross-province records of [since, until) that
    fall in `seconds` (UTC, as calendar.second_key writes them)."""
    first = max(since, datetime.strptime(min(seconds), SECOND).replace(tzinfo=UTC))
    last = min(until, datetime.strptime(max(seconds), SECOND).replace(tzinfo=UTC)
               + timedelta(seconds=1))
    with store.read() as tx:
        found = tx.settlements_in(Role.INSURED, first, last)
        records = [r for r in (record_from(settlement_row(s)) for s in found)
                   if r.cross_province and second_key(r.setl_time) in seconds]
        sent = {r.setl_id for r in records}
        originals = [record_from(settlement_row(s)) for s in (
            tx.settlement(r.ref_setl_id, Role.INSURED) for r in records
            if r.kind == "cancel" and r.ref_setl_id and r.ref_setl_id not in sent)
            if s is not None]
    # a cancel travels with the settlement it cancels: the hub indexes no cancel of nothing
    return [r.index_row() for r in [*originals, *records]]
