"""policy_sets: who withdrew an approved set before it took effect, and when

Revision ID: p0018
Revises: p0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0018"
down_revision = "p0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policy_sets") as batch:
        batch.add_column(sa.Column("withdrawn_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policy_sets") as batch:
        batch.drop_column("withdrawn_at")
        batch.drop_column("withdrawn_by")
