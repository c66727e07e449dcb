"""The hub's routing table: which endpoint serves each province, read and changed by many threads."""

from __future__ import annotations

import threading
from collections.abc import Callable


class RoutingTable:
    """Province → endpoint, a cache of the hub's `nodes` table.

    Request threads read it while registrations set entries and failed calls forget them. Every
    change holds one lock, and `endpoint_of` returns the endpoint it found or looked up itself,
    never a second read of the dict that another thread may have emptied in between.
    """

    def __init__(self, lookup: Callable[[str], str]) -> None:
        """`lookup(province)` reads the endpoint from the database (NotFound if none)."""
        self._lookup = lookup
        self._lock = threading.Lock()
        self._endpoints: dict[str, str] = {}

    def endpoint_of(self, province: str) -> str:
        """The endpoint of `province`, looked up (outside the lock) when not cached."""
        with self._lock:
            endpoint = self._endpoints.get(province)
        if endpoint is None:
            endpoint = self._lookup(province)
            with self._lock:
                self._endpoints.setdefault(province, endpoint)  # a registration meanwhile wins
        return endpoint

    def set(self, province: str, endpoint: str) -> None:
        """A province registered this endpoint."""
        with self._lock:
            self._endpoints[province] = endpoint

    def forget(self, province: str) -> None:
        """Drop a province's entry (it failed to answer); the next call looks it up again."""
        with self._lock:
            self._endpoints.pop(province, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._endpoints)
