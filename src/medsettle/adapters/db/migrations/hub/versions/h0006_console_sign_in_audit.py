"""operator console: passwords, auditors, the append-only audit log, node settings

Revision ID: h0006
Revises: h0005
"""

from __future__ import annotations

from medsettle.adapters.db.migrations.console_schema import downgrade_console, upgrade_console

revision = "h0006"
down_revision = "h0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_console()


def downgrade() -> None:
    downgrade_console()
