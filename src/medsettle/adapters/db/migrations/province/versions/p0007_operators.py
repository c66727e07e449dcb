"""operators of the node's API (token hashes only)

Revision ID: p0007
Revises: p0006
"""

from __future__ import annotations

from alembic import op

from medsettle.adapters.db.migrations.console_schema import create_operators

revision = "p0007"
down_revision = "p0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_operators()


def downgrade() -> None:
    op.drop_table("operators")
