"""a partial index of the visits whose reversal is still to send

Revision ID: p0037
Revises: p0036

The treating node looks for settles whose answer never came on every heartbeat; the index holds
only those few rows, so the look costs the same whatever the number of visits.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0037"
down_revision = "p0036"
branch_labels = None
depends_on = None

PENDING = sa.text("reversal_pending IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_visits_reversal_pending", "visits", ["reversal_pending"],
                    postgresql_where=PENDING, sqlite_where=PENDING)


def downgrade() -> None:
    op.drop_index("ix_visits_reversal_pending", table_name="visits")
