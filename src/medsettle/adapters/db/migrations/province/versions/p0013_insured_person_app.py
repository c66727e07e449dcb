"""insured person's app: one-time sign-in codes with lock-out, family links (亲情账户) with
consent, short-lived e-voucher tokens (医保码)

Revision ID: p0013
Revises: p0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0013"
down_revision = "p0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_sign_in",
        sa.Column("certno_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("certno_hash"),
    )
    op.create_table(
        "family_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent_psn_no", sa.String(length=30), nullable=False),
        sa.Column("member_psn_no", sa.String(length=30), nullable=False),
        sa.Column("relationship", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_family_links_agent_psn_no", "family_links", ["agent_psn_no"])
    op.create_index("ix_family_links_member_psn_no", "family_links", ["member_psn_no"])
    op.create_table(
        "evouchers",
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("psn_no", sa.String(length=30), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token"),
    )
    op.create_index("ix_evouchers_psn_no", "evouchers", ["psn_no"])


def downgrade() -> None:
    op.drop_index("ix_evouchers_psn_no", table_name="evouchers")
    op.drop_table("evouchers")
    op.drop_index("ix_family_links_member_psn_no", table_name="family_links")
    op.drop_index("ix_family_links_agent_psn_no", table_name="family_links")
    op.drop_table("family_links")
    op.drop_table("person_sign_in")
