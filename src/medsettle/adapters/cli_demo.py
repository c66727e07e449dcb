"""`medsettle demo` and `medsettle sim`: a synthetic federation and a day of traffic."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medsettle.adapters.api.person_app import DEMO_CODES
from medsettle.adapters.cli_errors import FAILED, fail
from medsettle.adapters.cli_operators import new_password
from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.launcher import Federation
from medsettle.adapters.player import Player, Tally, by_province
from medsettle.core import codes
from medsettle.core.clearing import YearMonth
from medsettle.core.money import fen_to_yuan
from medsettle.services.operators import create_operator
from medsettle.services.verify import verify_hub_log, verify_node
from medsettle.sim.population import ProvinceSeed, generate_province
from medsettle.sim.traffic import plan_day

console = Console(width=110) if not Console().is_terminal else Console()
#: When fewer than 32 provinces are asked for, these come first (the busiest destinations).
BUSIEST = ["440000", "310000", "110000", "330000", "320000", "460000", "510000", "410000",
           "530000", "230000", "360000", "610000"]


#: The demo gives a province 10 s to answer (production: 2.5 s): on a loaded laptop a slow
#: answer must not silently become a different outcome (a timeout marks the visit for manual
#: reimbursement, and the demo would no longer be the same for the same seed).
DEMO_CALL_TIMEOUT = 10.0


def pick_provinces(count: int) -> list[str]:
    """`count` provinces, the busiest first."""
    if not 2 <= count <= 32:
        raise typer.BadParameter("between 2 and 32", param_hint="--provinces")
    rest = [p for p in codes.PROVINCES if p not in BUSIEST]
    return (BUSIEST + rest)[:count]


def check_counts(persons: int, institutions: int, visits: int, concurrency: int = 1) -> None:
    """The population and traffic sizes a user gives: a usage error naming the option (a
    population nobody of which can travel failed in the middle of the run)."""
    for option, value, least in (("--persons", persons, 10), ("--institutions", institutions, 1),
                                 ("--visits", visits, 1), ("--concurrency", concurrency, 1)):
        if value < least:
            raise typer.BadParameter(f"at least {least}, not {value}", param_hint=option)


def today_in_china() -> date:
    """The business date in Asia/Shanghai."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def progress() -> Progress:
    """A progress display for long steps."""
    return Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def generate(provinces: list[str], persons: int, institutions: int, on: date, seed: int,
             bar: Progress) -> dict[str, ProvinceSeed]:
    """A synthetic population, institutions and catalogue for each province."""
    task = bar.add_task("generate populations", total=len(provinces))
    seeds = {}
    book = load_policy_book()
    for province in provinces:
        seeds[province] = generate_province(province, persons=persons, institutions=institutions,
                                            on=on, seed=seed, book=book)
        bar.advance(task)
    return seeds


def rows_of(seed: ProvinceSeed) -> dict[str, list[dict[str, object]]]:
    """A seed as rows by table."""
    return {"persons": seed.persons, "accumulators": seed.accumulators, "filings": seed.filings,
            "institutions": seed.institutions,
            "catalogue": [{k: v for k, v in row.items() if k != "id"} for row in seed.catalogue]}


def summary(tally: Tally) -> Table:
    """Visits, settled, failed, direct settlement rate and funds paid, by insured province."""
    table = Table(title="A day of cross-province direct settlement, by insured province")
    table.caption = ("refused: not filed or suspended institution, as planned · rate: direct "
                     "settlement rate = settled ÷ (settled + failed)")
    for column in ("insured in", "visits", "settled", "refused", "failed", "rate",
                   "medical fees ¥", "funds paid ¥"):
        table.add_column(column, justify="left" if column == "insured in" else "right",
                         no_wrap=True)
    rows = by_province(tally)
    for province, row in rows.items():
        table.add_row(f"{province} {codes.PROVINCES[province]}", str(row["visits"]),
                      str(row["settled"]), str(row["refused"]), str(row["failed"]),
                      f"{row['rate']:.1%}", fen_to_yuan(int(row["medfee"])),
                      fen_to_yuan(int(row["funds"])))
    table.add_row("all", str(sum(tally.visits.values())), str(sum(tally.settled.values())),
                  str(sum(tally.refused_as_expected.values())), str(sum(tally.failed.values())),
                  f"{tally.rate():.1%}", fen_to_yuan(sum(tally.medfee.values())),
                  fen_to_yuan(sum(tally.funds.values())), style="bold")
    return table


