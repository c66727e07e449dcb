"""settlements: the hospital's invoice number (invono) sent with 2207/2304, for 5203/5261/5262

Revision ID: p0021
Revises: p0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0021"
down_revision = "p0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(sa.Column("invono", sa.String(length=20), nullable=False,
                                   server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("invono")
