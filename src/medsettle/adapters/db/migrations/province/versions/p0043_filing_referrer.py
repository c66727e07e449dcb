"""filings: who filed a referral through a hospital's 2501 (the node and the institution)

Revision ID: p0043
Revises: p0042

A referral filing (转诊备案) made through 2501 is revoked through 2502. Until now nothing
recorded who made it, so any institution of any province that knew a filing number and its
person could revoke it. The columns stay empty for filings made by the person or the agency;
only the node and institution named here may revoke a referral through 2502.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0043"
down_revision = "p0042"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("filings") as batch:
        batch.add_column(sa.Column("filed_by_node", sa.String(6)))
        batch.add_column(sa.Column("filed_by_institution", sa.String(12)))


def downgrade() -> None:
    with op.batch_alter_table("filings") as batch:
        batch.drop_column("filed_by_institution")
        batch.drop_column("filed_by_node")
