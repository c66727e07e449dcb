"""institutions: why an institution is suspended from direct settlement

Revision ID: p0009
Revises: p0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0009"
down_revision = "p0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.add_column(sa.Column("suspension_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.drop_column("suspension_reason")
