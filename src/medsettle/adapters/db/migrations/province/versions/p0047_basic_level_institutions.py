"""institutions: 无等级 / 基层 institutions (hosp_lv 11) take the tier L0

Revision ID: p0047
Revises: p0046

Institutions could only be loaded at L1, L2 or L3, so a 基层 institution (hosp_lv 11) was
loaded at L1 and its visits settled at L1's deductible and ratio. The tier of hosp_lv 11 is
L0; the rows so loaded take it. (A level that disagrees with its hosp_lv in another way is left
as it is: `medsettle load` now refuses one, naming it.)
"""

from __future__ import annotations

from alembic import op

revision = "p0047"
down_revision = "p0046"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE institutions SET level = 'L0' WHERE hosp_lv = '11' AND level <> 'L0'")


def downgrade() -> None:
    """Nothing to undo: L0 is the tier of hosp_lv 11 in every release that reads it."""
