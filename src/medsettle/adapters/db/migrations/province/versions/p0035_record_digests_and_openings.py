"""tamper evidence: ledger entries cover their record's digest; accumulators keep their opening

Revision ID: p0035
Revises: p0031

`ledger_entries.record_hash` is added with ADD COLUMN (not a table rebuild), so the append-only
triggers stay. Entries written before it have no digest and keep their hash; `verify` checks
their records against their postings instead. `accumulators.opening` is what was loaded with
the person: for existing rows it is the stored value less the deltas that count now (the state
at upgrade is taken as the truth, as it was all `verify` could check before).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from medsettle.core.evidence import counted_deltas

revision = "p0035"
down_revision = "p0031"
branch_labels = None
depends_on = None


def _delta(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("record_hash", sa.String(length=64)))
    op.add_column("accumulators", sa.Column("opening", sa.BigInteger(), nullable=False,
                                            server_default="0"))
    conn = op.get_bind()
    settlements = [{**r._mapping, "delta": _delta(r.delta)} for r in conn.execute(sa.text(
        "SELECT psn_no, role, kind, status, medical_year, delta FROM settlements"))]
    claims = [{**r._mapping, "delta": _delta(r.delta)} for r in conn.execute(sa.text(
        "SELECT psn_no, status, medical_year, delta FROM reimbursement_claims"))]
    deltas = counted_deltas(settlements, claims)
    conn.execute(sa.text("UPDATE accumulators SET opening = value"))
    for (psn_no, year, path), total in deltas.items():
        conn.execute(sa.text("UPDATE accumulators SET opening = value - :total WHERE psn_no = "
                             ":psn AND year = :year AND path = :path"),
                     {"total": total, "psn": psn_no, "year": year, "path": path})


def downgrade() -> None:
    with op.batch_alter_table("accumulators") as batch:
        batch.drop_column("opening")
    op.drop_column("ledger_entries", "record_hash")
