"""`medsettle load`: give a province node its data (`medsettle institution`: cli_institutions.py).

`load --region 440000 DIR` reads the files `medsettle sim` writes (`DIR/440000.json`, rows by
table) or CSV files a province exports (`DIR/persons.csv`, `filings.csv`, `institutions.csv`,
`catalogue.csv`; docs/loading.md), checks every row and loads them in one transaction: a bad
row is reported by file, line and field, and nothing is committed.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from medsettle.adapters.cli_errors import FAILED, fail
from medsettle.adapters.db.engine import MigrationFailed, make_engine, migrate
from medsettle.adapters.db.seed import SEED_TABLES
from medsettle.adapters.db.store import Store
from medsettle.adapters.his.dialects import parse_dialect
from medsettle.core import codes
from medsettle.core.errors import InvalidInput, MedSettleError, StateConflict
from medsettle.core.tables import LEVELS

#: A contribution tier (缴费档次) as a parameter set's TABLE keys name it: `resident@high`.
TIER_NAME = re.compile(r"[a-z0-9_]{1,20}")
#: The CSV columns of each table: (column, kind, required). Kinds: text, date, bool, list.
CSV_COLUMNS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "persons": (("psn_no", "text", True), ("certno", "certno", True), ("psn_name", "text", True),
                ("gend", "text", True), ("brdy", "date", True), ("insu_admdvs", "admdvs", True),
                ("insutype", "text", True), ("psn_type", "text", True),
                ("cvlserv", "bool", False), ("card_no", "text", False),
                ("evoucher", "text", False), ("emp_name", "text", False),
                ("contribution_tier", "tier", False), ("maf_category", "tier", False),
                ("chronic_certified", "chronic", False)),
    "filings": (("filing_no", "text", True), ("psn_no", "text", True),
                ("insu_admdvs", "admdvs", True), ("category", "text", True),
                ("destination", "admdvs", True), ("valid_from", "date", True),
                ("valid_until", "date", False), ("status", "text", True),
                ("route", "text", True), ("channel", "text", True), ("applied_on", "date", True)),
    "institutions": (("fixmedins_code", "institution", True), ("name", "text", True),
                     ("admdvs", "admdvs", True), ("hosp_lv", "hosp_lv", True),
                     ("level", "level", False), ("networked", "bool", False),
                     ("suspended", "bool", False), ("dialect", "dialect", False)),
    "catalogue": (("code", "text", True), ("name", "text", True), ("chrgitm_lv", "text", True),
                  ("selfpay_prop", "text", False), ("lmt_pric", "text", False),
                  ("valid_from", "date", True), ("valid_until", "date", False),
                  ("med_chrgitm_type", "text", False)),
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "persons": {"cvlserv": False, "chronic_certified": [], "insurance_active": True,
                "emp_name": "", "direct_settlement_barred": False},
    "filings": {"post_hoc": False, "reason": "", "filed_by_node": None,
                "filed_by_institution": None},
    "institutions": {"networked": True, "suspended": False, "chronic_opened": []},
    "catalogue": {"selfpay_prop": "0", "med_chrgitm_type": ""},
}




def _tier_of(hosp_lv: str, where: str) -> str:
    try:
        return codes.level_tier(hosp_lv)
    except MedSettleError:
        raise InvalidInput(where, f"expected a hospital level 01-14, got {hosp_lv!r}") from None


def level_of(row: dict[str, Any], where: str) -> str:
    """An institution's tier: its `level`, which must be the tier of its `hosp_lv` (11 无等级 →
    L0, …); taken from `hosp_lv` when not given. A level that disagrees with hosp_lv would
    settle at another tier's deductible and ratio."""
    tier = _tier_of(str(row.get("hosp_lv")), f"{where}hosp_lv")
    given = row.get("level")
    if given and given != tier:
        raise InvalidInput(f"{where}level", f"{given} does not match hosp_lv {row['hosp_lv']} "
                                            f"(tier {tier})")
    return tier


