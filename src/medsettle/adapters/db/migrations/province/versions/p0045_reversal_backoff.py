"""visits: a pending reversal's failed attempts and when to try it again

Revision ID: p0045
Revises: p0044

The treating node resent every pending reversal (冲正) on every heartbeat, one after the other,
however often the insured place had refused it. Each visit with a reversal pending now counts
its failed attempts and holds the moment of the next one (2 s after the first failure, doubling
to at most 10 minutes), so a refused or unreachable one is tried less often and the others are
not held up behind it. Existing rows start at 0 attempts, due at the next round.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0045"
down_revision = "p0044"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("visits", sa.Column("reversal_attempts", sa.Integer(), nullable=False,
                                      server_default="0"))
    op.add_column("visits", sa.Column("reversal_next_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("reversal_next_at")
        batch.drop_column("reversal_attempts")
