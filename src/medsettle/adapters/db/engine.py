"""Engines for a node's database and the Alembic migrations applied when the node starts.

Alembic (with Mako and Pygments behind it) is loaded only when a database needs a migration: a
node whose database is already at the newest revision starts without it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text

from medsettle.adapters.db.crypto import check_key_opens
from medsettle.core.errors import InvalidInput

if TYPE_CHECKING:
    from alembic.config import Config

Role = Literal["province", "hub"]
ROLES: tuple[Role, ...] = ("province", "hub")
MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """An engine for a SQLite file or a PostgreSQL URL (psycopg 3), tuned for a node;
    InvalidInput naming --db for any other kind of URL (no other driver is installed)."""
    if not url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
        raise InvalidInput("--db", f"must be sqlite:///FILE or postgresql://…, not "
                                   f"{url.split('://', 1)[0]}://…")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # No ping before each checkout (a round trip per transaction): a connection the server
    # dropped fails its transaction once, SQLAlchemy then discards the pool's older connections,
    # and the caller's retry (a HIS resends; node calls are idempotent) gets a fresh one.
    return create_engine(url, pool_size=20, max_overflow=20, pool_recycle=1800)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(conn) -> None:  # type: ignore[no-untyped-def]
    """Write transactions on SQLite take the lock up front, so two never interleave."""
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class MigrationFailed(Exception):
    """A migration could not run (Alembic's own error, its message kept)."""


def alembic_config(role: Role) -> Config:
    """The Alembic configuration of a role's migration tree."""
    from alembic.config import Config
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS / role))
    return config


def migrate(engine: Engine, role: Role) -> None:
    """Bring the database to the newest schema of its role (run on every start)."""
    with engine.begin() as connection:
        if role == "province":  # before a migration seals anything with the wrong key
            check_key_opens(connection)
        revisions = current_revisions(connection)
        if revisions == newest_revisions(role):
            return
        if revisions and not revisions <= all_revisions(role):
            other = next((r for r in ROLES if revisions <= all_revisions(r)), None)
            held = (f"a {other}'s schema" if other else
                    f"an unknown schema (Alembic revision {', '.join(sorted(revisions))})")
            raise MigrationFailed(f"the database holds {held}, not a {role}'s")
        from alembic import command
        from alembic.util import CommandError
        config = alembic_config(role)
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise MigrationFailed(str(exc)) from exc


def current_revisions(connection: Connection) -> frozenset[str]:
    """The Alembic revisions a database is at (none for a database never migrated)."""
    if not inspect(connection).has_table("alembic_version"):
        return frozenset()
    return frozenset(connection.execute(text("SELECT version_num FROM alembic_version"))
                     .scalars())


_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=(.*)$", re.MULTILINE)


@functools.cache
def _revision_tree(role: Role) -> tuple[frozenset[str], frozenset[str]]:
    """(every revision, the revisions another one follows) of a role's migration files, read
    from their `revision` and `down_revision` lines without loading Alembic (a test compares
    them with Alembic's own reading)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in (MIGRATIONS / role / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            ids = set(re.findall(r"['\"](\w+)['\"]", value))
            (revisions if name == "revision" else followed).update(ids)
    return frozenset(revisions), frozenset(followed)


def all_revisions(role: Role) -> frozenset[str]:
    """Every revision of a role's migration tree."""
    return _revision_tree(role)[0]


def newest_revisions(role: Role) -> frozenset[str]:
    """The heads of a role's migration tree: the revisions no other one follows."""
    revisions, followed = _revision_tree(role)
    return revisions - followed


def schema_role(engine: Engine) -> Role | None:
    """Whose schema the database holds (province or hub), read from its Alembic revision; None
    for a database no node has migrated yet, InvalidInput for a revision of neither."""
    with engine.connect() as connection:
        revisions = current_revisions(connection)
    if not revisions:
        return None
    for role in ROLES:
        if revisions <= all_revisions(role):
            return role
    raise InvalidInput("db", f"holds neither a province nor a hub schema (Alembic revision "
                             f"{', '.join(sorted(revisions))})")
