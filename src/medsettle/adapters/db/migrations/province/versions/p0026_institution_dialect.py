"""institutions.dialect: the dialect profile of an institution's HIS (what the gateway accepts
beyond the national document, and how it writes its answers); NULL means national

Revision ID: p0026
Revises: p0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0026"
down_revision = "p0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.add_column(sa.Column("dialect", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.drop_column("dialect")
