"""`medsettle serve hub|province` and `medsettle keys`: run the federation's nodes."""

from __future__ import annotations

import json
import logging
import secrets
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from sqlalchemy.exc import SQLAlchemyError
from uvicorn.config import STARTUP_FAILURE

from medsettle.adapters.api.hub import HubConfig, serve_hub_app
from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, serve_province_app
from medsettle.adapters.cli_errors import (
    FAILED,
    check_port,
    database_problem,
    fail,
    policy_folder,
    positive_seconds,
)
from medsettle.adapters.db.engine import MigrationFailed
from medsettle.adapters.faults import arm_from_environment
from medsettle.adapters.federation import load_keys
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.heap import settle_heap
from medsettle.adapters.observability import setup_logging
from medsettle.core import codes
from medsettle.core.errors import MedSettleError

logger = logging.getLogger(__name__)
serve_app = typer.Typer(help="Run a node of the federation.", no_args_is_help=True)


def new_keys() -> dict[str, str]:
    """A fresh key for each of the 32 province nodes."""
    return {province: secrets.token_hex(32) for province in codes.PROVINCES}


def keys_command(out: Annotated[Path, typer.Option(help="where to write the keys file")]
                 = Path("var/keys.json"),
                 force: Annotated[bool, typer.Option("--force", help="replace an existing file "
                                                                     "(every node needs the new "
                                                                     "keys)")] = False) -> None:
    """Make a node keys file: one secret per province, shared only with the hub."""
    if out.is_dir():
        fail(f"--out: {out} is a folder; name the keys file, e.g. {out / 'keys.json'}")
    if out.exists() and not force:
        fail(f"--out: {out} exists; its keys are in use by the nodes. Use --force to replace it.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(new_keys(), indent=1), encoding="utf-8")
        out.chmod(0o600)
    except OSError as exc:
        fail(f"--out: cannot write {out}: {exc.strerror}")
    typer.echo(f"wrote {out}")


def keys_file(path: Path) -> dict[str, str]:
    """The node keys file, or one error line naming --keys (exit 2)."""
    try:
        return load_keys(path)
    except FileNotFoundError:
        fail(f"--keys: no such file: {path} (make one with `medsettle keys --out {path}`)")
    except (OSError, ValueError) as exc:
        fail(f"--keys: cannot read {path}: {exc}")


def node_key(keys: dict[str, str], path: Path, region: str) -> str:
    """The key of `region` in a keys file, or one error line."""
    if region not in keys:
        fail(f"--keys: {path} has no key for {region}; every node of a federation uses the "
             "keys file the hub has")
    return keys[region]


@serve_app.command("hub")
def serve_hub(port: Annotated[int, typer.Option()] = 8000,
              host: Annotated[str, typer.Option()] = "127.0.0.1",
              db: Annotated[str, typer.Option(help="sqlite:///FILE or postgresql://…")]
              = "sqlite:///var/hub.db",
              keys: Annotated[Path, typer.Option(help="node keys file")] = Path("var/keys.json"),
              call_timeout: Annotated[float, typer.Option(help="seconds to wait for a province")]
              = 2.5,
              allow_early_clearing: Annotated[bool, typer.Option(
                  help="let a run clear the current month so far (demos only)")] = False,
              peer_rate: Annotated[float, typer.Option(
                  help="signed requests a second from each province, bursts of twice that "
                       "(0: no limit)")] = 5000.0,
              ) -> None:
    """Start the national hub."""
    if peer_rate < 0:
        fail(f"--peer-rate: must be ≥ 0 (0: no limit), not {peer_rate:g}")
    positive_seconds("--call-timeout", call_timeout)
    node_keys = keys_file(keys)
    check_port(host, port)
    setup_logging("hub")
    _ensure_sqlite_folder(db)
    try:
        app = serve_hub_app(HubConfig(db_url=db, keys=node_keys, call_timeout=call_timeout,
                                      allow_early_clearing=allow_early_clearing,
                                      peer_rate=peer_rate))
    except (SQLAlchemyError, MigrationFailed) as exc:
        fail(database_problem(db, exc), FAILED)
    run_server(app, host, port)


@serve_app.command("province")
def serve_province(region: Annotated[str, typer.Option(help="province code, e.g. 440000")],
                   port: Annotated[int, typer.Option()] = 8100,
                   host: Annotated[str, typer.Option()] = "127.0.0.1",
                   db: Annotated[str | None, typer.Option(help="default sqlite:///var/<region>.db")]
                   = None,
                   hub: Annotated[str, typer.Option(help="the hub's URL")]
                   = "http://127.0.0.1:8000",
                   keys: Annotated[Path, typer.Option(help="node keys file")]
                   = Path("var/keys.json"),
                   timeout: Annotated[float, typer.Option(help="seconds the HIS waits at most "
                                                                "for another province")] = 3.0,
                   anchor_seconds: Annotated[float, typer.Option(
                       help="how often the ledger's chain head is anchored at the hub")]
                   = 300.0,
                   policies: Annotated[Path | None, typer.Option(
                       help="folder of policy documents <admdvs>/<scheme>/*.yaml "
                            "(default: the shipped sample parameters)")] = None,
                   his_rate: Annotated[float, typer.Option(
                       help="HIS messages a second from each institution, bursts of twice "
                            "that (0: no limit)")] = 1000.0,
                   peer_rate: Annotated[float, typer.Option(
                       help="signed requests a second from the hub (0: no limit)")] = 5000.0,
                   ) -> None:
    """Start a province node with its HIS gateway."""
    for option, rate in (("--his-rate", his_rate), ("--peer-rate", peer_rate)):
        if rate < 0:
            fail(f"{option}: must be ≥ 0 (0: no limit), not {rate:g}")
    try:
        region = codes.validate_province(region, "--region")
    except MedSettleError as exc:
        fail(f"{exc} (give the province code, e.g. 440000)")
    policy_folder(policies)
    positive_seconds("--timeout", timeout)
    positive_seconds("--anchor-seconds", anchor_seconds)
    if not hub.startswith(("http://", "https://")):
        fail(f"--hub: must be an http:// or https:// URL, not {hub!r}")
    key = node_key(keys_file(keys), keys, region)
    try:
        arm_from_environment()
    except ValueError as exc:
        fail(f"MEDSETTLE_CRASH_AT: {exc}")
    check_port(host, port)
    url = db or f"sqlite:///var/{region}.db"
    _ensure_sqlite_folder(url)
    from medsettle.adapters.db.node_data import is_sandbox
    if is_sandbox(url):  # its test persons would be published to the hub as the province's
        fail(f"--db: {url} is a sandbox's database (`medsettle sandbox`), not a province's")
    setup_logging(region)  # after every check: a refusal leaves the process's logging alone
    try:
        node = ProvinceNode(ProvinceConfig(region=region, db_url=url, key=key,
                                           hub_url=hub, public_url=f"http://{host}:{port}",
                                           peer_timeout=timeout, anchor_seconds=anchor_seconds,
                                           his_rate=his_rate, peer_rate=peer_rate),
                            book=None if policies is None else load_policy_book(policies))
    except (SQLAlchemyError, MigrationFailed) as exc:
        fail(database_problem(url, exc), FAILED)
    run_server(serve_province_app(node), host, port)


class NodeServer(uvicorn.Server):
    """uvicorn's server that settles the node's heap once the node has started (adapters/heap.py):
    what the node loaded at start is then out of the cyclic collector's reach."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            logger.info("heap settled", extra={"frozen_objects": settle_heap()})


def run_server(app: Any, host: str, port: int) -> None:
    """Serve a node's app: uvloop and httptools, no access log, no proxy-header rewriting or
    Server/Date headers (a node talks to known peers, not through proxies)."""
    server = NodeServer(uvicorn.Config(app, host=host, port=port, log_config=None,
                                       access_log=False, loop="uvloop", http="httptools",
                                       proxy_headers=False, server_header=False,
                                       date_header=False))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    if not server.started:  # as uvicorn.run: a start that failed is not a clean exit
        sys.exit(STARTUP_FAILURE)


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
