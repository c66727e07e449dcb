"""A served node's heap, settled once the node has started.

CPython's cyclic collector walks every container object it tracks in a full (oldest
generation) collection, with the interpreter stopped. A node starts with about 150,000 of them
that it keeps for its life: modules, the web framework's routes and schemas, the database
tables, the catalogue and the policy parameters. Walking them took 90–145 ms each time, a few
times a minute under load, and every visit in flight at that node waited for it: that was most
of the tail of a whole visit's latency (docs/benchmarks.md, "The collector's pauses").
Moving them out of the collector's reach once the node has started (`gc.freeze`) leaves a full
collection only the objects made since, a few thousand.
"""

from __future__ import annotations

import gc


def settle_heap() -> int:
    """Collect what start-up left behind, then freeze every object still alive so no later
    collection walks it again (reference counting still frees it). Returns how many objects are
    frozen in all."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
