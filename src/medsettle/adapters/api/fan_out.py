"""The hub's routes that make it ask every province at once (an anchor round, collecting the
month's statistics, a clearing run) or run a month's batch (supervision): any member of the
federation may start one, because the reconciliation tool, the demo and each province's
operators need them on demand. Each caller may start one of each every FAN_OUT_EVERY seconds on
average, FAN_OUT_BURST at once: a node in a loop no longer makes the hub send 32 requests a
turn, and everyone else is unaffected (429 with when to retry, as the node routes' rate limit)."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request

from medsettle.adapters.ratelimit import RateLimiter
from medsettle.services.audit import Actor

FAN_OUT_EVERY = 5.0
FAN_OUT_BURST = 5


def limit_fan_out(app: FastAPI) -> None:
    """Give the hub's app its fan-out limit (one per app: the callers share nothing)."""
    app.state.fan_out = RateLimiter(1 / FAN_OUT_EVERY, FAN_OUT_BURST, "caller")


def caller_of(actor: Actor) -> str:
    """Who is counted: a node by its verified region (the operator a node names in its body is
    its own text, so a new one each time would be a new caller), an operator by name."""
    if actor.role == "node":
        return f"node:{actor.region or 'hub'}"
    return f"operator:{actor.name}"


def admit_fan_out(request: Request, route: str, caller: str) -> None:
    """Count one start of `route` by `caller` (caller_of, or `node:<region>`), or raise
    RateLimited (429) saying when to retry. An app without the limit admits all."""
    limit = getattr(request.app.state, "fan_out", None)
    if isinstance(limit, RateLimiter):
        limit.admit(f"{caller} on {route}", time.monotonic())
