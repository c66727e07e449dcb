"""`medsettle serve hub|province` and `medsettle keys`: run the federation's nodes."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn

from medsettle.adapters.api.hub import HubConfig, serve_hub_app
from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, serve_province_app
from medsettle.adapters.faults import arm_from_environment
from medsettle.adapters.federation import load_keys
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.observability import setup_logging
from medsettle.core import codes

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
    if out.exists() and not force:
        typer.echo(f"error: {out} exists; its keys are in use by the nodes. Use --force to "
                   "replace it.", err=True)
        raise typer.Exit(2)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(new_keys(), indent=1), encoding="utf-8")
    out.chmod(0o600)
    typer.echo(f"wrote {out}")


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
              ) -> None:
    """Start the national hub."""
    setup_logging("hub")
    _ensure_sqlite_folder(db)
    app = serve_hub_app(HubConfig(db_url=db, keys=load_keys(keys), call_timeout=call_timeout,
                                   allow_early_clearing=allow_early_clearing))
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
                   = 86400.0,
                   policies: Annotated[Path | None, typer.Option(
                       help="folder of policy documents <admdvs>/<scheme>/*.yaml "
                            "(default: the shipped sample parameters)")] = None,
                   ) -> None:
    """Start a province node with its HIS gateway."""
    region = codes.validate_admdvs(region, "--region")
    if region != codes.province_of(region):
        raise typer.BadParameter("give the province code, e.g. 440000", param_hint="--region")
    setup_logging(region)
    try:
        arm_from_environment()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="MEDSETTLE_CRASH_AT") from None
    url = db or f"sqlite:///var/{region}.db"
    _ensure_sqlite_folder(url)
    node = ProvinceNode(ProvinceConfig(region=region, db_url=url, key=load_keys(keys)[region],
                                       hub_url=hub, public_url=f"http://{host}:{port}",
                                       peer_timeout=timeout, anchor_seconds=anchor_seconds),
                        book=None if policies is None else load_policy_book(policies))
    run_server(serve_province_app(node), host, port)


def run_server(app: Any, host: str, port: int) -> None:
    """Serve a node's app: uvloop and httptools, no access log, no proxy-header rewriting or
    Server/Date headers (a node talks to known peers, not through proxies)."""
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, loop="uvloop",
                http="httptools", proxy_headers=False, server_header=False,
                date_header=False)


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
