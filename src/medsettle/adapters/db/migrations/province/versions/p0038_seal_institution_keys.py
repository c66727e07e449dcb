"""institutions' gateway keys sealed at rest: the HMAC key and the SM4 key

Revision ID: p0038
Revises: p0037

Whoever could read a hospital's HMAC or SM4 key from the database could sign and encrypt
messages as that hospital. Both are now sealed with the node's data key (MEDSETTLE_DATA_KEY,
adapters/db/crypto.py), as personal data is; the SM2 public key stays in the clear (it is
public). On PostgreSQL the columns become TEXT (a sealed value is longer than the key). Run it
with the node's own key in the environment.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from medsettle.adapters.db.crypto import PREFIX, seal, unseal

revision = "p0038"
down_revision = "p0037"
branch_labels = None
depends_on = None

COLUMNS = ("api_key", "sm4_key")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for column in COLUMNS:
            conn.execute(sa.text(f"ALTER TABLE institutions ALTER COLUMN {column} TYPE TEXT"))
    _rewrite(conn, lambda value: value if value.startswith(PREFIX) else seal(value))


def downgrade() -> None:
    conn = op.get_bind()
    _rewrite(conn, lambda value: unseal(value) if value.startswith(PREFIX) else value)


def _rewrite(conn: sa.Connection, change: Callable[[str], str]) -> None:
    rows = conn.execute(sa.text("SELECT fixmedins_code, api_key, sm4_key FROM institutions "
                                "WHERE api_key IS NOT NULL OR sm4_key IS NOT NULL")).all()
    for code, api_key, sm4_key in rows:
        conn.execute(sa.text("UPDATE institutions SET api_key = :a, sm4_key = :s "
                             "WHERE fixmedins_code = :c"),
                     {"a": None if api_key is None else change(api_key),
                      "s": None if sm4_key is None else change(sm4_key),
                      "c": code})
