"""personal data sealed at rest: ID numbers, names and visit snapshots; lookups by keyed hash

Revision ID: p0036
Revises: p0035

Every existing person's certno and psn_name, and every visit's person snapshot, is sealed with
the node's data key (MEDSETTLE_DATA_KEY, adapters/db/crypto.py), and `certno_hmac` is filled
with the keyed hash ID numbers are now found by. On PostgreSQL the columns become TEXT (a sealed
value is longer than the number it holds); SQLite does not enforce the old lengths, but its
visits table is rebuilt so the snapshot column is declared TEXT, not JSON. Run it with
the node's own key in the environment: rows sealed under the dev key must be sealed again.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from medsettle.adapters.db.crypto import PREFIX, lookup_hash, seal, unseal

revision = "p0036"
down_revision = "p0035"
branch_labels = None
depends_on = None


def _document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("persons", sa.Column("certno_hmac", sa.String(length=64)))
    if conn.dialect.name == "postgresql":
        for table, column, using in (("persons", "certno", ""), ("persons", "psn_name", ""),
                                     ("visits", "person", " USING person::text")):
            conn.execute(sa.text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE TEXT{using}"))
    else:  # SQLite keeps the declared type, and a JSON column is read as JSON: rebuild visits
        with op.batch_alter_table("visits") as batch:
            batch.alter_column("person", type_=sa.Text(), existing_nullable=False)
    people = conn.execute(sa.text("SELECT psn_no, certno, psn_name FROM persons")).all()
    for psn_no, certno, name in people:
        if str(certno).startswith(PREFIX):
            continue
        conn.execute(sa.text("UPDATE persons SET certno = :c, psn_name = :n, certno_hmac = :h "
                             "WHERE psn_no = :p"),
                     {"c": seal(certno), "n": seal(name), "h": lookup_hash(certno),
                      "p": psn_no})
    for visit_id, person in conn.execute(sa.text("SELECT mdtrt_id, person FROM visits")).all():
        if isinstance(person, str) and person.startswith(PREFIX):
            continue
        sealed = seal(json.dumps(_document(person), ensure_ascii=False, sort_keys=True))
        conn.execute(sa.text("UPDATE visits SET person = :s WHERE mdtrt_id = :v"),
                     {"s": sealed, "v": visit_id})
    op.create_index("ix_persons_certno_hmac", "persons", ["certno_hmac"], unique=True)


def downgrade() -> None:
    conn = op.get_bind()
    op.drop_index("ix_persons_certno_hmac", table_name="persons")
    for psn_no, certno, name in conn.execute(sa.text(
            "SELECT psn_no, certno, psn_name FROM persons")).all():
        conn.execute(sa.text("UPDATE persons SET certno = :c, psn_name = :n WHERE psn_no = :p"),
                     {"c": unseal(certno), "n": unseal(name), "p": psn_no})
    for visit_id, person in conn.execute(sa.text("SELECT mdtrt_id, person FROM visits")).all():
        conn.execute(sa.text("UPDATE visits SET person = :s WHERE mdtrt_id = :v"),
                     {"s": unseal(person), "v": visit_id})
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("ALTER TABLE visits ALTER COLUMN person TYPE JSON USING "
                             "person::json"))
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("certno_hmac")
