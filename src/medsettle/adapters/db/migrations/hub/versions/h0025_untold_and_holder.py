"""the hub finds untold decisions and a province's doubly insured persons by index

Revision ID: h0025
Revises: h0024

The decision courier looked for decided cases not yet told to their treating province by
reading every decided or closed case each minute, and a province's ask for how many of its
persons are insured twice read every row of locator_also: both grew with the hub's age. A case
now carries an `untold` flag (set when decided, cleared once the province confirmed), in a
partial index of those few rows; a locator_also row names the province the locator holds the
hash for (`holder`), indexed beside the province that published it again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "h0025"
down_revision = "h0024"
branch_labels = None
depends_on = None

UNTOLD = sa.text("untold")


def upgrade() -> None:
    op.add_column("supervision_cases", sa.Column("untold", sa.Boolean(), nullable=False,
                                                 server_default=sa.false()))
    cases = sa.table("supervision_cases", sa.column("case_id", sa.String),
                     sa.column("state", sa.String), sa.column("document", sa.JSON),
                     sa.column("untold", sa.Boolean))
    conn = op.get_bind()
    decided = conn.execute(sa.select(cases.c.case_id, cases.c.document).where(
        cases.c.state.in_(("decided", "closed")))).all()
    for case_id, document in decided:
        if not ((document or {}).get("credit") or {}).get("told"):
            conn.execute(cases.update().where(cases.c.case_id == case_id).values(untold=True))
    op.create_index("ix_supervision_cases_untold", "supervision_cases", ["untold"],
                    postgresql_where=UNTOLD, sqlite_where=UNTOLD)
    op.add_column("locator_also", sa.Column("holder", sa.String(6)))
    op.execute("UPDATE locator_also SET holder = (SELECT locator.province FROM locator "
               "WHERE locator.certno_hash = locator_also.certno_hash)")
    op.create_index("ix_locator_also_province", "locator_also", ["province"])
    op.create_index("ix_locator_also_holder", "locator_also", ["holder"])


def downgrade() -> None:
    op.drop_index("ix_locator_also_holder", table_name="locator_also")
    op.drop_index("ix_locator_also_province", table_name="locator_also")
    op.drop_column("locator_also", "holder")
    op.drop_index("ix_supervision_cases_untold", table_name="supervision_cases")
    op.drop_column("supervision_cases", "untold")
