"""Alembic environment of the province database; run by medsettle.adapters.db.engine.migrate."""

from __future__ import annotations

from alembic import context

from medsettle.adapters.db.tables import province as target_metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=target_metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
