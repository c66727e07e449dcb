"""the hub reads its settlement index by time

Revision ID: h0026
Revises: h0025

The daily reconciliation's read of a day and a node's index catch-up (its counts per second)
read the index by setl_time. The day's read used to load every row of the index and keep
those of the day; both now ask the database for the range, which this index serves.
"""

from __future__ import annotations

from alembic import op

revision = "h0026"
down_revision = "h0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_settlement_index_setl_time", "settlement_index", ["setl_time"])


def downgrade() -> None:
    op.drop_index("ix_settlement_index_setl_time", table_name="settlement_index")
