"""`medsettle sandbox`: a province node in sandbox mode for HIS engineers (docs/sandbox.md).

One process, no hub: the node answers every insured place of its test persons itself, with the
real gateway, policies and settlement code. A fresh database is seeded with the known world of
adapters/sandbox_data; a database seeded before keeps its visits and settlements.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, serve_province_app
from medsettle.adapters.cli_errors import FAILED, check_port, database_problem, fail
from medsettle.adapters.cli_nodes import run_server
from medsettle.adapters.db.engine import MigrationFailed, make_engine, migrate
from medsettle.adapters.db.node_data import SANDBOX_MARK
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.db.store import Store
from medsettle.adapters.observability import setup_logging
from medsettle.adapters.sandbox_data import HOSPITAL, HOSPITAL_NAME, PERSONS, REGION, sandbox_rows
from medsettle.core.errors import InvalidInput

console = Console()


def seed_sandbox(db_url: str) -> bool:
    """Migrate the database and load the sandbox's world unless it is there; True if loaded.
    InvalidInput naming --db for a database that holds persons and is no sandbox's."""
    engine = make_engine(db_url)
    try:
        migrate(engine, "province")
        with Store(engine).tx() as tx:
            seeded = tx.one("institutions", fixmedins_code=HOSPITAL) is not None
            if not seeded and tx.count("persons") > 0:
                raise InvalidInput("--db", "holds a province's persons and is not a sandbox's "
                                           "database: give the sandbox a database of its own")
            if tx.one("counters", name=SANDBOX_MARK) is None:  # seeded before the mark too
                tx.add("counters", {"name": SANDBOX_MARK, "value": 1})
    finally:
        engine.dispose()
    if not seeded:
        load_rows(db_url, sandbox_rows())
    return not seeded


def sandbox_node(db_url: str, public_url: str = "") -> ProvinceNode:
    """A seeded sandbox node (not yet serving)."""
    seed_sandbox(db_url)
    return ProvinceNode(ProvinceConfig(region=REGION, db_url=db_url, key=secrets.token_hex(32),
                                       public_url=public_url, sandbox=True))


def persons_lines() -> list[str]:
    """The test persons, one line each, as `medsettle sandbox` prints them at start."""
    return [f"{p.key:<6} {p.name:<4} insured {p.insu_admdvs} insutype {p.insutype} "
            f"filing {p.filing or '-':<18} 01 {p.evoucher}  02 {p.certno}  "
            f"03 {p.card_no} card_sn {p.card_sn}  ({p.role})" for p in PERSONS]


def sandbox_command(
        port: Annotated[int, typer.Option()] = 8100,
        host: Annotated[str, typer.Option()] = "127.0.0.1",
        db: Annotated[str, typer.Option(help="the sandbox's database")]
        = "sqlite:///var/sandbox.db",
        fresh: Annotated[bool, typer.Option(
            help="start from a fresh database (deletes an SQLite file first)")] = False,
) -> None:
    """Run a province node in sandbox mode: known test persons, catalogue and institutions, no
    hub; a HIS under test sends its messages to http://HOST:PORT/his."""
    if db.startswith("sqlite:///"):
        path = Path(db.removeprefix("sqlite:///"))
        if fresh:
            path.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    elif fresh:
        fail("--fresh: only an SQLite database can be started fresh; drop the database instead")
    check_port(host, port)
    setup_logging("sandbox")
    try:
        node = sandbox_node(db, f"http://{host}:{port}")
    except InvalidInput as exc:
        fail(str(exc))
    except (SQLAlchemyError, MigrationFailed) as exc:
        fail(database_problem(db, exc), FAILED)
    console.print("Sandbox test persons (docs/sandbox.md):")
    for line in persons_lines():
        console.print(line, highlight=False, soft_wrap=True, markup=False)
    console.print(f"Sandbox province {REGION}: your HIS is {HOSPITAL} {HOSPITAL_NAME}; "
                  f"send to http://{host}:{port}/his  (Ctrl-C stops)", highlight=False)
    run_server(serve_province_app(node), host, port)
