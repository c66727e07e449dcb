"""sign_ins: when a sign-in was ended by 9002 (签退)

Revision ID: p0046
Revises: p0045

A HIS signs out with 9002 at the end of a shift; its sign_no is then refused in later messages
(the HIS signs in again with 9001). Existing sign-ins stay open.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0046"
down_revision = "p0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sign_ins", sa.Column("signed_out_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("sign_ins") as batch:
        batch.drop_column("signed_out_at")
