"""settlements: the content hash of the parameter set a settlement used, beside its id

Revision ID: p0011
Revises: p0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0011"
down_revision = "p0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(sa.Column("policy_hash", sa.String(length=64), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("policy_hash")
