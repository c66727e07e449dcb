"""`medsettle policy validate|load|approve|reject|withdraw|list`: a province's own parameter sets.

`validate FILE` names every error of a document by key. `load FILE --db URL --as NAME` proposes
the set in the province node's database and shows its difference against the set in force on
its valid_from; `approve ID --db URL --as OTHER` (a second operator: four eyes) puts it in force
from its valid_from, on running nodes too (services/policy_sets). Every step is audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from medsettle.adapters.cli_errors import FAILED, fail, policy_folder, status_of
from medsettle.adapters.cli_operators import node_database
from medsettle.adapters.db.engine import schema_role
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import load_policy_book, read_document
from medsettle.core import codes
from medsettle.core.errors import InvalidInput, MedSettleError, NotFound, PolicyInvalid
from medsettle.core.operators import Operator
from medsettle.core.policy import ParameterSet
from medsettle.core.policy_view import provenance_notice
from medsettle.core.served import ServedBook
from medsettle.services import operators as operator_svc
from medsettle.services import policy_sets as svc

console = Console(highlight=False, soft_wrap=True)
DB_HELP = "the province node's database URL (sqlite:///FILE or postgresql://…)"
AS_HELP = "the province operator doing this (medsettle operator add), e.g. clerk"
POLICIES_HELP = "the node's seed folder <admdvs>/<scheme>/*.yaml (default: the shipped one)"


def describe_set(ps: ParameterSet) -> str:
    """One line naming a set: id, region, scheme, dates and content hash."""
    until = f" until {ps.valid_until}" if ps.valid_until else " (open-ended)"
    return (f"{ps.id}: region {ps.insu_admdvs}, {ps.scheme}, from {ps.valid_from}{until}, "
            f"sha256 {ps.content_hash[:16]}…")


def checked(path: Path) -> tuple[object, ParameterSet]:
    """A policy document and its set; every error is printed (one line each, by key) and the
    command exits 2."""
    if not path.is_file():
        fail(f"FILE: no such file: {path}")
    try:
        doc = svc.normalized(read_document(path))
    except MedSettleError as exc:
        fail(str(exc))
    errors = svc.errors_of(doc, path.name)
    if errors:
        for error in errors:
            console.print(f"{error.source}: {error.key}: {error.message}", markup=False)
        fail(f"{path.name} is not a valid parameter set: {len(errors)} "
             f"error{'s' if len(errors) > 1 else ''} (listed above); nothing was loaded")
    return doc, svc.validate(doc, path.name)


@contextmanager
def province_database(db: str) -> Iterator[Store]:
    """A province node's existing database, migrated; one error line if it is not one."""
    try:
        with node_database(db, None) as store:
            if schema_role(store.engine) != "province":
                raise InvalidInput("--db", "is a hub database; parameter sets are kept in a "
                                           "province node's database")
            yield store
    except InvalidInput as exc:
        message = str(exc).replace("db: ", "--db: ", 1) if exc.field == "db" else str(exc)
        fail(message)


def served_book(store: Store, policies: Path | None) -> ServedBook:
    """The book the node serves: its approved sets, then the seed."""
    policy_folder(policies)
    book = ServedBook(load_policy_book(policies))
    svc.refresh(book, store)
    return book


def operator_as(store: Store, name: str, province: str) -> Operator:
    """The operator of `--as`: a province operator of `province`, not disabled."""
    with store.tx() as tx:
        return operator_svc.operator_named(tx, name, "province", province, write=True)


def print_review(review: svc.Review) -> None:
    """The notice, the set's identity and its difference against the set it would replace."""
    ps, current = review.parameters, review.compared_with
    console.print(review.notice["en"])
    console.print(describe_set(ps))
    table = RichTable(title=f"{ps.scheme}: {current.id if current else 'nothing in force'} "
                            f"→ {ps.id} (in force on {ps.valid_from})")
    table.add_column("parameter")
    table.add_column(f"in force ({current.id})" if current else "in force")
    table.add_column(f"new ({ps.id})")
    for item, new in review.differences:
        table.add_row(item.label, item.value, new)
    console.print(table if review.differences else
                  f"no difference against {current.id if current else 'the set in force'}")


def validate_command(
        path: Annotated[Path, typer.Argument(metavar="FILE", help="a policy document (YAML)")],
) -> None:
    """Check a parameter set and name every error by key (exit 2 if there is one)."""
    _, ps = checked(path)
    console.print(f"{path.name}: a valid parameter set. {describe_set(ps)}")
    console.print(provenance_notice(ps))


