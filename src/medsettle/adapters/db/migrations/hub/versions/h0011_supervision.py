"""supervision: rule hits, cases, tickets, clearing adjustments (拒付), node reports

Revision ID: h0011
Revises: h0006
"""

from __future__ import annotations

from medsettle.adapters.db.migrations.supervision_schema import downgrade_hub, upgrade_hub

revision = "h0011"
down_revision = "h0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_hub()


def downgrade() -> None:
    downgrade_hub()