def _cell(kind: str, text: str, where: str) -> Any:
    try:
        if kind == "date":
            return date.fromisoformat(text)
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise InvalidInput(where, f"expected true or false, got {text!r}")
            return text.lower() in ("true", "1", "yes")
        if kind == "admdvs":
            return codes.validate_admdvs(text, where)
        if kind == "certno":
            return codes.validate_id_card(text, where)
        if kind == "institution":
            return codes.validate_institution_code(text, where)
        if kind == "level" and text not in LEVELS:
            raise InvalidInput(where, f"expected L0, L1, L2 or L3, got {text!r}")
        if kind == "hosp_lv":
            _tier_of(text, where)
        if kind == "chronic":  # disease codes separated by ";" (门诊慢特病 certified)
            return [codes.validate_chronic_disease_code(code.strip(), where)
                    for code in text.split(";") if code.strip()]
        if kind == "dialect":
            return read_dialect_option(text, where)
        if kind == "tier" and not TIER_NAME.fullmatch(text):
            raise InvalidInput(where, f"expected a tier name of lower-case letters, digits or _ "
                                      f"(e.g. high), got {text!r}")
    except ValueError:
        raise InvalidInput(where, f"expected a date YYYY-MM-DD, got {text!r}") from None
    return text


def read_csv(path: Path, table: str) -> list[dict[str, Any]]:
    """Rows of a province's CSV export; InvalidInput names `file:line: column`."""
    columns = CSV_COLUMNS[table]
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c, _, required in columns if required and c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{path.name}:1", f"missing column {missing[0]}")
        for line, raw in enumerate(reader, start=2):
            row = dict(DEFAULTS[table])
            for column, kind, required in columns:
                text = (raw.get(column) or "").strip()
                where = f"{path.name}:{line}: {column}"
                if not text:
                    if required:
                        raise InvalidInput(where, "is required")
                    continue
                row[column] = _cell(kind, text, where)
            for column, _, _ in columns:  # every row names every column: a batch insert takes
                row.setdefault(column, None)  # its columns from the first row
            if table == "institutions":
                row.setdefault("dedc_level", None)
                row["level"] = level_of(row, f"{path.name}:{line}: ")
            rows.append(row)
    return rows


def read_csv_file(path: Path, table: str) -> list[dict[str, Any]]:
    """read_csv, with a file that is not UTF-8 CSV named as such."""
    try:
        return read_csv(path, table)
    except UnicodeDecodeError:
        raise InvalidInput(path.name, "is not UTF-8 text; save the export as UTF-8 CSV") from None
    except csv.Error as exc:
        raise InvalidInput(path.name, f"is not a CSV file: {exc}") from None


