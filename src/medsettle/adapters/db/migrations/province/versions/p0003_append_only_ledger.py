"""append-only ledger

Revision ID: p0003
Revises: p0002
"""

from __future__ import annotations

from medsettle.adapters.db.migrations.append_only import protect, unprotect

revision = "p0003"
down_revision = "p0002"
branch_labels = None
depends_on = None
TABLES = ("ledger_entries", "ledger_postings")


def upgrade() -> None:
    protect(TABLES)


def downgrade() -> None:
    unprotect(TABLES)
