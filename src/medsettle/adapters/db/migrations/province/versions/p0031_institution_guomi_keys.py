"""institutions' signing scheme and 国密 keys (SM2 public key, SM4 key) for HIS messages

Revision ID: p0031
Revises: p0026
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0031"
down_revision = "p0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.add_column(sa.Column("signing", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("sm2_public_key", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("sm4_key", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("institutions") as batch:
        batch.drop_column("sm4_key")
        batch.drop_column("sm2_public_key")
        batch.drop_column("signing")
