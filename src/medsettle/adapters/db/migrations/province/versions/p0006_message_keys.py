"""wider message-log keys (the insured node keys a message by caller, institution and msgid),
and an index by msgid alone (a reversal finds whose message it names)

Revision ID: p0006
Revises: p0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "p0006"
down_revision = "p0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message_log") as batch:
        batch.alter_column("msgid", type_=sa.String(length=80),
                           existing_type=sa.String(length=40), existing_nullable=False)
    op.create_index("ix_message_log_msgid", "message_log", ["msgid"])


def downgrade() -> None:
    op.drop_index("ix_message_log_msgid", "message_log")
    with op.batch_alter_table("message_log") as batch:
        batch.alter_column("msgid", type_=sa.String(length=40),
                           existing_type=sa.String(length=80), existing_nullable=False)
