"""`medsettle supervise --month` runs the monthly batch of the supervision rules on a node's
database (a province's: the rules over the visits it treated; the hub's: R05 across provinces
and R09, which opens 双地联查 cases); `medsettle stats --month` prints the national figures
from the hub's database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from medsettle.adapters.cli_errors import FAILED, database_problem, existing_sqlite, fail
from medsettle.adapters.db.engine import MigrationFailed, make_engine, migrate, schema_role
from medsettle.adapters.db.store import Store
from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import InvalidInput, MedSettleError
from medsettle.core.money import fen_to_yuan
from medsettle.core.supervision.hits import RULES
from medsettle.core.supervision.thresholds import Thresholds
from medsettle.services import statistics
from medsettle.services import supervision_batch as batch_svc
from medsettle.services import supervision_cases as cases_svc

console = Console()
err_console = Console(stderr=True)


def supervise_command(
        month: Annotated[str, typer.Option("--month", help="the month, e.g. 2026-10")],
        db: Annotated[str, typer.Option("--db", help="a province's or the hub's database URL")
                      ] = "sqlite:///var/hub.db",
        show: Annotated[int, typer.Option("--show", help="hits to print per rule")] = 3,
) -> None:
    """Run the monthly batch of the supervision rules (R01–R12) on a node's database and keep
    the hits with their evidence; at the hub, R09 cost surges open 双地联查 cases."""
    try:
        m = YearMonth.parse(month, "--month")
        existing_sqlite(db)
        engine = make_engine(db)
        role = schema_role(engine)
        if role is None:
            raise InvalidInput("--db", "holds no node's schema yet")
        migrate(engine, role)
        store = Store(engine)
        book = load_threshold_book()
        _, last = batch_svc.month_days(m)

        def thresholds(region: str) -> Thresholds:
            return book.find(region, last)
        now = datetime.now(UTC)
        hits = (batch_svc.run_hub(store, m, thresholds, now, cases_svc.create_case)
                if role == "hub" else batch_svc.run_node(store, m, thresholds, now))
    except MedSettleError as exc:
        err_console.print(f"[bold red]error[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    table = Table(title=f"Supervision {m} at the {role}: {len(hits)} hits")
    for name in ("rule", "name", "hits", "example"):
        table.add_column(name, justify="right" if name == "hits" else "left")
    for rule, name in RULES.items():
        mine = [h for h in hits if h.rule == rule]
        table.add_row(rule, name, str(len(mine)),
                      "\n".join(f"{h.key}: {h.message}" for h in mine[:show]) or "-")
    console.print(table)


def stats_command(
        month: Annotated[str, typer.Option("--month", help="the month, e.g. 2026-10")],
        hub_db: Annotated[str, typer.Option("--hub-db", help="the hub's database URL")
                          ] = "sqlite:///var/hub.db",
        fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Print a month's national figures from the hub's database (the provinces' reports that
    the hub collected with POST /statistics/{month}/collect included)."""
    from medsettle.adapters.api.hub_supervision import figures
    try:
        m = YearMonth.parse(month, "--month")
        if fmt not in ("table", "json", "csv"):
            raise InvalidInput("--format", "must be table, json or csv")
        existing_sqlite(hub_db, "--hub-db")
        store = Store(make_engine(hub_db))
        migrate(store.engine, "hub")
        found = figures(store, m, datetime.now(UTC))
    except MedSettleError as exc:
        err_console.print(f"[bold red]error[/]: {exc}", highlight=False)
        raise typer.Exit(2) from None
    except (SQLAlchemyError, MigrationFailed) as exc:
        fail(database_problem(hub_db, exc, "--hub-db"), FAILED)
    if fmt == "json":
        console.print_json(data=found)
        return
    if fmt == "csv":
        print(statistics.to_csv(found), end="")
        return
    t = found["totals"]
    table = Table(title=f"Cross-province figures {m}: {t['settlements']} settlements, direct "
                        f"rate {t['direct_rate'] or '-'}, fund ratio {t['fund_ratio'] or '-'}")
    for name in ("insured", "treating", "visit type", "visits", "settlements", "manual",
                 "direct rate", "medical fees", "funds", "fund ratio"):
        table.add_column(name, justify="left" if name in ("insured", "treating", "visit type")
                         else "right")
    for r in found["by_province"]:
        table.add_row(r["insured"], r["treating"], r["visit_type"], str(r["visits"]),
                      str(r["settlements"]), str(r["manual"]), r["direct_rate"],
                      fen_to_yuan(r["medfee"]), fen_to_yuan(r["fund"]), r["fund_ratio"])
    console.print(table)
    rt = found["response_ms"]
    console.print(f"response (ms) p50 {rt['p50']} p95 {rt['p95']} p99 {rt['p99']} over "
                  f"{rt['count']} settle calls; failures {sum(x['count'] for x in found['failures'])}; "
                  f"cases {found['coordination']['cases']}, tickets "
                  f"{found['coordination']['tickets']}")