def money_trail(federation: Federation) -> str:
    """One line on the money trail: every node's ledger verified, the hub's index and log."""
    federation.flush_hub_journal()
    intact = 0
    provinces = [r for r in federation.dbs if r != "hub"]
    for region in provinces:
        store = Store(make_engine(federation.dbs[region]))
        intact += verify_node(store, "province", {}) is None
        store.engine.dispose()
    hub = Store(make_engine(federation.dbs["hub"]))
    with hub.tx() as tx:
        indexed = tx.count("settlement_index")
    log_intact = verify_hub_log(hub) is None
    hub.engine.dispose()
    return (f"Money trail: {intact}/{len(provinces)} province ledgers verify intact (hash "
            f"chains, balanced entries); the hub indexed {indexed} settlements for clearing and "
            f"its message log {'verifies intact' if log_intact else 'DOES NOT VERIFY'}.")


#: The file that marks a folder as a demo's own, so that a later demo may empty it.
DEMO_MARK = ".medsettle-demo"


def fresh_workdir(workdir: Path) -> None:
    """Empty `workdir` for a new demo, or make it; a folder that holds anything else than an
    earlier demo's files is refused, never emptied."""
    try:
        if workdir.exists() and any(workdir.iterdir()):
            if not (workdir / DEMO_MARK).is_file():
                fail(f"--workdir: {workdir} is not empty and was not made by a demo; choose an "
                     "empty or new folder")
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / DEMO_MARK).write_text("made by medsettle demo; emptied by the next one\n")
    except NotADirectoryError:
        fail(f"--workdir: cannot use {workdir}: it is a file, not a folder")
    except OSError as exc:
        fail(f"--workdir: cannot use {workdir}: {exc.strerror}")


def demo_command(
        provinces: Annotated[int, typer.Option(help="how many province nodes (2–32)")] = 32,
        persons: Annotated[int, typer.Option(help="insured persons per province")] = 1500,
        institutions: Annotated[int, typer.Option(help="institutions per province")] = 40,
        visits: Annotated[int, typer.Option(help="cross-province visits in the day")] = 1500,
        concurrency: Annotated[int, typer.Option(help="visits in flight at once")] = 16,
        seed: Annotated[int, typer.Option(help="random seed of the simulation")] = 2026,
        workdir: Annotated[Path, typer.Option(help="databases, keys and logs")]
        = Path("var/demo"),
        pg: Annotated[str | None, typer.Option(help="PostgreSQL server URL (default: SQLite "
                                                     "files)")] = None,
        exit_after: Annotated[bool, typer.Option("--exit", help="exit 0 after the summary (also "
                                                               "when not run from a terminal)")]
        = False,
        clear_now: Annotated[bool, typer.Option(
            "--clear-now/--no-clear-now", help="clear the current month so far at the end, so "
                                               "the console shows a real clearing")] = True,
) -> None:
    """Start the hub and province nodes, load a synthetic population, play a day of
    cross-province traffic through the HIS gateways and print what happened. In a terminal the
    nodes keep running until Ctrl-C, which stops every one of them."""
    chosen = pick_provinces(provinces)
    check_counts(persons, institutions, visits, concurrency)
    if pg is not None:
        check_server(pg)
    day = today_in_china()
    fresh_workdir(workdir)
    stay = not exit_after and sys.stdin.isatty()
    console.print(f"[bold]MedSettle demo[/]: {len(chosen)} province nodes + the hub, "
                  f"{persons} insured persons and {institutions} institutions per province, "
                  f"{visits} cross-province visits on {day}.")
    os.environ[DEMO_CODES] = "1"  # the app's sign-in page shows its one-time codes (demo-grade)
    federation: Federation | None = None
    ctrl_c = CtrlC()
    previous = signal.signal(signal.SIGINT, ctrl_c)
    try:
        with progress() as bar:
            seeds = generate(chosen, persons, institutions, day, seed, bar)
            load = bar.add_task("load databases", total=len(chosen))
            federation = Federation(workdir.resolve(), {p: rows_of(seeds[p]) for p in chosen},
                                    pg_url=pg, call_timeout=DEMO_CALL_TIMEOUT,
                                    his_timeout=DEMO_CALL_TIMEOUT + 2.0,
                                    on_loaded=lambda _: bar.advance(load),
                                    allow_early_clearing=clear_now)
            start = bar.add_task("start hub and province nodes", total=len(chosen))
            federation.start(on_started=lambda _: bar.advance(start))
            planned = plan_day(seeds, day=day, visits=visits, seed=seed)
            play = bar.add_task("play the day through the gateways", total=len(planned))
            tally = Player(federation.urls).play(planned, concurrency,
                                                 on_done=lambda: bar.advance(play))
        ctrl_c.check()
        report(federation, tally, chosen, workdir, clear_now, stay,
               seeds[chosen[0]].persons)
        ctrl_c.check()
        if not stay:  # nobody there to press Ctrl-C: stop now
            if not sum(tally.settled.values()):
                fail("no visit settled; see the nodes' logs in " + str(workdir), FAILED)
            return
        console.print("The federation keeps running; press Ctrl-C to stop it.")
        wait_for_stop(ctrl_c)
    except KeyboardInterrupt:
        console.print("interrupted: stopping every node")
        raise typer.Exit(130) from None
    except typer.Exit:
        raise
    except (RuntimeError, TimeoutError) as exc:  # a node did not start or answer
        fail(f"{exc}", FAILED)
    finally:
        if federation is not None:
            stop_federation(federation)
        signal.signal(signal.SIGINT, previous)


