"""operators of the node's API (token hashes only)

Revision ID: h0005
Revises: h0004
"""

from __future__ import annotations

from alembic import op

from medsettle.adapters.db.migrations.console_schema import create_operators

revision = "h0005"
down_revision = "h0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_operators()


def downgrade() -> None:
    op.drop_table("operators")
