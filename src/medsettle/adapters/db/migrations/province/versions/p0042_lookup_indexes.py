"""indexes for the lookups a reversal and a cancel make: settlements and visits by the msgid that
made them, settlements by the settlement a cancel record cancels

Revision ID: p0042
Revises: p0041

A reversal (冲正) finds what the original message made by its msgid, at the treating node (the
visit, the settlement) and at the insured node (the settlement); a cancel finds the records that
cancel a settlement. Without an index each of them read the whole table, a cost that grows with
every settlement the node ever made.
"""

from __future__ import annotations

from alembic import op

revision = "p0042"
down_revision = "p0041"
branch_labels = None
depends_on = None

INDEXES = (("ix_settlements_msgid", "settlements", "msgid"),
           ("ix_settlements_ref_setl_id", "settlements", "ref_setl_id"),
           ("ix_visits_msgid", "visits", "msgid"))


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
