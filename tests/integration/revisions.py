"""Databases as an older release left them: migrated up to one revision only, for the tests of
the migrations that follow it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine

from medsettle.adapters.db.engine import Role, alembic_config, make_engine


def at_revision(database: str, role: Role, revision: str) -> Engine:
    """An engine on `database`, its schema of `role` migrated up to `revision` only."""
    engine = make_engine(database)
    config = alembic_config(role)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return engine
