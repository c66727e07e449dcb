"""`medsettle clear --month 2026-10`: clear a month at the hub's database, with progress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from medsettle.adapters.cli_errors import (
    FAILED,
    database_problem,
    existing_sqlite,
    fail,
    status_of,
)
from medsettle.adapters.db.engine import MigrationFailed, make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import MedSettleError
from medsettle.core.money import fen_to_yuan
from medsettle.services import clearing as svc

console = Console()


def clear_command(
        month: Annotated[str, typer.Option("--month", help="the month to clear, e.g. 2026-10")],
        hub_db: Annotated[str, typer.Option("--hub-db", help="the hub's database URL")
                          ] = "sqlite:///var/hub.db",
        as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")
                           ] = False,
) -> None:
    """Clear a month (清算): obligations, netting, statements, prepayment draws. A re-run of a
    cleared month changes nothing and prints the stored result."""
    try:
        m = YearMonth.parse(month, "--month")
    except MedSettleError as exc:
        fail(str(exc))
    existing_sqlite(hub_db, "--hub-db")
    store = Store(make_engine(hub_db))
    try:
        migrate(store.engine, "hub")
        with store.tx() as tx:
            ended = datetime.now(UTC) >= m.bounds()[1]  # else run_clearing says so
            cleared = tx.count("clearing_statements", month=str(m)) > 0
            if ended and not cleared and not svc.month_totals(tx, m):
                fail(f"--month: nothing to clear: the hub indexed no cross-province settlement "
                     f"in {m}", FAILED)
        result = _run(store, m)
        accounts = {a["province"]: a for a in svc.accounts(store)}
    except MedSettleError as exc:
        fail(str(exc), status_of(exc))
    except (SQLAlchemyError, MigrationFailed) as exc:
        fail(database_problem(hub_db, exc, "--hub-db"), FAILED)
    finally:
        store.engine.dispose()
    if as_json:
        console.print_json(data=result | {"prepayment": list(accounts.values())})
        return
    console.print(_table(result, accounts))
    state = "cleared now" if result["created"] else "already cleared; nothing changed"
    console.print(f"{result['month']}: {state}; {result['settlements']} settlements in "
                  f"{result['pairs']} province pairs, obligations ¥"
                  f"{fen_to_yuan(result['obligations'])}, Σ nets {result['net_sum']} fen")


def _run(store: Store, m: YearMonth) -> dict[str, Any]:
    with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task(f"clearing {m}", total=4)

        def report(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)
        return svc.run_clearing(store, m, datetime.now(UTC), report)


def _table(result: dict[str, Any], accounts: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=f"Clearing {result['month']} (清算): {result['status']}")
    for name in ("province", "owes (应付)", "due (应收)", "net (净额)", "status",
                 "prepayment (预付金)", "usage", "level"):
        table.add_column(name, justify="left" if name in ("province", "status", "level")
                         else "right")
    colour = {"ok": "green", "warning": "yellow", "critical": "bold red"}
    for s in result["statements"]:
        a = accounts.get(s["province"])
        lvl = a["level"] if a else "-"
        table.add_row(s["province"], fen_to_yuan(s["owes"]), fen_to_yuan(s["due"]),
                      fen_to_yuan(s["net"]), s["status"],
                      fen_to_yuan(a["balance"]) if a else "-", a["usage"] if a else "-",
                      f"[{colour.get(lvl, 'white')}]{lvl}[/]")
    return table
