"""operator console: passwords, auditors, the append-only audit log, node settings

Revision ID: p0008
Revises: p0007
"""

from __future__ import annotations

from medsettle.adapters.db.migrations.console_schema import downgrade_console, upgrade_console

revision = "p0008"
down_revision = "p0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_console()


def downgrade() -> None:
    downgrade_console()
