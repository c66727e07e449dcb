"""ended_sessions: the app's sessions ended by signing out

Revision ID: p0044
Revises: p0043

The app's session is a signed cookie. Signing out dropped it from the browser, but a copy taken
before stayed valid until its idle or absolute end. Each session now carries a random id, and
signing out records it here: a cookie naming an ended session is refused. The node keeps the
ids of the last session lifetime (2 hours) only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0044"
down_revision = "p0043"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ended_sessions",
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session_id"),
    )
    op.create_index("ix_ended_sessions_at", "ended_sessions", ["at"])


def downgrade() -> None:
    op.drop_index("ix_ended_sessions_at", table_name="ended_sessions")
    op.drop_table("ended_sessions")
