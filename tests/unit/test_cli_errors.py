"""Every error a user can cause prints one line on stderr, `error: …`, never a traceback, and
exits 2 for bad input or 1 for an unavailable peer (hub, database server) or a failed run.

Table-driven: most commands in-process (typer's CliRunner, through the CLI's own command
group), a few as the real `medsettle` script.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from medsettle.adapters.cli import app
from medsettle.adapters.cli_sandbox import seed_sandbox
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.launcher import free_port

MEDSETTLE = Path(sys.executable).parent / "medsettle"
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
#: Nothing listens here: a hub, node or database server that is down.
DOWN = "127.0.0.1:9"
runner = CliRunner()


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with a keys file, a keys file without 440000, an empty migrated hub database,
    an existing keys.json, a bad sim file, and a port something listens on."""
    root = tmp_path_factory.mktemp("cli-errors")
    keys = {"440000": "a" * 64, "110000": "b" * 64}
    (root / "keys.json").write_text(json.dumps(keys), encoding="utf-8")
    (root / "keys-110000.json").write_text(json.dumps({"110000": "b" * 64}), encoding="utf-8")
    (root / "broken-keys.json").write_text("{not json", encoding="utf-8")
    (root / "blank-key.json").write_text(json.dumps({"440000": ""}), encoding="utf-8")
    (root / "short-key.json").write_text(json.dumps({"440000": 1}), encoding="utf-8")
    (root / "odd-node.json").write_text(json.dumps({"440300": "a" * 64}), encoding="utf-8")
    (root / "deep-keys.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    (root / "no-keys.json").write_text("{}", encoding="utf-8")
    seed_sandbox(f"sqlite:///{root}/sandbox.db")
    engine = make_engine(f"sqlite:///{root}/hub.db")
    migrate(engine, "hub")
    engine.dispose()
    (root / "sim").mkdir()
    (root / "sim" / "440000.json").write_text("{", encoding="utf-8")
    yield root


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


#: (command line with {dir} and {busy}, exit status, what the line says)
IN_PROCESS = [
    ("serve hub --keys {dir}/nowhere.json", 2, "--keys: no such file"),
    ("serve hub --keys {dir}/broken-keys.json", 2, "--keys: cannot read"),
    # an empty key let anyone sign as 440000
    ("serve hub --keys {dir}/blank-key.json", 2, "440000: the key must be 64 hex digits"),
    ("serve province --region 440000 --keys {dir}/short-key.json", 2, "64 hex digits"),
    ("serve hub --keys {dir}/odd-node.json", 2, "'440300' is not a province code"),
    ("reconcile --day 2026-11-01 --keys {dir}/deep-keys.json", 2, "nested too deeply"),
    ("reconcile --day 2026-11-01 --keys {dir}/no-keys.json", 2, "--keys: has no province"),
    # a sandbox's test persons would be published to the hub as the province's insured
    ("serve province --region 440000 --keys {dir}/keys.json --db sqlite:///{dir}/sandbox.db",
     2, "is a sandbox's database"),
    # refused before the run, not after it (the port) or with its results lost (the report)
    ("conformance --his-pull --port {busy}", 1, "is in use"),
    ("conformance --his-pull --port 70000", 2, "--port: must be 1..65535"),
    (f"conformance --platform http://{DOWN} --report {{dir}}/keys.json", 2,
     "--report: cannot write"),
    ("serve hub --keys {dir}/keys.json --port {busy}", 1, "is in use"),
    ("serve province --region 999999 --keys {dir}/keys.json", 2, "--region"),
    ("serve province --region 440300 --keys {dir}/keys.json", 2, "province code"),
    ("serve province --region 440000 --keys {dir}/keys-110000.json", 2,
     "has no key for 440000"),
    ("serve province --region 440000 --keys {dir}/keys.json --policies {dir}/none", 2,
     "--policies: no such folder"),
    ("serve province --region 440000 --keys {dir}/keys.json --port {busy}", 1, "is in use"),
    ("serve province --region 440000 --keys {dir}/keys.json --timeout -1", 2, "--timeout"),
    ("serve province --region 440000 --keys {dir}/keys.json --anchor-seconds 0", 2,
     "--anchor-seconds"),
    ("serve province --region 440000 --keys {dir}/keys.json --policies {dir}/sim", 2,
     "holds no policy documents"),
    ("serve hub --keys {dir}/keys.json --call-timeout -5", 2, "--call-timeout"),
    ("serve province --keys {dir}/keys.json", 2, "Missing option '--region'"),
    (f"reconcile --day 2026-11-01 --hub http://{DOWN} --keys {{dir}}/keys.json", 1,
     "cannot be reached"),
    ("reconcile --day 2026-11-31 --keys {dir}/keys.json", 2, "--day"),
    ("reconcile --day 2026-11-01 --keys {dir}/nowhere.json", 2, "--keys: no such file"),
    ("clear --month 2026-13 --hub-db sqlite:///{dir}/hub.db", 2, "--month"),
    ("clear --month 2026-10 --hub-db sqlite:///{dir}/no-hub.db", 2, "no such SQLite file"),
    # a mistyped database was created and migrated, and the command went on on it
    ("supervise --month 2025-03 --db sqlite:///{dir}/typo1.db", 2, "no such SQLite file"),
    ("stats --month 2025-03 --hub-db sqlite:///{dir}/typo2.db", 2,
     "--hub-db: no such SQLite file"),
    ("institution keys H44030500001 --db sqlite:///{dir}/typo3.db", 2, "no such SQLite file"),
    ("verify --db mysql://x@127.0.0.1/y", 2, "--db: must be sqlite:///FILE or postgresql"),
    ("sim --out {dir}/s0 --provinces 2 --persons 0 --visits 1", 2, "--persons"),
    ("demo --provinces 2 --concurrency 0 --exit --workdir {dir}/d0", 2, "--concurrency"),
    # a folder under a file: FileExistsError was a traceback
    ("sim --out {dir}/keys.json/s --provinces 2 --persons 10 --institutions 1 --visits 1", 2,
     "keys.json"),
    ("institution add H44030500001 --name X --level L1 --region 310100 "
     "--db sqlite:///{dir}/typo4.db", 2, "--region: 310100 is not in the province"),
    ("clear --month 2026-10 --hub-db sqlite:///{dir}/hub.db", 1, "nothing to clear"),
    (f"clear --month 2026-10 --hub-db postgresql://x@{DOWN}/hub", 1, "--hub-db: cannot use"),
    ("verify --db sqlite:///{dir}/nowhere.db", 2, "--db: no such SQLite file"),
    # a node's database given for the other role: "intact: 0 entries" then a database error,
    # or "Can't locate revision"
    ("verify --role hub --db sqlite:///{dir}/sandbox.db", 2,
     "--db: holds a province's schema, not a hub's (give --role province)"),
    ("verify --db sqlite:///{dir}/hub.db", 2, "--db: holds a hub's schema, not a province's"),
    ("clear --month 2026-10 --hub-db sqlite:///{dir}/sandbox.db", 1,
     "the database holds a province's schema, not a hub's"),
    ("stats --month 2026-10 --hub-db sqlite:///{dir}/sandbox.db", 1,
     "--hub-db: cannot use"),
    ("verify --db sqlite:///{dir}/hub.db --role ledger", 2, "--role"),
    (f"verify --db sqlite:///{{dir}}/hub.db --role hub --node 440000 --hub http://{DOWN} "
     "--keys {dir}/keys.json", 1, "the hub cannot be reached"),
    (f"verify --db sqlite:///{{dir}}/hub.db --role hub --node 440000 --hub http://{DOWN}", 2,
     "--keys: the hub gives province 440000's anchors only to that province"),
    (f"verify --db sqlite:///{{dir}}/hub.db --role hub --node 440000 --hub http://{DOWN} "
     "--keys {dir}/keys-110000.json", 2, "--keys: "),
    ("load --region 44 {dir}", 2, "--region"),
    ("load --region 440000 {dir}/none", 2, "DIR: no such folder"),
    ("load --region 440000 {dir}/sim --db sqlite:///{dir}/p.db", 2, "440000.json"),
    ("institution add H1 --name x --level L3 --region 440300 --db sqlite:///{dir}/p.db", 2,
     "CODE"),
    ("institution add H44030400777 --name x --level L9 --region 440300 "
     "--db sqlite:///{dir}/p.db", 2, "--level"),
    ("operator add ops --role province --region 4400 --db sqlite:///{dir}/p.db", 2,
     "--region"),
    ("operator list --db sqlite:///{dir}/nowhere.db", 2, "no such SQLite file"),
    (f"operator list --db postgresql://x@{DOWN}/p", 1, "--db: cannot use"),
    ("keys --out {dir}", 2, "is a folder"),
    ("keys --out {dir}/keys.json", 2, "--force"),
    ("demo --provinces 1", 2, "--provinces"),
    ("demo --provinces 2 --workdir {dir}/keys-110000.json", 2, "--workdir: cannot use"),
    ("demo --provinces 2 --workdir {dir}", 2, "is not empty and was not made by a demo"),
    (f"demo --pg postgresql://x@{DOWN}/postgres --workdir {{dir}}/demo", 1, "--pg: cannot connect"),
    ("calc {dir}/nowhere.yaml", 2, "CASE"),
    ("policy show 999999", 2, "REGION"),
    ("nosuch", 2, "No such command"),
]


def line(err: str) -> str:
    """The one error line (the test fails if there is more)."""
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err


@pytest.mark.parametrize("command,status,says", IN_PROCESS,
                         ids=[c[0].split(" --")[0] + f" ({c[2]})" for c in IN_PROCESS])
def test_a_user_error_is_one_line_and_its_exit_status(place: Path, busy_port: int,
                                                      command: str, status: int,
                                                      says: str) -> None:
    args = command.format(dir=place, busy=busy_port).split()
    result = runner.invoke(app, args, env=ENV)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code == status, (result.stdout, result.stderr)
    assert says in line(result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert not (place / "no-hub.db").exists() and not (place / "nowhere.db").exists()


#: The real script: what a person at a terminal sees.
AS_A_SCRIPT = [
    ("serve hub --keys {dir}/nowhere.json", 2, "--keys: no such file"),
    (f"serve province --region 440000 --keys {{dir}}/keys.json --port {{free}} "
     f"--db postgresql://x@{DOWN}/p", 1, "--db: cannot use"),
    (f"reconcile --day 2026-11-01 --hub http://{DOWN} --keys {{dir}}/keys.json", 1,
     "cannot be reached"),
    ("clear --month 2026-10 --hub-db sqlite:///{dir}/hub.db", 1, "nothing to clear"),
    ("nosuch", 2, "No such command"),
]


@pytest.mark.parametrize("command,status,says", AS_A_SCRIPT,
                         ids=[c[0].split(" --")[0] for c in AS_A_SCRIPT])
def test_the_real_script_prints_one_line_too(place: Path, command: str, status: int,
                                             says: str) -> None:
    args = command.format(dir=place, free=free_port()).split()
    done = subprocess.run([str(MEDSETTLE), *args], capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, **ENV}, cwd=place)
    assert done.returncode == status, (done.stdout, done.stderr)
    assert says in line(done.stderr)
    assert "Traceback" not in done.stdout + done.stderr


def test_an_http_error_that_escapes_a_command_is_one_line_with_status_1() -> None:
    """httpx is not imported by the CLI's error handling (a node never loads it); a command
    that uses it and lets one of its errors escape still gets the one line."""
    import httpx
    import typer

    from medsettle.adapters.cli_errors import OneLineGroup

    lonely = typer.Typer(cls=OneLineGroup)

    @lonely.command()
    def call() -> None:
        raise httpx.ConnectError("connection refused", request=httpx.Request("GET", "http://x"))

    @lonely.command()
    def other() -> None:  # a second command, so that `call` is a subcommand
        pass

    result = runner.invoke(lonely, ["call"], env=ENV)
    assert result.exit_code == 1
    assert result.output.strip() == "error: a peer cannot be reached: connection refused"
