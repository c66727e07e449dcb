"""`medsettle institution add` and `medsettle institution keys`: register a designated hospital
(定点医疗机构) at its province node and issue the keys its HIS signs (and encrypts) with.

An institution signs either with SM2 (国密, the default: its HIS keeps the SM2 private key, the
node only the public key; an SM4 key encrypts the payload) or with an HMAC key (the gateway
headers); his/signing.py checks every message accordingly. Keys are printed once: the node
keeps no SM2 private key, and never shows the HMAC or SM4 key again.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from medsettle.adapters.cli_errors import existing_sqlite, fail
from medsettle.adapters.cli_load import read_dialect_option, write_rows
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.his.keys import issue, node_key
from medsettle.core import codes
from medsettle.core.errors import InvalidInput, MedSettleError, NotFound

institution_app = typer.Typer(help="Designated institutions (定点医疗机构) of a province node.",
                              no_args_is_help=True)
SigningOption = Annotated[str, typer.Option(
    help="how its HIS signs: sm2 (国密 SM2 signature and SM4 encryption) or hmac")]
PublicKeyOption = Annotated[str | None, typer.Option(
    "--sm2-public-key", help="register the hospital's own SM2 public key (128 hex digits) "
                             "instead of issuing a key pair")]


#: The hospital level (hosp_lv) registered for each tier; 11 (无等级) is the tier L0 of 基层
#: institutions.
HOSP_LV_OF_LEVEL = {"L3": "02", "L2": "05", "L1": "08", "L0": "11"}


def _hand_over(lines: list[str]) -> None:
    for line in lines:
        typer.echo(line)
    typer.echo("The keys are shown only once: give them to the hospital's HIS "
               "(docs/his-integration.md, \"Signing and encryption (国密)\").")


@institution_app.command("add")
def add_institution(
        code: Annotated[str, typer.Argument(metavar="CODE", help="H + 11 digits")],
        name: Annotated[str, typer.Option(help="the hospital's name")],
        level: Annotated[str, typer.Option(help="L0 (基层 or 无等级), L1, L2 or L3")],
        region: Annotated[str, typer.Option(help="its region code, e.g. 440305")],
        signing: SigningOption = "sm2",
        sm2_public_key: PublicKeyOption = None,
        db: Annotated[str | None, typer.Option(help="default sqlite:///var/<province>.db")]
        = None,
        dialect: Annotated[str | None, typer.Option(
            help="its HIS's dialect profile: national (default), tolerant, string-infcode, "
                 "message, chongqing, or a JSON object (docs/his-integration.md §11)")] = None,
) -> None:
    """Register a designated hospital and print the keys its HIS signs with, once."""
    try:
        profile = read_dialect_option(dialect)
        fixmedins = codes.validate_institution_code(code, "CODE")
        admdvs = codes.validate_admdvs(region, "--region")
        if codes.province_of(fixmedins[1:7]) != codes.province_of(admdvs):
            raise InvalidInput("--region", f"{admdvs} is not in the province of {fixmedins} "
                                           f"(its code names {fixmedins[1:7]})")
        if level not in HOSP_LV_OF_LEVEL:
            raise InvalidInput("--level", f"must be L0, L1, L2 or L3, not {level!r}")
        if not name.strip():
            raise InvalidInput("--name", "is required")
        credentials, lines = issue(signing, sm2_public_key)
    except MedSettleError as exc:
        fail(str(exc))
    url = db or f"sqlite:///var/{codes.province_of(admdvs)}.db"
    row: dict[str, Any] = {"fixmedins_code": fixmedins, "name": name.strip(), "admdvs": admdvs,
           "hosp_lv": HOSP_LV_OF_LEVEL[level], "level": level,
           "dedc_level": None, "suspended": False, "networked": True,
           "chronic_opened": [], "dialect": profile, **credentials}
    write_rows(url, {"institutions": [row]})
    typer.echo(f"registered {fixmedins} {name.strip()} ({level}, {admdvs}) in {url}")
    _hand_over(lines + _platform_key(url, signing))


@institution_app.command("keys")
def issue_keys(
        code: Annotated[str, typer.Argument(metavar="CODE", help="H + 11 digits")],
        signing: SigningOption = "sm2",
        sm2_public_key: PublicKeyOption = None,
        db: Annotated[str | None, typer.Option(help="default sqlite:///var/<province>.db")]
        = None,
) -> None:
    """Issue new keys to a registered hospital (or switch how it signs); the old keys stop
    working within 5 s on a running node."""
    try:
        fixmedins = codes.validate_institution_code(code, "CODE")
        credentials, lines = issue(signing, sm2_public_key)
    except MedSettleError as exc:
        fail(str(exc))
    url = db or f"sqlite:///var/{codes.province_of(fixmedins[1:7])}.db"
    existing_sqlite(url)  # an institution is given keys where it was added, not in a new file
    engine = make_engine(url)
    try:
        migrate(engine, "province")
        with Store(engine).tx() as tx:
            if tx.one("institutions", fixmedins_code=fixmedins) is None:
                raise NotFound(f"institution {fixmedins} is not registered in {url}",
                               field="CODE")
            tx.change("institutions", {"fixmedins_code": fixmedins}, **credentials)
    except MedSettleError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"new keys for {fixmedins} in {url}")
    _hand_over(lines + _platform_key(url, signing))


def _platform_key(url: str, signing: str) -> list[str]:
    """For an SM2-signing institution, the line with the node's public key (its answers'
    cainfo)."""
    if signing != "sm2":
        return []
    store = Store(make_engine(url))
    try:
        _, public = node_key(store)
    finally:
        store.engine.dispose()
    return [f"platform SM2 public key (verifies the answers' cainfo): {public}"]
