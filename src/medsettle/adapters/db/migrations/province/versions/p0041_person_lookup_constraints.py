"""persons: the ID number's lookup hash is required and unique by constraint; the sealed ID
number loses the uniqueness it had in the clear

Revision ID: p0041
Revises: p0040

p0036 sealed ID numbers and added `certno_hmac` as a nullable column with a unique index, and
left the unique constraint on `certno`. Sealing draws a fresh nonce each time, so that
constraint guards nothing any more (one ID number sealed twice gives two different values) and
costs an index on every insert. Persons are found, and kept unique, by the lookup hash: it
becomes NOT NULL with a unique constraint, as `adapters/db/tables.py` describes. A row left
without a hash (none should be) gets it from its ID number first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from medsettle.adapters.db.crypto import lookup_hash, unseal

revision = "p0041"
down_revision = "p0040"
branch_labels = None
depends_on = None

#: p0001 declared the persons' unique constraints without names. PostgreSQL named them after
#: this pattern itself; on SQLite the convention names them as they are reflected, so that batch
#: mode can drop one by name.
NAMING = {"uq": "%(table_name)s_%(column_0_name)s_key"}


def _fill_missing_hashes() -> None:
    conn = op.get_bind()
    for psn_no, certno in conn.execute(sa.text(
            "SELECT psn_no, certno FROM persons WHERE certno_hmac IS NULL")).all():
        conn.execute(sa.text("UPDATE persons SET certno_hmac = :h WHERE psn_no = :p"),
                     {"h": lookup_hash(unseal(certno)), "p": psn_no})


def upgrade() -> None:
    _fill_missing_hashes()
    op.drop_index("ix_persons_certno_hmac", table_name="persons")
    with op.batch_alter_table("persons", naming_convention=NAMING) as batch:
        batch.drop_constraint("persons_certno_key", type_="unique")
        batch.alter_column("certno_hmac", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint("persons_certno_hmac_key", ["certno_hmac"])


def downgrade() -> None:
    with op.batch_alter_table("persons", naming_convention=NAMING) as batch:
        batch.drop_constraint("persons_certno_hmac_key", type_="unique")
        batch.alter_column("certno_hmac", existing_type=sa.String(64), nullable=True)
        batch.create_unique_constraint("persons_certno_key", ["certno"])
    op.create_index("ix_persons_certno_hmac", "persons", ["certno_hmac"], unique=True)
