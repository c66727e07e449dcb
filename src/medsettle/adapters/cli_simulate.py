"""`medsettle simulate`: one seeded, deterministic run of the whole federation in this process
(adapters/simulation, docs/simulation.md)."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from medsettle.adapters.cli_errors import BAD_INPUT, FAILED, fail
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.observability import silenced
from medsettle.adapters.simulation.network import Faults
from medsettle.adapters.simulation.run import Result, Settings, Simulation, SimulationFailed
from medsettle.adapters.simulation.world import WorldSpec, pick_provinces
from medsettle.core.errors import MedSettleError


def summary(result: Result, seconds: float) -> str:
    """The one-line summary of a run."""
    states = ", ".join(f"{n} {state}" for state, n in sorted(result.visits.items()))
    return (f"seed {result.seed}: {sum(result.visits.values())} visits ({states}); "
            f"{result.messages} messages, {result.steps} steps, {result.crashes} crashes, "
            f"{result.reconciliations} reconciliations, cleared {','.join(result.clearings) or '-'}"
            f"; invariants held; digest {result.digest[:16]}; {seconds:.1f} s "
            f"({result.messages / max(seconds, 1e-9):,.0f} messages/s)")


def simulate_command(
        seed: Annotated[int, typer.Option(help="the run's seed: same seed, same run")] = 1,
        provinces: Annotated[int, typer.Option(help="province nodes (2-32)")] = 3,
        visits: Annotated[int, typer.Option(help="planned cross-province visits")] = 24,
        days: Annotated[int, typer.Option(help="days of traffic (from 2025-03-31)")] = 2,
        persons: Annotated[int, typer.Option(help="insured persons per province")] = 24,
        institutions: Annotated[int, typer.Option(help="institutions per province")] = 3,
        faults: Annotated[str, typer.Option(
            help='"default", "none", or e.g. "default,crash=0.05" or "drop=0.1,delay=0.2"; '
                 "names: drop, lose_reply, delay, duplicate, crash, timeout, restart")]
        = "default",
        check_every: Annotated[int, typer.Option(
            help="steps between invariant checks (1: after every step)")] = 1) -> None:
    """Simulate the hub and provinces in one process over a faulty network; check the
    invariants after every step; print a one-line summary (or the seed and a trace)."""
    with silenced():  # the nodes' refusals are the point; not worth a line each
        _simulate(seed, provinces, visits, days, persons, institutions, faults, check_every)


def _simulate(seed: int, provinces: int, visits: int, days: int, persons: int,
              institutions: int, faults: str, check_every: int) -> None:
    try:
        if visits < 1 or days < 1 or check_every < 1:
            fail("--visits, --days and --check-every must be at least 1", BAD_INPUT)
        settings = Settings(seed=seed, world=WorldSpec(pick_provinces(provinces),
                                                       persons=persons,
                                                       institutions=institutions),
                            visits=visits, days=days, faults=Faults.parse(faults),
                            check_every=check_every)
    except MedSettleError as exc:
        fail(str(exc), BAD_INPUT)
    console = Console(stderr=True)
    started = time.perf_counter()
    with Progress(TextColumn("simulating seed {task.fields[seed]}"), BarColumn(),
                  MofNCompleteColumn(), TextColumn("visits"), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("run", total=visits, seed=seed)
        try:
            result = Simulation(settings, load_policy_book()).run(
                lambda done, total: progress.update(task, completed=done, total=total))
        except SimulationFailed as exc:
            progress.stop()
            console.print(str(exc), style="red", markup=False, highlight=False)
            raise typer.Exit(FAILED) from None
    typer.echo(summary(result, time.perf_counter() - started))
