"""Supervision's schema (adapters/db/supervision_tables.py) as migration steps: p0017 at a
province, h0011 at the hub."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def create_hits() -> None:
    """The rule hits table, the same at a province and at the hub."""
    op.create_table(
        "supervision_hits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(4), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("month", sa.String(7), nullable=True),
        sa.Column("institution", sa.String(12), nullable=False),
        sa.Column("person", sa.String(30), nullable=False),
        sa.Column("settlement_id", sa.String(30), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.String(40), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_supervision_hits_rule_key", "supervision_hits", ["rule", "key"])
    op.create_index("ix_supervision_hits_found_at", "supervision_hits", ["found_at"])


def upgrade_province() -> None:
    """Hits, institutions' credit and credit events."""
    create_hits()
    op.create_table(
        "institution_credit",
        sa.Column("fixmedins_code", sa.String(12), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("suspended_until", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("fixmedins_code"),
    )
    op.create_table(
        "credit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("fixmedins_code", sa.String(12), nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("score_after", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(40), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_credit_events_fixmedins_code", "credit_events", ["fixmedins_code"])


def downgrade_province() -> None:
    """Drop what upgrade_province added."""
    op.drop_table("credit_events")
    op.drop_table("institution_credit")
    op.drop_table("supervision_hits")


def upgrade_hub() -> None:
    """Hits, cases, tickets, clearing adjustments, node reports; clearing_lines.adjustment."""
    create_hits()
    op.create_table(
        "supervision_cases",
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("insured", sa.String(6), nullable=False),
        sa.Column("treating", sa.String(6), nullable=False),
        sa.Column("institution", sa.String(12), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_supervision_cases_state", "supervision_cases", ["state"])
    op.create_table(
        "supervision_tickets",
        sa.Column("ticket_id", sa.String(40), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("raised_by", sa.String(6), nullable=False),
        sa.Column("raised_to", sa.String(6), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_table(
        "clearing_adjustments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.String(40), nullable=False),
        sa.Column("insured", sa.String(6), nullable=False),
        sa.Column("treating", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("month_applied", sa.String(7), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_clearing_adjustments_case_id", "clearing_adjustments", ["case_id"])
    op.create_table(
        "node_reports",
        sa.Column("province", sa.String(6), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("province", "month", "kind"),
    )
    with op.batch_alter_table("clearing_lines") as batch:
        batch.add_column(sa.Column("adjustment", sa.BigInteger(), nullable=False,
                                   server_default="0"))


def downgrade_hub() -> None:
    """Drop what upgrade_hub added."""
    with op.batch_alter_table("clearing_lines") as batch:
        batch.drop_column("adjustment")
    for name in ("node_reports", "clearing_adjustments", "supervision_tickets",
                 "supervision_cases", "supervision_hits"):
        op.drop_table(name)
