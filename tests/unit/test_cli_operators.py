"""`medsettle operator add|list|disable`: the token is printed once and never stored; bad input
is one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect
from typer.testing import CliRunner

from medsettle.adapters.cli import app
from medsettle.adapters.db.engine import alembic_config, make_engine, migrate, schema_role
from medsettle.adapters.db.store import Store
from medsettle.core.errors import AuthenticationFailed
from medsettle.core.operators import token_hash
from medsettle.services.operators import authenticate

TOKEN_LINE = re.compile(r"^token: (mso_[A-Za-z0-9_-]{43})$", re.MULTILINE)
runner = CliRunner()


def medsettle(*args: str) -> tuple[int, str, str]:
    """Run the CLI in-process: exit code, stdout, stderr."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, result.stdout, result.stderr


def token_of(stdout: str) -> str:
    found = TOKEN_LINE.search(stdout)
    assert found, stdout
    return found.group(1)


def check(db_url: str, token: str, role: str = "province",
          region: str | None = "440000") -> str:
    """The name of the operator the node database accepts for `token`."""
    engine = make_engine(db_url)
    try:
        with Store(engine).tx() as tx:
            return authenticate(tx, token, role, region).name  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_add_prints_the_token_once_list_never_shows_it_and_disable_refuses_it(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/var/440000.db"
    code, out, err = medsettle("operator", "add", "clerk", "--db", db, "--role", "province",
                               "--region", "440000")
    assert code == 0, err
    token = token_of(out)
    assert "created operator clerk (province 440000)" in out
    assert "shown only once" in out
    assert token.encode() not in (tmp_path / "var" / "440000.db").read_bytes()
    assert token_hash(token).encode() in (tmp_path / "var" / "440000.db").read_bytes()
    assert check(db, token) == "clerk"

    code, out, _ = medsettle("operator", "list", "--db", db)
    assert code == 0 and re.search(r"clerk\s.*province\s.*440000\s.*active", out), out
    assert "mso_" not in out

    code, out, _ = medsettle("operator", "disable", "clerk", "--db", db)
    assert code == 0 and "operator clerk (province 440000) disabled" in out
    with pytest.raises(AuthenticationFailed, match="disabled"):
        check(db, token)
    code, out, _ = medsettle("operator", "list", "--db", db)
    assert re.search(r"clerk\s.*disabled", out), out
    code, out, _ = medsettle("operator", "disable", "clerk", "--db", db)
    assert code == 0 and "already disabled" in out


def test_a_hub_operator_is_kept_in_a_hub_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/hub.db"
    code, out, err = medsettle("operator", "add", "root", "--db", db, "--role", "hub")
    assert code == 0, err
    assert "created operator root (hub)" in out
    assert check(db, token_of(out), "hub", None) == "root"
    assert schema_role(make_engine(db)) == "hub"


@pytest.fixture()
def province_db(tmp_path: Path) -> str:
    """A migrated province database with one operator, `clerk`."""
    db = f"sqlite:///{tmp_path}/440000.db"
    code, _, err = medsettle("operator", "add", "clerk", "--db", db, "--role", "province",
                             "--region", "440000")
    assert code == 0, err
    return db


@pytest.mark.parametrize(("args", "says"), [
    (["add", "ops", "--role", "admin"], "--role: must be province, hub or auditor, not 'admin'"),
    (["add", "ops", "--role", "province", "--region", "440300"],
     "--region: must be a province code (e.g. 440000), not the region 440300"),
    (["add", "ops", "--role", "province", "--region", "44"], "--region: expected a 6-digit"),
    (["add", "ops", "--role", "province"], "--region: is required for a province operator"),
    (["add", "ops", "--role", "hub", "--region", "440000"], "--region: a hub operator has no"),
    (["add", "clerk", "--role", "province", "--region", "440000"],
     "NAME: an operator named clerk already exists"),
    (["add", "two words", "--role", "province", "--region", "440000"], "NAME: expected 1-64"),
    (["add", "root", "--role", "hub"],
     "--db: is a province database; a hub operator is kept in the hub's database"),
    (["disable", "nobody"], "no operator named nobody"),
])
def test_bad_input_is_one_line_and_exit_2(province_db: str, args: list[str], says: str) -> None:
    code, out, err = medsettle("operator", *args, "--db", province_db)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and says in err, err
    code, out, _ = medsettle("operator", "list", "--db", province_db)
    rows = [line for line in out.splitlines() if line.startswith("│")]
    assert len(rows) == 1 and "│ clerk " in rows[0] and "active" in rows[0]  # nothing changed


@pytest.mark.parametrize("command", ["list", "disable clerk"])
def test_a_missing_database_is_one_line_and_exit_2(tmp_path: Path, command: str) -> None:
    code, _, err = medsettle("operator", *command.split(), "--db",
                             f"sqlite:///{tmp_path}/nowhere.db")
    assert code == 2 and err.startswith("error: --db: no such SQLite file") and \
        err.count("\n") == 1, err
    assert not (tmp_path / "nowhere.db").exists()


def test_an_older_database_is_migrated_before_its_operators_are_listed(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(db)
    migrate(engine, "province")
    config = alembic_config("province")
    with engine.begin() as conn:  # back to the schema of before the operators table
        config.attributes["connection"] = conn
        command.downgrade(config, "p0006")
    assert not inspect(engine).has_table("operators")
    engine.dispose()
    code, out, err = medsettle("operator", "list", "--db", db)
    assert code == 0 and "no operators yet" in out, err


def test_the_real_command_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    medsettle_script = Path(sys.executable).parent / "medsettle"
    done = subprocess.run([str(medsettle_script), "operator", "add", "ops", "--db",
                           f"sqlite:///{tmp_path}/p.db", "--role", "province", "--region",
                           "4400"], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: --region:") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "p.db").exists()  # bad input creates no database


@pytest.mark.postgres
def test_operators_are_kept_in_postgresql_databases_of_both_roles(pg_url: str) -> None:
    from tests.conftest import fresh_database

    with fresh_database(pg_url) as province, fresh_database(pg_url) as hub:
        code, out, err = medsettle("operator", "add", "clerk", "--db", province, "--role",
                                   "province", "--region", "440000")
        assert code == 0, err
        assert check(province, token_of(out)) == "clerk"
        code, out, err = medsettle("operator", "add", "root", "--db", hub, "--role", "hub")
        assert code == 0, err
        assert check(hub, token_of(out), "hub", None) == "root"
        code, _, err = medsettle("operator", "add", "clerk", "--db", province, "--role",
                                 "province", "--region", "440000")
        assert code == 2 and "already exists" in err
        code, out, _ = medsettle("operator", "disable", "root", "--db", hub)
        assert code == 0 and "disabled" in out
        code, out, _ = medsettle("operator", "list", "--db", hub)
        assert re.search(r"root\s.*hub\s.*disabled", out), out
        assert datetime.now(UTC).strftime("%Y-%m-%d") in out