def report(federation: Federation, tally: Tally, chosen: list[str], workdir: Path,
           clear_now: bool, stay: bool, app_persons: list[dict[str, Any]]) -> None:
    """What the demo did: the day's summary, the money trail, the clearing so far, the
    console's accounts and where to look next."""
    console.print(summary(tally))
    console.print(money_trail(federation))
    if clear_now:
        month = str(YearMonth.of(datetime.now(ZoneInfo("Asia/Shanghai"))))
        try:
            cleared = federation.clear_month(month, early=True)
            console.print(f"Clearing of {month} so far (--clear-now): {cleared['provinces']} "
                          f"statements drafted, Σ obligations ¥{fen_to_yuan(cleared['obligations'])}"
                          " — confirm, dispute and pay them in the console.")
        except RuntimeError as exc:
            console.print(f"[yellow]clearing not run[/]: {exc}")
    accounts = demo_accounts(federation, chosen[0])
    if tally.reasons:
        console.print("failures by reason: " + ", ".join(f"{k} {v}" for k, v in
                                                         tally.reasons.most_common()))
    if not stay:
        console.print("(the nodes stop now; run `medsettle demo` in a terminal to keep them "
                      "running and explore)")
    console.print(accounts_table(federation, accounts))
    console.print(app_line(federation, chosen[0], app_persons))
    console.print(f"Next: the hub's console {federation.hub_url}/console (node board, clearing, "
                  f"search), a province's console {federation.urls[chosen[0]]}/console, its "
                  f"metrics {federation.urls[chosen[0]]}/metrics and API docs "
                  f"{federation.urls[chosen[0]]}/docs, JSON logs in {workdir}/*.log, "
                  "docs/his-integration.md to connect a HIS.")


class CtrlC:
    """The demo's SIGINT handler: it raises KeyboardInterrupt as Python's own does, and also
    remembers the press, so that a Ctrl-C whose exception something on the way swallowed still
    stops the demo at its next look (two full test runs once saw a demo wait on after one)."""

    def __init__(self) -> None:
        self.pressed = threading.Event()

    def __call__(self, signum: int, frame: object) -> None:
        self.pressed.set()
        raise KeyboardInterrupt

    def check(self) -> None:
        """Raise KeyboardInterrupt if Ctrl-C was pressed."""
        if self.pressed.is_set():
            raise KeyboardInterrupt


def wait_for_stop(ctrl_c: CtrlC) -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM, or return at once if Ctrl-C came already."""
    signal.signal(signal.SIGINT, lambda *_: ctrl_c.pressed.set())
    signal.signal(signal.SIGTERM, lambda *_: ctrl_c.pressed.set())
    while not ctrl_c.pressed.wait(1.0):
        pass
    console.print("stopping every node")


def stop_federation(federation: Federation) -> None:
    """Stop every node and wait for it, with Ctrl-C ignored meanwhile: a second Ctrl-C must not
    leave a node running."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        federation.close()
    finally:
        signal.signal(signal.SIGINT, previous)


