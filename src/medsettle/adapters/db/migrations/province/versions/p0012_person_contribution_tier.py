"""persons: contribution tier (缴费档次) of a resident; NULL is the plain tier

Revision ID: p0012
Revises: p0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0012"
down_revision = "p0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("contribution_tier", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("contribution_tier")
