"""The `medsettle` script's entry point. A command that lives in a module of its own
(cli_commands.py) runs with only that module loaded: a node started by `medsettle serve …` or a
key issued by `medsettle institution keys …` does not first load the demo, the simulator and
the conformance kit. Anything else (help, the policy and calculation commands) loads the whole
CLI, which offers the same commands with the same options and errors.
"""

from __future__ import annotations

import sys

import typer

from medsettle.adapters.cli_commands import COMMANDS, attach
from medsettle.adapters.cli_errors import OneLineGroup


def main() -> None:
    """Run `medsettle` with the process's arguments."""
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in COMMANDS:
        from medsettle.adapters.cli import main as whole_cli
        whole_cli()
        return
    app = typer.Typer(no_args_is_help=True, add_completion=False, cls=OneLineGroup)
    app.callback()(_group)  # a group even with one command: `medsettle NAME …` as always
    attach(app, name)
    app()


def _group() -> None:
    """MedSettle: cross-province direct settlement of medical insurance."""
