"""tamper evidence: the hub's ledger entries have the record digest column of a province's

Revision ID: h0022
Revises: h0011

The hub's entries (clearing, payments, top-ups) book no record, so the column stays empty; it
exists because both nodes share one table definition. ADD COLUMN keeps the append-only triggers.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "h0022"
down_revision = "h0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("record_hash", sa.String(length=64)))


def downgrade() -> None:
    op.drop_column("ledger_entries", "record_hash")
