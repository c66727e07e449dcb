"""Rate limits (限流) by sender: a token bucket per institution at the HIS gateway and per node on
the node-to-node routes, so one sender's burst is refused without slowing anyone else.

Each key may send `rate` messages a second on average and `burst` at once; a refused message
costs nothing and says how long to wait. The caller passes the time (seconds), so it is tested
without a clock. It counts messages in seconds, not money, so it lives with the adapters that
use it rather than in the float-free core.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from medsettle.core.errors import InvalidInput, RateLimited

#: Buckets idle this many times their refill time are forgotten (a full bucket again).
_FORGET_AFTER = 4.0


def burst(rate: float) -> int:
    """The burst a limit of `rate` a second allows: two seconds' worth (at least 1)."""
    return max(1, int(rate * 2))


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """Token buckets by key (an institution code, a node's region). `rate` 0 admits all."""

    def __init__(self, rate: float, burst: int, what: str) -> None:
        if rate < 0:
            raise InvalidInput("rate", f"must be ≥ 0 messages a second (0: no limit), not {rate}")
        if rate and burst < 1:
            raise InvalidInput("burst", f"must be at least 1, not {burst}")
        self.rate = float(rate)
        self.burst = burst
        self.what = what  # "institution", "node": how the error names the sender
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def admit(self, key: str, now: float) -> None:
        """Take one token of `key`'s bucket, or raise RateLimited saying when to retry."""
        if not self.rate:
            return
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) > 10_000:
                    self._forget(now)
                bucket = self._buckets[key] = _Bucket(float(self.burst), now)
            bucket.tokens = min(float(self.burst),
                                bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self.rate
        raise RateLimited(f"{self.what} {key} sent more than {self.rate:g} messages a second "
                          f"(bursts of {self.burst}): retry after {wait:.2f} s", wait)

    def _forget(self, now: float) -> None:
        idle = _FORGET_AFTER * self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.at > idle]:
            del self._buckets[key]
