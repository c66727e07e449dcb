"""the locator remembers a hash a second province published (a person insured in two)

Revision ID: h0024
Revises: h0023

The locator keeps one province per hashed ID number. A second province publishing the same hash
insures the same person (重复参保); the hub now keeps that fact, and tells both provinces when
they publish, so each can find the person among its own. An index by province makes the
count a province asks for (how many hashes the hub holds for it) a read of its own rows.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "h0024"
down_revision = "h0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_locator_province", "locator", ["province"])  # a province's count
    op.create_table("locator_also",
                    sa.Column("certno_hash", sa.String(64), primary_key=True),
                    sa.Column("province", sa.String(6), primary_key=True),
                    sa.Column("found_at", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    op.drop_table("locator_also")
    op.drop_index("ix_locator_province", table_name="locator")
