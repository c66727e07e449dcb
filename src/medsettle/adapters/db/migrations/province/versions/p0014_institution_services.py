"""institutions.services: which direct-settlement services an institution is networked for
(inpatient, outpatient); NULL means both

Revision ID: p0014
Revises: p0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0014"
down_revision = "p0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.add_column(sa.Column("services", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.drop_column("services")
