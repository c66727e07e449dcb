"""append-only ledger and message log

Revision ID: h0004
Revises: h0003
"""

from __future__ import annotations

from medsettle.adapters.db.migrations.append_only import protect, unprotect

revision = "h0004"
down_revision = "h0003"
branch_labels = None
depends_on = None
TABLES = ("ledger_entries", "ledger_postings", "hub_messages", "anchors")


def upgrade() -> None:
    protect(TABLES)


def downgrade() -> None:
    unprotect(TABLES)
