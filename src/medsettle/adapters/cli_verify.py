"""`medsettle verify`: check a node's ledger chain against its hashes and the hub's anchors."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from medsettle.adapters.cli_errors import FAILED, existing_sqlite, fail
from medsettle.adapters.cli_nodes import keys_file, node_key
from medsettle.adapters.db.engine import make_engine, schema_role
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import signed_headers
from medsettle.core.errors import InvalidInput
from medsettle.core.ledger import Finding
from medsettle.services.anchors import anchors_of, hub_anchors_of
from medsettle.services.verify import read_chain, verify_all, verify_hub_log

console = Console(highlight=False, soft_wrap=True)


def load_anchors(node: str | None, hub: str | None, hub_db: str | None,
                 key: str | None = None) -> dict[int, str]:
    """The anchors of `node`, from the hub's database or its HTTP API (a request signed with the
    province's node `key`; none without a node)."""
    if node is None:
        if hub or hub_db:
            raise InvalidInput("--node", "name the province whose anchors to check")
        return {}
    if hub_db:
        with Store(make_engine(hub_db)).tx() as tx:
            return anchors_of(tx, node)
    if hub:
        if not key:
            raise InvalidInput("--keys", f"the hub gives province {node}'s anchors only to that "
                                         "province: give the node keys file (as `serve "
                                         "province --keys`), or read them with --hub-db")
        path = f"/fed/v1/anchors/{node}"
        response = httpx.get(f"{hub.rstrip('/')}{path}", timeout=10,
                             headers=signed_headers(key, node, path, b""))
        response.raise_for_status()
        return {int(a["seq"]): str(a["hash"]) for a in response.json()["result"]["anchors"]}
    raise InvalidInput("--hub", "give --hub URL or --hub-db URL to read the anchors of --node")


def report(finding: Finding, what: str = "seq") -> None:
    """Print a tampering verdict and exit with status 1."""
    where = f" at {what} {finding.seq}" if finding.seq else ""  # 0: a record, not an entry
    console.print(f"[bold red]TAMPERED[/]{where}: {finding.problem} — {finding.detail}")
    raise typer.Exit(1)


def verify_command(
    db: Annotated[str, typer.Option(help="the node's database URL (sqlite:///… or "
                                         "postgresql://…)")],
    role: Annotated[str, typer.Option(help="province or hub")] = "province",
    node: Annotated[str | None, typer.Option(help="province code whose anchors to check, "
                                                  "e.g. 510000")] = None,
    hub: Annotated[str | None, typer.Option(help="hub URL to fetch the anchors from")] = None,
    keys: Annotated[Path | None, typer.Option(
        help="with --hub: the node keys file (as `serve province --keys`); the province's key "
             "signs the request")] = None,
    hub_db: Annotated[str | None, typer.Option(help="or read the anchors from the hub's "
                                                    "database URL")] = None,
    province_db: Annotated[str | None, typer.Option(
        help="with --role hub: a province database whose copies of the hub's heads to check")]
    = None,
) -> None:
    """Verify a node's hash-chained ledger (and anchors), then every settlement record, claim
    and accumulator against the entries that produced them; for the hub, its message log too.
    Exit 0 when intact, 1 at the first tampered entry or record."""
    if role not in ("province", "hub"):
        fail(f"--role: must be province or hub, not {role!r}")
    for option, url in (("--hub-db", hub_db), ("--province-db", province_db)):
        if url is not None:
            existing_sqlite(url, option)
    try:
        key = node_key(keys_file(keys), keys, node) if keys and node and hub else None
        anchors = load_anchors(node, hub, hub_db, key)
        log_anchors: dict[int, str] = {}
        if province_db:
            with Store(make_engine(province_db)).tx() as tx:
                anchors = anchors | hub_anchors_of(tx, "ledger")
                log_anchors = hub_anchors_of(tx, "log")
    except InvalidInput as exc:
        fail(str(exc))
    except httpx.HTTPError as exc:
        fail(f"cannot read the anchors: the hub cannot be reached: {exc}", FAILED)
    except (KeyError, ValueError, TypeError, SQLAlchemyError) as exc:  # TypeError: the hub
        fail(f"cannot read the anchors: {exc}", FAILED)  # answered a document of another shape
    existing_sqlite(db)
    store = Store(make_engine(db))
    try:
        held = schema_role(store.engine)
        if held is not None and held != role:
            fail(f"--db: holds a {held}'s schema, not a {role}'s (give --role {held})")
        finding = verify_all(store, role, anchors)
        chain = read_chain(store, role)
    except InvalidInput as exc:
        fail(f"--db: {exc}")
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        fail(f"cannot read the {role} ledger: {type(cause).__name__}: {cause}", FAILED)
    if finding is not None:
        report(finding)
    head = f"head seq {chain[-1].seq} hash {chain[-1].hash[:16]}…" if chain else "empty chain"
    console.print(f"[bold green]intact[/]: {len(chain)} entries, {head}"
                  f"{', records and accumulators match' if role == 'province' else ''}"
                  f"{f', {len(anchors)} anchors match' if anchors else ''}")
    if role == "hub":
        log_finding = verify_hub_log(store, log_anchors)
        if log_finding is not None:
            report(log_finding, "message log line")
        console.print("[bold green]intact[/]: hub message log"
                      f"{f', {len(log_anchors)} anchors match' if log_anchors else ''}")
