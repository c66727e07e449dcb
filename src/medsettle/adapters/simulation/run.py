"""One seeded run of the whole federation in one process (`medsettle simulate`).

The run plays planned visits through hospitals' HIS systems over the simulated network, with
the faults drawn from the seed: messages lost, late, duplicated; nodes crashed at message
boundaries and inside the settlement use case (services/failpoints.py) and restarted from their
database; HIS clients that time out, retry and reverse. Between visits the nodes retry their
pending reversals and the hub writes its journal; each night reconciliation (对账) runs for the
day before, and on the 1st the hub clears the month. After every step the invariants of
checks.py are checked; at the end the network calms, crashed nodes come back, everything in
flight finishes, reconciliation runs once more and the invariants at rest are checked. A
broken invariant raises SimulationFailed with the seed and the last lines of the trace.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from medsettle.adapters.simulation.checks import Checker
from medsettle.adapters.simulation.hospitals import (
    CHINA,
    Habits,
    InternalAnswer,
    SimHis,
    Steps,
    VisitLog,
    VisitPlay,
    start_time,
)
from medsettle.adapters.simulation.network import (
    Faults,
    Network,
    NodeCrashed,
    Scheduler,
    SimClock,
    Trace,
)
from medsettle.adapters.simulation.nodes import HUB, SimHub, SimProvince
from medsettle.adapters.simulation.sides import SimSides
from medsettle.adapters.simulation.world import World, WorldSpec, build_world, pick_provinces
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import MedSettleError
from medsettle.core.policy import PolicyBook
from medsettle.services import clearing, failpoints
from medsettle.services.reconcile import reconcile_day
from medsettle.services.treating_settle import retry_pending_reversals
from medsettle.sim.traffic import PlannedVisit, plan_day


@dataclass(frozen=True)
class Settings:
    """What a run is: its seed, world, traffic and faults."""

    seed: int
    world: WorldSpec
    visits: int = 12
    days: int = 2
    faults: Faults = field(default_factory=Faults.default)
    habits: Habits = field(default_factory=Habits)
    check_every: int = 1  # steps between invariant checks (1: after every step)
    tick: float = 60.0  # seconds between the nodes' background rounds

    def replay(self) -> str:
        """The command that runs this again (and what it cannot say, if anything)."""
        command = (f"medsettle simulate --seed {self.seed} --provinces "
                   f"{len(self.world.provinces)} --visits {self.visits} --days {self.days} "
                   f"--persons {self.world.persons} --institutions {self.world.institutions} "
                   f"--faults {self.faults.describe()}")
        if self.world.provinces != pick_provinces(len(self.world.provinces)) or (
                self.world.population_seed, self.world.day) != (1, WorldSpec.day):
            command += f" (in code: {self.world})"
        if self.habits != Habits():
            command += f" (in code: {self.habits})"
        return command


@dataclass
class Result:
    """What a run did (all of it a function of the settings)."""

    seed: int
    digest: str
    steps: int
    messages: int
    visits: Counter[str]
    crashes: int
    reconciliations: int
    clearings: list[str]


class SimulationFailed(AssertionError):
    """An invariant broke: the message names the seed, the problems and the recent trace."""


class Simulation:
    """One run of `settings`; `run()` plays it and returns its Result or raises
    SimulationFailed."""

    def __init__(self, settings: Settings, book: PolicyBook) -> None:
        self.settings = settings
        self.book = book
        self.world: World = build_world(settings.world, book)
        self.rng = random.Random(f"medsettle-simulate:{settings.seed}:network")
        self.his_rng = random.Random(f"medsettle-simulate:{settings.seed}:hospitals")
        self.clock = SimClock(datetime.combine(settings.world.day, time(0), CHINA).astimezone(UTC))
        self.trace = Trace()
        self.events = Scheduler(self.clock)
        self.net = Network(self.rng, settings.faults, self.clock, self.trace, self._resolve,
                           self._crash, self.events.after)
        self.engines: dict[str, Any] = {}
        self.nodes: dict[str, Any] = {}
        self.his: dict[str, SimHis] = {}
        self.logs: list[VisitLog] = []
        self.in_flight = 0
        self.tick_due = False
        self.steps = self.crashes = self.reconciliations = 0
        self.cleared: list[str] = []
        self.reconciled: set[date] = set()

    # --- nodes ---------------------------------------------------------------------------
    def _start(self, name: str) -> None:
        self.nodes[name] = (
            SimHub(self.engines[HUB], self.clock, self.net) if name == HUB else
            SimProvince(name, self.engines[name], self.world.catalogue(name), self.book,
                        self.clock, self.net))
        self.net.down.discard(name)

    def _resolve(self, name: str) -> Any:
        return self.nodes[name]

    def _crash(self, name: str, where: str) -> None:
        node = self.nodes.pop(name, None)
        if node is None:
            return
        self.crashes += 1
        self.net.down.add(name)
        node.close()
        after = self.settings.faults.restart * self.rng.uniform(0.5, 1.5)
        self.events.after(after, f"restart {name}", lambda: self._restart(name))

    def _restart(self, name: str) -> None:
        if name not in self.nodes:
            self.trace.add(self.clock.now(), f"restart {name}")
            self._start(name)

    def _failpoint(self, point: str) -> Callable[[], None]:
        def maybe_crash() -> None:
            if self.net.calm or not self.net.running:
                return
            if self.rng.random() < self.settings.faults.crash:
                node = self.net.running[-1]
                self.trace.add(self.clock.now(), f"CRASH {node} at {point}")
                self._crash(node, point)
                raise NodeCrashed(node, f"at {point}")
        return maybe_crash

    # --- traffic ---------------------------------------------------------------------------
    def _plan(self) -> list[PlannedVisit]:
        s = self.settings
        per_day = -(-s.visits // s.days)
        planned: list[PlannedVisit] = []
        for d in range(s.days):
            count = min(per_day, s.visits - len(planned))
            if count > 0:
                planned += plan_day(self.world.seeds, day=s.world.day + timedelta(days=d),
                                    visits=count, seed=s.seed)
        return planned

    def _his(self, visit: PlannedVisit) -> SimHis:
        his = self.his.get(visit.fixmedins_code)
        if his is None:
            his = self.his[visit.fixmedins_code] = SimHis(
                visit.treating_province, visit.fixmedins_code, visit.fixmedins_name, self.net,
                self.clock)
        return his

    def _begin(self, visit: PlannedVisit) -> None:
        log = VisitLog(visit)
        self.logs.append(log)
        self.in_flight += 1
        play = VisitPlay(self._his(visit), log, self.his_rng, self.settings.habits).play()
        self._step(play, visit.visit_no)

    def _step(self, play: Steps, label: str) -> None:
        try:
            wait = next(play)
        except StopIteration:
            self.in_flight -= 1
            return
        except BaseException:  # the visit is over with it (a failure, reported by the loop)
            self.in_flight -= 1
            raise
        self.events.after(wait, label, lambda: self._step(play, label))
        self._ensure_tick()

    # --- the nodes' own rounds, reconciliation, clearing -----------------------------------
    def _background(self) -> None:
        """What each node's background loop does: the hub writes its journal, provinces retry
        pending reversals."""
        hub = self.nodes.get(HUB)
        if hub is not None:
            self.net.touched.add(HUB)
            hub.journal.flush()
        for region in self.settings.world.provinces:
            node = self.nodes.get(region)
            if node is None:
                continue
            self.net.touched.add(region)
            self.net.running.append(region)
            try:
                retry_pending_reversals(node.node.treating, self.clock.now())
            except NodeCrashed as crashed:
                if crashed.node != region:
                    raise
            finally:
                self.net.running.pop()

    def _ensure_tick(self) -> None:
        """A background round `tick` seconds from now, unless one is due already (the rounds
        run while visits are in flight; the drain runs the last one)."""
        if not self.tick_due:
            self.tick_due = True
            self.events.after(self.settings.tick, "tick", self._tick)

    def _tick(self) -> None:
        self.tick_due = False
        self._background()
        if self.in_flight:
            self._ensure_tick()

    def _reconcile(self, day: date) -> None:
        """Reconcile `day`; retried in ten minutes when a node cannot be reached."""
        try:
            reconcile_day(SimSides(self.net, self.settings.world.provinces), day)
        except MedSettleError as exc:
            self.trace.add(self.clock.now(), f"reconciliation of {day} failed: {exc}")
            self.events.after(600, f"reconcile {day}", lambda: self._reconcile(day))
            return
        self.reconciliations += 1
        self.reconciled.add(day)
        self.trace.add(self.clock.now(), f"reconciled {day}")

    def _clear(self, month: YearMonth, last_day: date) -> None:
        """Clear `month` at the hub once its last day is reconciled and the hub is up."""
        hub = self.nodes.get(HUB)
        if last_day not in self.reconciled or hub is None:
            self.events.after(600, f"clear {month}", lambda: self._clear(month, last_day))
            return
        hub.journal.flush()
        self.net.touched.add(HUB)
        clearing.run_clearing(hub.store, month, self.clock.now())
        self.cleared.append(str(month))
        self.trace.add(self.clock.now(), f"cleared {month}")
        net = sum(s.net for s in clearing.all_statements(hub.store, month))
        if net:
            self._fail([f"hub: clearing of {month} nets to {net} fen, not 0"], f"clear {month}")

    def _schedule_nights(self) -> None:
        s = self.settings
        for d in range(s.days):
            day = s.world.day + timedelta(days=d)
            night = datetime.combine(day + timedelta(days=1), time(2), CHINA)
            self.events.at(night, f"reconcile {day}", partial(self._reconcile, day))
            following = day + timedelta(days=1)
            if following.day == 1:
                month = YearMonth(day.year, day.month)
                self.events.at(datetime.combine(following, time(3), CHINA), f"clear {month}",
                               partial(self._clear, month, day))

    # --- the run ---------------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> Result:
        """Play the run; its Result, or SimulationFailed."""
        with self.world.fresh_run() as engines:
            self.engines = engines
            self.checker = Checker(engines, self.world.starting_accumulators())
            try:
                return self._run(progress)
            finally:
                failpoints.disarm()
                self.nodes.clear()

    def _run(self, progress: Callable[[int, int], None] | None) -> Result:
        for name in (HUB, *self.settings.world.provinces):
            self._start(name)
        planned = self._plan()
        for visit in planned:
            self.events.at(start_time(visit), visit.visit_no, partial(self._begin, visit))
        self._schedule_nights()
        for point in failpoints.POINTS:
            failpoints.arm(point, self._failpoint(point))
        self._loop(progress, len(planned))
        self._drain()
        problems = self.checker.at_rest(self.logs, self.cleared)
        if problems:
            self._fail(problems)
        return Result(self.settings.seed, self.checker.digest(), self.steps, self.net.messages,
                      Counter(log.state for log in self.logs), self.crashes,
                      self.reconciliations, self.cleared)

    def _loop(self, progress: Callable[[int, int], None] | None, total: int) -> None:
        every = self.settings.check_every
        deadline = datetime.combine(self.settings.world.day + timedelta(days=self.settings.days
                                                                        + 10), time(0), CHINA)
        while self.events:
            event = self.events.pop()
            if self.clock.now() > deadline:
                self._fail(["the run did not come to rest ten days after its last day of "
                            f"traffic (still pending: {event.label})"], event.label)
            try:
                event.action()
            except NodeCrashed:
                pass  # the node is down; what it was doing is gone with it
            except InternalAnswer as exc:
                self._fail([f"a gateway answered [internal]: {exc}"], event.label)
            except Exception as exc:  # a bug in a node: fail with the seed
                self._fail([f"{type(exc).__name__} escaped: {exc}"], event.label, exc)
            self.steps += 1
            if self.steps % every == 0:
                problems = self.checker.after_step(self.net.touched)
                self.net.touched.clear()
                if problems:
                    self._fail(problems, event.label)
            if progress is not None and self.steps % 50 == 0:
                progress(sum(log.done for log in self.logs), total)

    def _drain(self) -> None:
        """Calm the network, bring every node back, finish what is in flight, retry pending
        reversals and reconcile every day of the run."""
        self.net.calm = True
        for name in (HUB, *self.settings.world.provinces):
            if name not in self.nodes:
                self._start(name)
        self._loop(None, 0)
        self._background()
        first = self.settings.world.day
        for d in range(self.settings.days + 1):
            self._reconcile(first + timedelta(days=d))
        self._loop(None, 0)
        self.net.touched.update(self.engines)

    def _fail(self, problems: list[str], where: str = "",
              cause: BaseException | None = None) -> None:
        lines = [f"simulation seed {self.settings.seed} broke an invariant"
                 f"{f' after {where}' if where else ''} (step {self.steps}, "
                 f"{self.clock.now():%Y-%m-%d %H:%M:%S} UTC):",
                 *(f"  - {p}" for p in problems[:8]),
                 f"replay: {self.settings.replay()}", "trace (last lines):",
                 *(f"  {line}" for line in self.trace.tail())]
        raise SimulationFailed("\n".join(lines)) from cause


def simulate(settings: Settings, book: PolicyBook,
             progress: Callable[[int, int], None] | None = None) -> Result:
    """Run `settings` once."""
    return Simulation(settings, book).run(progress)
