"""The `medsettle` commands that live in modules of their own, by name, in the order of the help.

The whole CLI (cli.py) attaches all of them; the script's entry point (cli_entry.py) attaches
only the one a command line names, so that `medsettle serve …` or `medsettle institution …`
does not load the demo, the simulator and the conformance kit first.
"""

from __future__ import annotations

import importlib

import typer

#: name → (module, attribute): a Typer group or a command function.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("medsettle.adapters.cli_nodes", "serve_app"),
    "operator": ("medsettle.adapters.cli_operators", "operator_app"),
    "institution": ("medsettle.adapters.cli_institutions", "institution_app"),
    "load": ("medsettle.adapters.cli_load", "load_command"),
    "keys": ("medsettle.adapters.cli_nodes", "keys_command"),
    "demo": ("medsettle.adapters.cli_demo", "demo_command"),
    "sim": ("medsettle.adapters.cli_demo", "sim_command"),
    "reconcile": ("medsettle.adapters.cli_reconcile", "reconcile_command"),
    "simulate": ("medsettle.adapters.cli_simulate", "simulate_command"),
    "clear": ("medsettle.adapters.cli_clear", "clear_command"),
    "verify": ("medsettle.adapters.cli_verify", "verify_command"),
    "supervise": ("medsettle.adapters.cli_supervise", "supervise_command"),
    "stats": ("medsettle.adapters.cli_supervise", "stats_command"),
    "sandbox": ("medsettle.adapters.cli_sandbox", "sandbox_command"),
    "conformance": ("medsettle.adapters.cli_conformance", "conformance_command"),
}


def attach(app: typer.Typer, name: str) -> None:
    """Add the command `name` (COMMANDS) to `app`, loading its module."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        app.add_typer(target, name=name)
    else:
        app.command(name)(target)
