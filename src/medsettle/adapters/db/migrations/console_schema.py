"""The operators' and the console's schema, the same in a province's and the hub's database:
operators (token hashes), their passwords (argon2 hash), the append-only audit log, and node
settings (the session secret)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from medsettle.adapters.db.migrations.append_only import protect, unprotect


def create_operators() -> None:
    """The operators of the node's API (token hashes only)."""
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )


def upgrade_console() -> None:
    """Add operators.password_hash, audit_log (append-only) and node_settings."""
    with op.batch_alter_table("operators") as batch:
        batch.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    protect(("audit_log",))
    op.create_table(
        "node_settings",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade_console() -> None:
    """Drop what upgrade_console added."""
    op.drop_table("node_settings")
    unprotect(("audit_log",))
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("operators") as batch:
        batch.drop_column("password_hash")
