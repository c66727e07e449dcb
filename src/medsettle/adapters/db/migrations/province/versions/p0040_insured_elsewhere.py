"""persons insured here whom another province insures too (重复参保), as the hub told it

Revision ID: p0040
Revises: p0039

When a province publishes its locator hashes the hub answers which of them another province
holds as well; the node keeps those persons with the other province, for its operators.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0040"
down_revision = "p0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("insured_elsewhere",
                    sa.Column("psn_no", sa.String(30), primary_key=True),
                    sa.Column("province", sa.String(6), primary_key=True),
                    sa.Column("found_at", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    op.drop_table("insured_elsewhere")
