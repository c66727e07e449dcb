"""`medsettle clear --month 2026-10`: clear a month at the hub's database, with progress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import MedSettleError
from medsettle.core.money import fen_to_yuan
from medsettle.services import clearing as svc

console = Console()
err_console = Console(stderr=True)


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
        store = Store(make_engine(hub_db))
        migrate(store.engine, "hub")
        result = _run(store, m)
        accounts = {a["province"]: a for a in svc.accounts(store)}
    except MedSettleError as exc:
        err_console.print(f"[bold red]error[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None
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
