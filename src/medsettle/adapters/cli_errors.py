"""How every `medsettle` command reports an error a user can cause: one line on stderr (Rich),
`error: <what>`, and an exit status: 2 for bad input (an option, a file, a region), 1 when a
peer is unavailable (the hub, a database server) or a run failed.

Commands report what they foresee themselves (`fail`); `OneLineGroup`, the command group of the
whole CLI, turns what escapes them into the same one line: a usage error (a missing option, an
unknown command), a domain error, a file or network error, a database that cannot be opened.
Only a bug still prints a traceback.
"""

from __future__ import annotations

import errno
import math
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError
from typer._click.core import Context  # typer 0.29 carries its own click
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup
from typer.exceptions import Abort, Exit

from medsettle.adapters.db.engine import MigrationFailed
from medsettle.core.errors import InvalidInput, MedSettleError, PeerUnavailable

#: Exit status of bad input (an option, an argument, a file the user named).
BAD_INPUT = 2
#: Exit status when a peer (the hub, another node, a database server) is unavailable or a run
#: failed.
FAILED = 1

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def say_error(message: str) -> None:
    """Print `error: message` on stderr as one line (never wrapped, never read as markup)."""
    line = " ".join(str(message).split())  # one line, whatever the message holds
    err_console.print(Text.assemble(("error", "bold red"), f": {line}"))


def fail(message: str, status: int = BAD_INPUT) -> NoReturn:
    """Report one error line and exit with `status` (2 bad input, 1 unavailable or failed)."""
    say_error(message)
    raise typer.Exit(status)


def status_of(exc: BaseException) -> int:
    """The exit status an error deserves: 1 for an unavailable peer, 2 for the rest."""
    return FAILED if isinstance(exc, PeerUnavailable) else BAD_INPUT


def database_problem(url: str, exc: SQLAlchemyError | MigrationFailed, option: str = "--db") -> str:
    """A database error as one phrase naming the option and URL."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{option}: cannot use {url}: {type(cause).__name__}: {first}"


def existing_sqlite(url: str, option: str = "--db") -> None:
    """Refuse a SQLite URL whose file does not exist (a typo must not create an empty
    database); PostgreSQL URLs are checked when connecting."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        fail(f"{option}: no such SQLite file: {url.removeprefix('sqlite:///')}")


def positive_seconds(option: str, value: float) -> None:
    """Exit with one line unless `value` is a positive, finite number of seconds."""
    if not (math.isfinite(value) and value > 0):
        fail(f"{option}: must be a positive number of seconds, not {value:g}")


def policy_folder(policies: Path | None) -> None:
    """Exit with one line unless `policies` is absent or a folder holding policy documents
    (an empty folder served no parameters, and a review compared against nothing)."""
    if policies is None:
        return
    if not policies.is_dir():
        fail(f"--policies: no such folder: {policies}")
    if next(policies.rglob("*.yaml"), None) is None:
        fail(f"--policies: {policies} holds no policy documents (<admdvs>/<scheme>/*.yaml)")


def check_port(host: str, port: int) -> None:
    """Exit with one line if `host:port` cannot be listened on (in use, not allowed)."""
    if not 0 < port < 65536:
        fail(f"--port: must be 1..65535, not {port}")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used: {exc.strerror}"
            fail(f"--port: {host}:{port} {why}", FAILED)


def _describe(exc: BaseException) -> tuple[str, int]:
    """An error that escaped a command, as (one line, exit status)."""
    if isinstance(exc, UsageError):
        ctx = exc.ctx
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        return f"{exc.format_message()}{hint}", BAD_INPUT
    if isinstance(exc, InvalidInput):
        return str(exc), BAD_INPUT
    if isinstance(exc, MedSettleError):
        return str(exc), status_of(exc)
    if isinstance(exc, (SQLAlchemyError, MigrationFailed)):
        cause = getattr(exc, "orig", None) or exc
        first = (str(cause).strip().splitlines() or [""])[0]
        return f"the database cannot be used: {type(cause).__name__}: {first}", FAILED
    if isinstance(exc, http_errors()):
        return f"a peer cannot be reached: {exc}", FAILED
    if isinstance(exc, ConnectionError):
        return f"a peer cannot be reached: {exc}", FAILED
    if isinstance(exc, OSError) and exc.filename is not None:  # a path the user gave
        return f"{exc.strerror or exc}: {exc.filename}", BAD_INPUT
    raise exc


#: The errors a user can cause that become one line (and httpx's, when loaded: http_errors).
ONE_LINE: tuple[type[Exception], ...] = (UsageError, MedSettleError, SQLAlchemyError,
                                         MigrationFailed, OSError)


def http_errors() -> tuple[type[Exception], ...]:
    """httpx's error class, if a command loaded httpx: only then can one of its errors arise.
    Not imported here, so that a node's process (which speaks HTTP through its own pool) never
    loads httpx and what it pulls in (Rich's syntax highlighter, Pygments)."""
    httpx = sys.modules.get("httpx")
    return (httpx.HTTPError,) if httpx is not None else ()


class OneLineGroup(TyperGroup):
    """The CLI's command group: any error a user can cause that a command did not report
    itself becomes one line on stderr and exit status 2 (bad input) or 1 (unavailable, failed);
    a bug still shows its traceback."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (Exit, Abort, NoArgsIsHelpError):
            raise
        except ONE_LINE + http_errors() as exc:
            message, status = _describe(exc)
            say_error(message)
            raise typer.Exit(status) from None