def load_command(
        path: Annotated[Path, typer.Argument(metavar="FILE", help="a policy document (YAML)")],
        db: Annotated[str, typer.Option(help=DB_HELP)],
        as_name: Annotated[str, typer.Option("--as", help=AS_HELP)],
        policies: Annotated[Path | None, typer.Option(help=POLICIES_HELP)] = None,
) -> None:
    """Propose a parameter set at a province node: it shows the difference against the set in
    force and takes effect from its valid_from once a second operator approves it."""
    doc, ps = checked(path)
    province = codes.province_of(ps.insu_admdvs)
    with province_database(db) as store:
        try:
            operator = operator_as(store, as_name, province)
            book = served_book(store, policies)
            proposed = svc.propose(store, doc, path.name, operator, datetime.now(UTC), province,
                                   book)
            with store.tx() as tx:
                review = svc.review(tx, book, proposed["id"], province)
        except PolicyInvalid as exc:
            fail(str(exc))
        except MedSettleError as exc:
            fail(str(exc), status_of(exc))
    print_review(review)
    console.print(f"proposed as #{proposed['id']} by {operator.name}. It takes effect from "
                  f"{ps.valid_from} once a second operator of province {province} approves it:"
                  f" medsettle policy approve {proposed['id']} --db {db} --as OTHER")


def _stored(store: Store, set_row: int) -> Any:
    with store.tx() as tx:
        row = tx.one("policy_sets", id=set_row)
    if row is None:
        raise NotFound(f"no parameter set #{set_row} at this node", field="ID")
    return row


def approve_command(
        set_row: Annotated[int, typer.Argument(metavar="ID", help="the proposal's number")],
        db: Annotated[str, typer.Option(help=DB_HELP)],
        as_name: Annotated[str, typer.Option("--as", help=AS_HELP)],
        policies: Annotated[Path | None, typer.Option(help=POLICIES_HELP)] = None,
) -> None:
    """Approve a proposed parameter set (not your own: four eyes); it is in force from its
    valid_from, running nodes included."""
    with province_database(db) as store:
        try:
            province = codes.province_of(_stored(store, set_row).insu_admdvs)
            operator = operator_as(store, as_name, province)
            book = served_book(store, policies)
            with store.tx() as tx:
                review = svc.review(tx, book, set_row, province)
            approved = svc.approve(store, book, set_row, operator, datetime.now(UTC), province)
        except MedSettleError as exc:
            fail(str(exc), status_of(exc))
    print_review(review)
    console.print(f"approved #{set_row} {approved['set_id']} by {operator.name} (proposed by "
                  f"{approved['proposed_by']}): served from {approved['valid_from']}; a running "
                  "node of the province picks it up within seconds, without a restart")


def reject_command(
        set_row: Annotated[int, typer.Argument(metavar="ID", help="the proposal's number")],
        db: Annotated[str, typer.Option(help=DB_HELP)],
        as_name: Annotated[str, typer.Option("--as", help=AS_HELP)],
        reason: Annotated[str, typer.Option(help="why it is rejected")],
) -> None:
    """Reject a proposed parameter set (its proposer may withdraw it so)."""
    with province_database(db) as store:
        try:
            province = codes.province_of(_stored(store, set_row).insu_admdvs)
            operator = operator_as(store, as_name, province)
            rejected = svc.reject(store, set_row, operator, reason, datetime.now(UTC), province)
        except MedSettleError as exc:
            fail(str(exc), status_of(exc))
    console.print(f"rejected #{set_row} {rejected['set_id']} by {operator.name}: "
                  f"{rejected['note']}")


def withdraw_command(
        set_row: Annotated[int, typer.Argument(metavar="ID", help="the approved set's number")],
        db: Annotated[str, typer.Option(help=DB_HELP)],
        as_name: Annotated[str, typer.Option("--as", help=AS_HELP)],
        reason: Annotated[str, typer.Option(help="why it is withdrawn")],
) -> None:
    """Withdraw an approved parameter set before its valid_from (a set in force is superseded by
    loading a newer one instead)."""
    with province_database(db) as store:
        try:
            province = codes.province_of(_stored(store, set_row).insu_admdvs)
            operator = operator_as(store, as_name, province)
            book = ServedBook(load_policy_book())
            withdrawn = svc.withdraw(store, book, set_row, operator, reason, datetime.now(UTC),
                                     province)
        except MedSettleError as exc:
            fail(str(exc), status_of(exc))
    console.print(f"withdrew #{set_row} {withdrawn['set_id']} by {operator.name}: "
                  f"{withdrawn['note']}; a running node of the province stops serving it within "
                  "seconds")


def list_command(db: Annotated[str, typer.Option(help=DB_HELP)]) -> None:
    """The parameter sets loaded at a province node: proposed, approved, rejected."""
    with province_database(db) as store:
        try:
            with store.tx() as tx:
                rows = svc.listing(tx)
        except MedSettleError as exc:
            fail(str(exc), FAILED)
    if not rows:
        console.print("no parameter sets loaded: the node serves the seed (medsettle policy load "
                      "FILE --db URL --as NAME)")
        return
    table = RichTable(title="Parameter sets loaded at this node")
    for column in ("#", "set", "region", "scheme", "from", "until", "status", "proposed by",
                   "decided by", "sha256"):
        table.add_column(column)
    for r in rows:
        table.add_row(str(r["id"]), r["set_id"], r["insu_admdvs"], r["scheme"],
                      str(r["valid_from"]), str(r["valid_until"] or "—"), r["status"],
                      r["proposed_by"], r["withdrawn_by"] or r["approved_by"] or r["rejected_by"] or "—",
                      r["content_hash"][:16] + "…")
    Console(highlight=False).print(table)  # sized by the terminal (COLUMNS) as it is now
