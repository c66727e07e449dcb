"""his_files: files a HIS uploads with 9101 and files the node makes for it (catalogues,
reconciliation results), downloaded with 9102 by their owner only

Revision ID: p0025
Revises: p0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0025"
down_revision = "p0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "his_files",
        sa.Column("file_no", sa.String(30), primary_key=True),
        sa.Column("owner", sa.String(12), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("msgid", sa.String(30), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_his_files_owner", "his_files", ["owner"])
    op.create_index("ix_his_files_expires_at", "his_files", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_his_files_expires_at", table_name="his_files")
    op.drop_index("ix_his_files_owner", table_name="his_files")
    op.drop_table("his_files")
