"""indexes for lookups whose cost grew with the node's history: a reversal's and a cancel's, and
R05's read of a person's settlements of one day

Revision ID: p0042
Revises: p0041

A reversal (冲正) finds what the original message made by its msgid, at the treating node (the
visit, the settlement) and at the insured node (the settlement); a cancel finds the records that
cancel a settlement. Without an index each of them read the whole table, a cost that grows with
every settlement the node ever made. R05 (settled in another province today) reads a person's
settlements of one business day: by person and time, which replaces the index by person alone.
"""

from __future__ import annotations

from alembic import op

revision = "p0042"
down_revision = "p0041"
branch_labels = None
depends_on = None

INDEXES = (("ix_settlements_msgid", "settlements", ["msgid"]),
           ("ix_settlements_ref_setl_id", "settlements", ["ref_setl_id"]),
           ("ix_visits_msgid", "visits", ["msgid"]),
           ("ix_settlements_psn_no_setl_time", "settlements", ["psn_no", "setl_time"]))


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.drop_index("ix_settlements_psn_no", table_name="settlements")


def downgrade() -> None:
    op.create_index("ix_settlements_psn_no", "settlements", ["psn_no"])
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
