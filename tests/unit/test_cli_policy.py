"""`medsettle policy validate|load|approve|reject|list` and `policy show --db`: every error of a
document named by key; a load proposes and shows the difference against the set in force; a
second operator approves (four eyes); every step is in the node's audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from medsettle.adapters.cli import app
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import policies_dir
from medsettle.services.operators import create_operator

runner = CliRunner()
SEED = policies_dir() / "440100" / "resident" / "440100-resident-2025.yaml"


def medsettle(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def write(folder: Path, name: str, **changes: Any) -> Path:
    doc = yaml.safe_load(SEED.read_text(encoding="utf-8")) | changes
    path = folder / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture()
def node(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/440000.db"
    engine = make_engine(url)
    migrate(engine, "province")
    with Store(engine).tx() as tx:
        for name, role in (("clerk", "province"), ("checker", "province"),
                           ("audit", "auditor")):
            create_operator(tx, name, role, "440000", datetime.now(UTC))
    engine.dispose()
    yield url


def audit_actions(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    with Store(engine).tx() as tx:
        lines = [(r.actor, r.action) for r in tx.rows("audit_log", order_by="id")]
    engine.dispose()
    return lines


def status_of(url: str, set_row: int) -> str:
    engine = make_engine(url)
    with Store(engine).tx() as tx:
        status = str(tx.one("policy_sets", id=set_row).status)
    engine.dispose()
    return status


def test_validate_names_every_error_by_key_and_a_good_set_with_its_notice(
        tmp_path: Path) -> None:
    doc = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    doc["caps"]["main"] = 1.5
    doc["benefits"]["inpatient"]["ratio"]["L2"] = "1.20"
    doc["extra"] = 1
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True),
                                       encoding="utf-8")
    code, out, err = medsettle("policy", "validate", str(tmp_path / "bad.yaml"))
    assert code == 2 and err.count("\n") == 1 and "3 errors" in err
    assert out.splitlines() == [
        "bad.yaml: (document).extra: unknown key; expected one of ['account', 'benefits', "
        "'caps', 'description', 'filing', 'id', 'insu_admdvs', 'manual', 'provenance', "
        "'scheme', 'temp_reduction', 'tiers', 'title', 'valid_from', 'valid_until', "
        "'year_start']",
        "bad.yaml: benefits.inpatient.ratio.L2: '1.20' is above 1",
        "bad.yaml: caps.main: must be an integer number of fen, not float 1.5"]
    code, out, _ = medsettle("policy", "validate", str(SEED))
    assert code == 0 and "a valid parameter set. 440100-resident-2025" in out
    assert "SAMPLE PARAMETERS, not official policy" in out
    code, _, err = medsettle("policy", "validate", str(tmp_path / "none.yaml"))
    assert code == 2 and "no such file" in err


def test_load_proposes_with_the_difference_and_a_second_operator_approves(
        tmp_path: Path, node: str) -> None:
    path = write(tmp_path, "gz-2026.yaml", id="440100-resident-2026", valid_from="2026-01-01",
                 caps={"main": 26000000, "outpatient": 30000})
    code, out, err = medsettle("policy", "load", str(path), "--db", node, "--as", "clerk")
    assert code == 0, err
    assert "SAMPLE PARAMETERS" in out and "440100-resident-2025 → 440100-resident-2026" in out
    assert "¥150000.00" in out and "¥260000.00" in out  # the pool cap in force and the new one
    assert "proposed as #1 by clerk" in out and "policy approve 1" in out
    assert status_of(node, 1) == "proposed"

    code, _, err = medsettle("policy", "approve", "1", "--db", node, "--as", "clerk")
    assert code == 2 and "four eyes" in err and err.count("\n") == 1
    code, _, err = medsettle("policy", "approve", "1", "--db", node, "--as", "audit")
    assert code == 2 and "reads only" in err
    code, _, err = medsettle("policy", "approve", "1", "--db", node, "--as", "nobody")
    assert code == 2 and "no operator named nobody" in err
    assert status_of(node, 1) == "proposed"
    code, out, err = medsettle("policy", "approve", "1", "--db", node, "--as", "checker")
    assert code == 0, err
    assert "approved #1 440100-resident-2026 by checker (proposed by clerk)" in out
    assert status_of(node, 1) == "approved"
    code, _, err = medsettle("policy", "approve", "1", "--db", node, "--as", "checker")
    assert code == 2 and "approved already" in err

    code, out, _ = medsettle("policy", "show", "440100", "--db", node, "--on", "2026-02-01",
                             "--scheme", "resident")
    assert code == 0 and "440100-resident-2026" in out and "260000.00" in out
    code, out, _ = medsettle("policy", "show", "440100", "--on", "2026-02-01", "--scheme",
                             "resident")
    assert "440100-resident-2025" in out  # without --db: the shipped sets
    code, out, _ = medsettle("policy", "list", "--db", node)
    assert "440100-resident-2026" in out and "approved" in out and "checker" in out
    assert audit_actions(node) == [("clerk", "policy.propose"), ("checker", "policy.approve")]


def test_reject_needs_a_reason_and_wrong_places_are_refused(tmp_path: Path, node: str) -> None:
    path = write(tmp_path, "gz-2027.yaml", id="440100-resident-2027", valid_from="2027-01-01")
    assert medsettle("policy", "load", str(path), "--db", node, "--as", "clerk")[0] == 0
    code, _, err = medsettle("policy", "load", str(path), "--db", node, "--as", "checker")
    assert code == 2 and "already proposed as #1" in err
    code, _, err = medsettle("policy", "reject", "1", "--db", node, "--as", "checker",
                             "--reason", " ")
    assert code == 2 and "reason" in err
    code, out, _ = medsettle("policy", "reject", "1", "--db", node, "--as", "checker",
                             "--reason", "wrong year")
    assert code == 0 and "rejected #1" in out and status_of(node, 1) == "rejected"

    beijing = policies_dir() / "110100" / "employee" / "110100-employee-2025.yaml"
    code, _, err = medsettle("policy", "load", str(beijing), "--db", node, "--as", "clerk")
    assert code == 2 and "operator clerk works for province 440000, not 110000" in err
    code, _, err = medsettle("policy", "load", str(path), "--db",
                             f"sqlite:///{tmp_path}/none.db", "--as", "clerk")
    assert code == 2 and "no such SQLite file" in err
    hub = f"sqlite:///{tmp_path}/hub.db"
    engine = make_engine(hub)
    migrate(engine, "hub")
    engine.dispose()
    code, _, err = medsettle("policy", "load", str(path), "--db", hub, "--as", "clerk")
    assert code == 2 and "hub database" in err
    code, _, err = medsettle("policy", "approve", "9", "--db", node, "--as", "checker")
    assert code == 2 and "no parameter set #9" in err
    assert audit_actions(node) == [("clerk", "policy.propose"), ("checker", "policy.reject")]
