"""The `medsettle` script loads only the command it runs: a node or a key tool starts without
the demo, the simulator and the conformance kit, and offers the same commands as the whole CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer.main

from medsettle.adapters.cli import app
from medsettle.adapters.cli_commands import COMMANDS

#: Modules only some commands need: loaded by a node, each costs every process its import
#: (httpx: a node speaks HTTP through its own pool; the demo's launcher uses httpx).
HEAVY = ("medsettle.adapters.cli_demo", "medsettle.adapters.kit.his",
         "medsettle.adapters.simulation.run", "medsettle.adapters.cli", "httpx")


def loaded_by(*argv: str) -> tuple[int, set[str]]:
    """The entry point's exit status on `medsettle argv…` and which HEAVY modules it loaded."""
    code = ("import json, sys\n"
            f"sys.argv = ['medsettle', *{list(argv)!r}]\n"
            "from medsettle.adapters import cli_entry\n"
            "try:\n    cli_entry.main()\n    status = 0\n"
            "except SystemExit as exc:\n    status = exc.code or 0\n"
            f"print(json.dumps([status, [m for m in {list(HEAVY)!r} if m in sys.modules]]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    status, modules = json.loads(done.stdout.strip().splitlines()[-1])
    return status, set(modules)


@pytest.mark.parametrize("argv", [("serve", "province", "--help"),
                                  ("institution", "keys", "--help"), ("load", "--help")])
def test_a_command_of_its_own_module_loads_nothing_heavy(argv: tuple[str, ...]) -> None:
    assert loaded_by(*argv) == (0, set())


def test_the_demo_loads_its_module_and_the_help_the_whole_cli() -> None:
    assert loaded_by("demo", "--help") == (0, {"medsettle.adapters.cli_demo", "httpx"})
    status, modules = loaded_by("--help")
    assert status == 0 and "medsettle.adapters.cli" in modules


def test_an_unknown_command_is_one_line_with_status_2() -> None:
    done = subprocess.run([sys.executable, "-c", "import sys; sys.argv = ['medsettle', 'nosuch']"
                           "\nfrom medsettle.adapters import cli_entry; cli_entry.main()"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "nosuch" in done.stderr


def test_the_whole_cli_has_every_command_of_its_own_module() -> None:
    whole = typer.main.get_command(app)
    assert set(COMMANDS) <= set(whole.commands)  # type: ignore[attr-defined]
