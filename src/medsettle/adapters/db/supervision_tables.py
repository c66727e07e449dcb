"""Supervision's tables (docs/supervision.md), in a province's and in the hub's database: rule
hits with their evidence, institutions' credit and its events (province), cases (费用协查,
双地联查), tickets (问题协同), clearing adjustments (拒付, carried-over items) and what the nodes
report for the statistics (hub). Imported by tables.py, so every node's metadata has them."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, MetaData, String, Table, Text

from medsettle.adapters.db.tables import UTCDateTime, hub, province


def _hits(metadata: MetaData) -> Table:
    """Rule hits (疑点) with their evidence (core.supervision.hits.Hit.to_dict)."""
    return Table(
        "supervision_hits", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("rule", String(4), nullable=False),
        Column("unit", String(16), nullable=False),
        Column("key", String(120), nullable=False),
        Column("severity", String(10), nullable=False),
        Column("source", String(10), nullable=False),  # realtime | batch
        Column("month", String(7)),
        Column("institution", String(12), nullable=False, default=""),
        Column("person", String(30), nullable=False, default=""),
        Column("settlement_id", String(30), nullable=False, default=""),
        Column("amount", BigInteger, nullable=False, default=0),
        Column("found_at", UTCDateTime(), nullable=False),
        Column("case_id", String(40)),
        Column("document", JSON, nullable=False),
        Index("ix_supervision_hits_rule_key", "rule", "key"),
        Index("ix_supervision_hits_found_at", "found_at"),
    )


province_hits = _hits(province)
hub_hits = _hits(hub)

institution_credit = Table(  # at the treating province: each institution's credit (信用)
    "institution_credit", province,
    Column("fixmedins_code", String(12), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("suspended_until", Date),
    Column("reason", Text, nullable=False, default=""),
    Column("updated_at", UTCDateTime(), nullable=False),
)

credit_events = Table(
    "credit_events", province,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fixmedins_code", String(12), nullable=False, index=True),
    Column("action", String(12), nullable=False),  # deduct | suspend | reinstate
    Column("severity", String(10), nullable=False, default=""),
    Column("points", Integer, nullable=False, default=0),
    Column("score_after", Integer, nullable=False),
    Column("case_id", String(40)),
    Column("note", Text, nullable=False, default=""),
    Column("actor", String(100), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

supervision_cases = Table(
    "supervision_cases", hub,
    Column("case_id", String(40), primary_key=True),
    Column("kind", String(12), nullable=False),  # verification | joint_audit
    Column("state", String(12), nullable=False),
    Column("insured", String(6), nullable=False),
    Column("treating", String(6), nullable=False),
    Column("institution", String(12), nullable=False, default=""),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("due", Date),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("document", JSON, nullable=False),
    Index("ix_supervision_cases_state", "state"),
)

supervision_tickets = Table(
    "supervision_tickets", hub,
    Column("ticket_id", String(40), primary_key=True),
    Column("state", String(12), nullable=False),
    Column("raised_by", String(6), nullable=False),
    Column("raised_to", String(6), nullable=False),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("document", JSON, nullable=False),
)

clearing_adjustments = Table(  # 拒付 and carried-over items, applied by the next clearing run
    "clearing_adjustments", hub,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(40), nullable=False, index=True),
    Column("insured", String(6), nullable=False),
    Column("treating", String(6), nullable=False),
    Column("kind", String(10), nullable=False),  # refusal | hold | release
    Column("amount", BigInteger, nullable=False),  # signed: < 0 lowers what insured owes
    Column("created_at", UTCDateTime(), nullable=False),
    Column("month_applied", String(7)),
)

node_reports = Table(  # what provinces report for the statistics (manual claims, filings)
    "node_reports", hub,
    Column("province", String(6), primary_key=True),
    Column("month", String(7), primary_key=True),
    Column("kind", String(24), primary_key=True),
    Column("document", JSON, nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
)
