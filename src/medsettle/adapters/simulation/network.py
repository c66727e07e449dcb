"""The simulated clock, network and faults: one thread, one seeded random stream, no wall clock.

Every call from one node to another (a hospital's HIS to its gateway, a province to the hub,
the hub to a province) goes through `Network.call`, which draws the message's fate from the
run's random stream: delivered, lost on the way, its answer lost, delivered late (after the
caller gave up; a late request still runs at its destination, so messages are reordered),
delivered twice, or delivered to a node that crashes before or after doing the work. A node
that is down refuses the connection. The clock moves only when the scheduler or a call moves
it, so a run is a pure function of its seed.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from medsettle.core.errors import InvalidInput, MedSettleError, PeerTimedOut, PeerUnreachable

T = TypeVar("T")


class NodeCrashed(BaseException):
    """A simulated node died (kill -9): it unwinds the node's work in progress, rolling back
    every open transaction, and passes through the `except Exception` of the code it crosses
    as a real process death would."""

    def __init__(self, node: str, where: str) -> None:
        super().__init__(f"node {node} crashed {where}")
        self.node = node
        self.where = where


@dataclass(frozen=True)
class Faults:
    """The chance of each fault per message (0 to 1) and how long things take (seconds)."""

    drop: float = 0.0        # the request is lost: the caller times out, nothing happens
    lose_reply: float = 0.0  # the work is done, the answer is lost: the caller times out
    delay: float = 0.0       # the request arrives late: after the caller gave up, if longer
    duplicate: float = 0.0   # the request is delivered again, later
    crash: float = 0.0       # the destination crashes (before or after the work, or inside it)
    timeout: float = 3.0     # how long a caller waits for an answer
    restart: float = 20.0    # how long a crashed node stays down

    @classmethod
    def none(cls) -> Faults:
        """A perfect network."""
        return cls()

    @classmethod
    def default(cls) -> Faults:
        """Faults often enough that a small world meets each of them many times."""
        return cls(drop=0.02, lose_reply=0.02, delay=0.03, duplicate=0.03, crash=0.01)

    @classmethod
    def parse(cls, text: str) -> Faults:
        """Faults from "none", "default" or "drop=0.05,crash=0.01,…" (unnamed ones: 0, or the
        default when the text starts with "default,")."""
        text = text.strip()
        base = cls.default() if text.startswith("default") else cls.none()
        text = text.removeprefix("default").strip(",")
        if text in ("", "none"):
            return base
        known = {f.name for f in fields(cls)}
        values: dict[str, float] = {}
        for part in text.split(","):
            name, _, value = part.partition("=")
            name = name.strip()
            if name not in known:
                raise InvalidInput("--faults", f"unknown fault {name!r}; known: "
                                               f"{', '.join(sorted(known))}")
            try:
                number = float(value)
            except ValueError:
                raise InvalidInput("--faults", f"{name} needs a number, got {value!r}") from None
            limit = None if name in ("timeout", "restart") else 1.0
            if not math.isfinite(number) or number < 0 or (limit is not None and number > limit):
                raise InvalidInput("--faults", f"{name}={value} is out of range")
            values[name] = number
        return cls(**{f.name: values.get(f.name, getattr(base, f.name)) for f in fields(cls)})

    def describe(self) -> str:
        """The faults as "name=value,…" (what `parse` reads back)."""
        return ",".join(f"{f.name}={getattr(self, f.name):g}" for f in fields(self))


class SimClock:
    """The run's clock: UTC, moved forward only."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def now(self) -> datetime:
        """The current simulated time."""
        return self.at

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.at += timedelta(seconds=seconds)

    def move_to(self, moment: datetime) -> None:
        """Move the clock to `moment`, if that is later."""
        self.at = max(self.at, moment)

    def seconds(self) -> float:
        """A monotonic number of seconds (the hub's latency timer)."""
        return self.at.timestamp()


@dataclass(order=True)
class Event:
    """Something the scheduler runs at a simulated time (ties by order of scheduling)."""

    at: datetime
    seq: int
    label: str = field(compare=False)
    action: Callable[[], None] = field(compare=False)


class Trace:
    """The run's recent history, kept short: what a failure prints next to the seed."""

    def __init__(self, keep: int = 60) -> None:
        self.keep = keep
        self.lines: list[str] = []

    def add(self, at: datetime, text: str) -> None:
        """Note one thing that happened."""
        self.lines.append(f"{at:%m-%d %H:%M:%S} {text}")
        if len(self.lines) > 4 * self.keep:
            del self.lines[:-self.keep]

    def tail(self) -> list[str]:
        """The last lines."""
        return self.lines[-self.keep:]