def read_sim(path: Path, region: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of a `medsettle sim` province file (dates as ISO text → dates)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(path.name, f"is not a JSON file of `medsettle sim`: {exc}") from None
    except RecursionError:
        raise InvalidInput(path.name, "is nested too deeply") from None
    if not isinstance(doc, dict):
        raise InvalidInput(path.name, "must be a JSON object of rows by table")
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in SEED_TABLES:
        rows = doc.get(table, [])
        if not isinstance(rows, list):
            raise InvalidInput(f"{path.name}: {table}", "must be a list of rows")
        tables[table] = [_dates(r, f"{path.name}: {table}[{n}]") for n, r in enumerate(rows)]
    _check_codes(tables, path.name)
    for table, column in (("persons", "insu_admdvs"), ("institutions", "admdvs")):
        for n, row in enumerate(tables[table]):
            if codes.province_of(str(row[column])) != region:
                raise InvalidInput(f"{path.name}: {table}[{n}].{column}",
                                   f"{row[column]} is not in province {region}")
    return tables


#: The kinds of CSV column whose value a JSON row must pass as well (its dates and flags are
#: JSON's own types): ID numbers, region and institution codes, levels, tiers.
CODE_KINDS = frozenset({"certno", "admdvs", "institution", "level", "tier", "hosp_lv"})


def _check_codes(tables: dict[str, list[dict[str, Any]]], name: str) -> None:
    """A `medsettle sim` file's rows pass the checks a CSV export's do (InvalidInput naming
    `file: table[n].column`): the JSON path took any ID number, code or level."""
    for table, columns in CSV_COLUMNS.items():
        for n, row in enumerate(tables.get(table, [])):
            for column, kind, required in columns:
                where = f"{name}: {table}[{n}].{column}"
                value = row.get(column)
                if value is None or value == "":
                    if required:
                        raise InvalidInput(where, "is required")
                    continue
                if kind in CODE_KINDS:
                    if not isinstance(value, str):
                        raise InvalidInput(where, f"must be a string, not "
                                                  f"{type(value).__name__}")
                    _cell(kind, value, where)
            if table == "institutions":
                level_of(row, f"{name}: {table}[{n}].")


def _dates(row: object, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise InvalidInput(where, "must be an object")
    out = dict(row)
    for key in ("brdy", "valid_from", "valid_until", "applied_on", "decided_on", "review_due",
                "commitment_barred_until"):
        if isinstance(out.get(key), str):
            try:
                out[key] = date.fromisoformat(out[key])
            except ValueError:
                raise InvalidInput(f"{where}.{key}", "expected YYYY-MM-DD") from None
    return out


def load_command(
        folder: Annotated[Path, typer.Argument(metavar="DIR", help="sim output or CSV files")],
        region: Annotated[str, typer.Option(help="the province code, e.g. 440000")],
        db: Annotated[str | None, typer.Option(help="default sqlite:///var/<region>.db")] = None,
) -> None:
    """Load persons, filings, institutions and the catalogue into a province's database: all or
    nothing."""
    try:
        province = codes.validate_province(region, "--region")
    except MedSettleError as exc:
        fail(str(exc))
    if not folder.is_dir():
        fail(f"DIR: no such folder: {folder}")
    try:
        sim = folder / f"{province}.json"
        if sim.is_file():
            tables = read_sim(sim, province)
        else:
            tables = {t: read_csv_file(folder / f"{t}.csv", t) for t in SEED_TABLES
                      if (folder / f"{t}.csv").is_file()}
            if not tables:
                fail(f"DIR: neither {province}.json nor persons/filings/institutions/"
                     f"catalogue.csv in {folder}")
    except MedSettleError as exc:
        fail(str(exc))
    url = db or f"sqlite:///var/{province}.db"
    counts = write_rows(url, tables)
    typer.echo("loaded " + ", ".join(f"{n} {t}" for t, n in counts.items() if n) +
               f" into {url}")


def write_rows(url: str, tables: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        migrate(engine, "province")
        with Store(engine).tx() as tx:
            for table, rows in tables.items():
                if table == "accumulators":  # what was loaded is the opening of later deltas
                    rows = [{**r, "opening": r.get("opening", r["value"])} for r in rows]
                for start in range(0, len(rows), 2000):
                    tx.add_many(table, [{k: v for k, v in r.items() if k != "id" or
                                         table != "catalogue"} for r in rows[start:start + 2000]])
        return {t: len(r) for t, r in tables.items()}
    except StateConflict as exc:
        fail("nothing loaded: a row is already in the database ("
             f"{str(exc).split(': ', 1)[-1]})")
    except MedSettleError as exc:
        fail(f"nothing loaded: {exc}")
    except (SQLAlchemyError, MigrationFailed) as exc:
        cause = getattr(exc, "orig", None) or exc
        fail(f"nothing loaded: --db: cannot use {url}: {type(cause).__name__}: "
             f"{(str(cause).strip().splitlines() or [''])[0]}",
             FAILED if isinstance(exc, OperationalError) else 2)
    finally:
        engine.dispose()
    return {}


def read_dialect_option(text: str | None, where: str = "--dialect") -> object:
    """A dialect profile as given: a preset's name or a JSON object, checked; None for
    national."""
    if text is None:
        return None
    doc: object = text.strip()
    if text.strip().startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(where, f"is not a JSON object: {exc}") from None
        except RecursionError:
            raise InvalidInput(where, "is nested too deeply") from None
    parse_dialect(doc, where)
    return doc
