"""the locator holds keyed hashes: the unkeyed ones it held are dropped

Revision ID: h0023
Revises: h0022

The hub's locator used to hold an unkeyed SHA-256 of each ID number, which anyone reading the
table could reverse by trying every number. Province nodes now publish HMAC-SHA256 under the
provinces' shared locator key (MEDSETTLE_LOCATOR_KEY), which the hub never holds. The hub cannot
convert what it has (it never saw the numbers), so the old rows go; each province publishes its
keyed hashes again when it joins the federation, which it does every time it starts.
"""

from __future__ import annotations

from alembic import op

revision = "h0023"
down_revision = "h0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM locator")


def downgrade() -> None:
    op.execute("DELETE FROM locator")  # keyed hashes mean nothing to the older code either
