"""`medsettle operator add|list|disable`: the operators who may call a node's /api routes.

A province operator works at one province node, a hub operator at the hub; each is kept in that
node's database, which is migrated first, as a node does when it starts. The token is printed
once, when the operator is created: the database keeps only its SHA-256.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from medsettle.adapters import cli_errors
from medsettle.adapters.cli_errors import BAD_INPUT, FAILED
from medsettle.adapters.db.engine import MigrationFailed, Role, make_engine, migrate, schema_role
from medsettle.adapters.db.store import Store
from medsettle.core.errors import InvalidInput, MedSettleError
from medsettle.core.operators import (
    MIN_PASSWORD,
    Operator,
    validate_name,
    validate_password,
    validate_region,
    validate_role,
)
from medsettle.services import operators as svc
from medsettle.services.ports import UnitOfWork

operator_app = typer.Typer(help="Operators of a node's API: their tokens open the /api routes "
                                "(Authorization: Bearer <token>).", no_args_is_help=True)
console = Console(highlight=False, soft_wrap=True)
T = TypeVar("T")
#: How this command names the fields that the operator rules name.
OPTION_OF = {"name": "NAME", "role": "--role", "region": "--region", "db": "--db",
             "password": "--password"}
DB_HELP = "the node's database URL (sqlite:///FILE or postgresql://…)"


def fail(message: str, status: int = BAD_INPUT) -> NoReturn:
    """Print one error line on stderr and exit with `status` (2: bad input)."""
    cli_errors.fail(message, status)


def describe(exc: MedSettleError) -> str:
    """A domain error as one line, naming the option or argument at fault."""
    if isinstance(exc, InvalidInput):
        return f"{OPTION_OF.get(exc.field, exc.field)}: {exc.message}"
    return str(exc)


@contextmanager
def node_database(db: str, role: Role | None) -> Iterator[Store]:
    """The node database at `db`, migrated to its newest schema. With `role`, the database is
    created if need be and must hold that role's schema; without, it must already exist."""
    path = Path(db.removeprefix("sqlite:///")) if db.startswith("sqlite:///") else None
    if path is not None and role is None and not path.is_file():
        raise InvalidInput("db", f"no such SQLite file: {path}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(db)
    try:
        held = schema_role(engine)
        target = role or held
        if target is None:
            raise InvalidInput("db", "holds no node's schema yet: start the node, or add an "
                                     "operator first")
        if held not in (None, target):
            raise InvalidInput("db", f"is a {held} database; a {target} operator is kept in "
                                     f"the {target}'s database")
        migrate(engine, target)
        yield Store(engine)
    finally:
        engine.dispose()


def in_database(db: str, role: Role | None, work: Callable[[UnitOfWork], T]) -> T:
    """Run `work` in one transaction of the node database; any failure is one line, exit 2."""
    try:
        with node_database(db, role) as store, store.tx() as tx:
            return work(tx)
    except MedSettleError as exc:
        fail(describe(exc))
    except (SQLAlchemyError, MigrationFailed) as exc:
        fail(cli_errors.database_problem(db, exc),
             FAILED if isinstance(exc, OperationalError) else BAD_INPUT)


def where(operator: Operator) -> str:
    """Where the operator works: "province 440000", "hub", "auditor of province 440000"."""
    place = f"province {operator.region}" if operator.region else "hub"
    return f"auditor of {place}" if operator.role == "auditor" else place


def new_password() -> str:
    """A console password that is easy to type: four groups of four lowercase letters/digits."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    return "-".join("".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(4))


@operator_app.command("add")
def add_operator(
        name: Annotated[str, typer.Argument(metavar="NAME", help="the operator's name, unique "
                                                                 "at the node")],
        db: Annotated[str, typer.Option(help=DB_HELP)],
        role: Annotated[str, typer.Option(help="province, hub or auditor (read only)")],
        region: Annotated[str | None, typer.Option(help="the province code of a province "
                                                        "operator or auditor, e.g. 440000")]
        = None,
        password: Annotated[str | None, typer.Option(
            help=f"console password (at least {MIN_PASSWORD} characters; default: one is "
                 "made and printed)")] = None,
) -> None:
    """Create an operator and print their token and console password, once."""
    try:  # the arguments first: bad input must not create or migrate a database
        checked_role = validate_role(role)
        validate_name(name)
        checked_region = validate_region(checked_role, region)
        chosen = validate_password(password) if password is not None else new_password()
    except InvalidInput as exc:
        fail(describe(exc))
    node: Role = ("hub" if checked_role == "hub" or (checked_role == "auditor"
                                                     and checked_region is None) else "province")
    operator, token = in_database(db, node, lambda tx: svc.create_operator(
        tx, name, checked_role, region, datetime.now(UTC), chosen))
    typer.echo(f"created operator {operator.name} ({where(operator)})")
    typer.echo(f"token: {token}")
    if password is None:
        typer.echo(f"password: {chosen}")
    typer.echo("The token (for scripts: Authorization: Bearer …) and the password (for the "
               "console's sign-in) are shown only once: store them now. Only their hashes are "
               "kept; if one is lost, disable the operator and add another.")


@operator_app.command("list")
def list_operators(db: Annotated[str, typer.Option(help=DB_HELP)]) -> None:
    """List the node's operators (names, roles, regions; never tokens)."""
    found = in_database(db, None, svc.list_operators)
    if not found:
        console.print("no operators yet: medsettle operator add NAME --db URL --role province "
                      "--region CODE")
        return
    table = Table(title="Operators")
    for column in ("name", "role", "region", "created (UTC)", "status"):
        table.add_column(column)
    for o in found:
        table.add_row(o.name, o.role, o.region or "-", o.created_at.strftime("%Y-%m-%d %H:%M"),
                      "disabled" if o.disabled else "active")
    console.print(table)


@operator_app.command("disable")
def disable_operator(
        name: Annotated[str, typer.Argument(metavar="NAME", help="the operator to disable")],
        db: Annotated[str, typer.Option(help=DB_HELP)],
) -> None:
    """Disable an operator: their token is refused from now on."""
    operator, changed = in_database(db, None, lambda tx: svc.disable_operator(tx, name))
    state = "disabled" if changed else "was already disabled"
    typer.echo(f"operator {operator.name} ({where(operator)}) {state}: their token is refused")
