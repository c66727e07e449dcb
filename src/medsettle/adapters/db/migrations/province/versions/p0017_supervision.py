"""supervision: rule hits, institutions' credit and credit events

Revision ID: p0017
Revises: p0014
"""

from __future__ import annotations

from medsettle.adapters.db.migrations.supervision_schema import (
    downgrade_province,
    upgrade_province,
)

revision = "p0017"
down_revision = "p0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_province()


def downgrade() -> None:
    downgrade_province()