def check_server(pg: str) -> None:
    """Exit with one line if the PostgreSQL server of --pg does not answer."""
    import psycopg

    try:
        psycopg.connect(pg, autocommit=True, connect_timeout=5).close()
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        fail(f"--pg: cannot connect to {pg}: {first}", FAILED)


#: The demo's accounts: (name, role, where); each gets a fresh password, printed once.
DEMO_ACCOUNTS = (("hub-ops", "hub", "hub"), ("province-ops", "province", "first"),
                 ("auditor", "auditor", "hub"))


def demo_accounts(federation: Federation, first: str) -> list[tuple[str, str, str, str]]:
    """Create the demo's operators (a hub operator, an operator of the first province, an
    auditor of the hub) in their nodes' databases; returns (name, role, node, password)."""
    made = []
    for name, role, where in DEMO_ACCOUNTS:
        node = first if where == "first" else "hub"
        password = new_password()
        store = Store(make_engine(federation.dbs[node]))
        with store.tx() as tx:
            create_operator(tx, name, role, None if node == "hub" else node,
                            datetime.now(ZoneInfo("UTC")), password)
        store.engine.dispose()
        made.append((name, role, node, password))
    return made


def app_line(federation: Federation, first: str, persons: list[dict[str, Any]]) -> str:
    """Where the insured person's app is and ID numbers to sign in with (the one-time code is
    shown on the page in the demo, and written to the node's log)."""
    ids = ", ".join(str(p["certno"]) for p in persons[:3])
    return (f"Insured person's app: {federation.urls[first]}/app — sign in with an ID number "
            f"insured in {first}, e.g. {ids}; the demo shows the one-time code on the page.")


def accounts_table(federation: Federation, accounts: list[tuple[str, str, str, str]]) -> Table:
    """The console's address and the demo accounts."""
    table = Table(title="Operator console: sign in with these demo accounts")
    for column in ("console", "name", "password", "role"):
        table.add_column(column, no_wrap=True)
    for name, role, node, password in accounts:
        url = (federation.hub_url if node == "hub" else federation.urls[node]) + "/console"
        table.add_row(url, name, password, role if node == "hub" else f"{role} {node}")
    return table


def sim_command(
        out: Annotated[Path, typer.Option(help="folder for the generated files")]
        = Path("var/sim"),
        provinces: Annotated[int, typer.Option(help="how many provinces (2–32)")] = 32,
        persons: Annotated[int, typer.Option(help="insured persons per province")] = 2000,
        institutions: Annotated[int, typer.Option(help="institutions per province")] = 60,
        visits: Annotated[int, typer.Option(help="cross-province visits in the day")] = 5000,
        seed: Annotated[int, typer.Option(help="random seed")] = 2026) -> None:
    """Generate a synthetic population per province and a day of traffic, as JSON files
    (<province>.json rows by table, traffic.jsonl one planned visit per line)."""
    chosen = pick_provinces(provinces)
    check_counts(persons, institutions, visits)
    day = today_in_china()
    out.mkdir(parents=True, exist_ok=True)
    os.environ[DEMO_CODES] = "1"  # the app's sign-in page shows its one-time codes (demo-grade)
    with progress() as bar:
        seeds = generate(chosen, persons, institutions, day, seed, bar)
        write = bar.add_task("write files", total=len(chosen) + 1)
        for province, seed_rows in seeds.items():
            (out / f"{province}.json").write_text(json.dumps(rows_of(seed_rows), default=str,
                                                             ensure_ascii=False),
                                                  encoding="utf-8")
            bar.advance(write)
        planned = plan_day(seeds, day=day, visits=visits, seed=seed)
        with (out / "traffic.jsonl").open("w", encoding="utf-8") as handle:
            for visit in planned:
                handle.write(json.dumps(asdict(visit), default=str, ensure_ascii=False) + "\n")
        bar.advance(write)
    console.print(f"wrote {len(chosen)} province files and {len(planned)} planned visits to "
                  f"{out}")