class Network:
    """Calls between simulated nodes, with faults drawn from the run's random stream.

    `resolve(name)` gives the live object of a node (a new one after each restart), and
    `crash(name, where)` takes a node down; both belong to the simulation that owns the network.
    """

    def __init__(self, rng: random.Random, faults: Faults, clock: SimClock, trace: Trace,
                 resolve: Callable[[str], Any], crash: Callable[[str, str], None],
                 schedule: Callable[[float, str, Callable[[], None]], None]) -> None:
        self.rng = rng
        self.faults = faults
        self.clock = clock
        self.trace = trace
        self.resolve = resolve
        self.crash = crash
        self.schedule = schedule
        self.down: set[str] = set()
        self.messages = 0
        self.touched: set[str] = set()  # nodes that ran something since the last look
        self.running: list[str] = []  # the nodes whose work is on the stack, innermost last
        self.calm = False  # no faults (the end of a run drains in calm)

    def _chance(self, p: float) -> bool:
        return not self.calm and p > 0 and self.rng.random() < p

    def call(self, src: str, dst: str, what: str, work: Callable[[Any], T]) -> T:
        """Deliver `what` from `src` to `dst`, run `work(node)` there and return its result;
        PeerTimedOut or PeerUnreachable as the fault drawn makes it."""
        f = self.faults
        self.messages += 1
        if dst in self.down:
            raise PeerUnreachable(f"{dst} refused the connection (down)")
        if self._chance(f.drop):
            self.trace.add(self.clock.now(), f"lost  {src}→{dst} {what}")
            self.clock.advance(f.timeout)
            raise PeerTimedOut(f"{dst} did not answer {what} within {f.timeout:g} s")
        if self._chance(f.duplicate):
            self._later(src, dst, what, work, self.rng.uniform(0.1, 4 * f.timeout), "again")
        if self._chance(f.delay):
            late = self.rng.uniform(0.1, 3 * f.timeout)
            if late >= f.timeout:
                self._later(src, dst, what, work, late, "late")
                self.clock.advance(f.timeout)
                raise PeerTimedOut(f"{dst} did not answer {what} within {f.timeout:g} s")
            self.clock.advance(late)
        if self._chance(f.crash):
            if self.rng.random() < 0.5:
                self._crash(dst, f"on receiving {what}")
                raise PeerUnreachable(f"{dst} dropped the connection")
            self._run(dst, what, work)
            self._crash(dst, f"after {what}, before answering")
            raise PeerUnreachable(f"{dst} dropped the connection")
        result = self._run(dst, what, work)
        self.messages += 1  # the answer
        if self._chance(f.lose_reply):
            self.trace.add(self.clock.now(), f"reply lost {dst}→{src} {what}")
            self.clock.advance(f.timeout)
            raise PeerTimedOut(f"{dst} did not answer {what} within {f.timeout:g} s")
        self.clock.advance(0.001)
        return result

    def _run(self, dst: str, what: str, work: Callable[[Any], T]) -> T:
        """Run the work at `dst`; a crash of `dst` inside it is a dropped connection here."""
        self.touched.add(dst)
        self.running.append(dst)
        try:
            return work(self.resolve(dst))
        except NodeCrashed as crashed:
            if crashed.node != dst:
                raise
            raise PeerUnreachable(f"{dst} dropped the connection") from None
        finally:
            self.running.pop()

    def _crash(self, node: str, where: str) -> None:
        self.trace.add(self.clock.now(), f"CRASH {node} {where}")
        self.crash(node, where)

    def _later(self, src: str, dst: str, what: str, work: Callable[[Any], Any], after: float,
               why: str) -> None:
        """Deliver the request again after `after` seconds; its answer goes nowhere."""
        def deliver() -> None:
            self.messages += 1
            if dst in self.down:
                return
            self.trace.add(self.clock.now(), f"{why:5} {src}→{dst} {what}")
            try:
                self._run(dst, what, work)
            except MedSettleError:  # a refusal of a late copy goes nowhere, as its answer
                pass
        self.schedule(after, f"{why} {what} to {dst}", deliver)


class Scheduler:
    """The events of a run, earliest first; the clock jumps to each as it runs."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self.queue: list[Event] = []
        self.seq = 0

    def at(self, moment: datetime, label: str, action: Callable[[], None]) -> None:
        """Run `action` at `moment` (or now, if that has passed)."""
        self.seq += 1
        heapq.heappush(self.queue, Event(moment.astimezone(UTC), self.seq, label, action))

    def after(self, seconds: float, label: str, action: Callable[[], None]) -> None:
        """Run `action` `seconds` from now."""
        self.at(self.clock.now() + timedelta(seconds=seconds), label, action)

    def __bool__(self) -> bool:
        return bool(self.queue)

    def pop(self) -> Event:
        """The next event; the clock moves to its time."""
        event = heapq.heappop(self.queue)
        self.clock.move_to(event.at)
        return event
