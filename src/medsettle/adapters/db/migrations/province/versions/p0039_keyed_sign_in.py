"""the app's sign-in table keeps ID numbers by a keyed hash

Revision ID: p0039
Revises: p0038

`person_sign_in` kept each ID number as an unkeyed SHA-256, which whoever reads the table could
reverse by trying every number. It now keeps a hash under the node's lookup key (derived from
MEDSETTLE_DATA_KEY, adapters/db/crypto.py). Rows of the numbers insured here are re-keyed, with
their pending code and lock-out kept; rows of numbers not insured here (they can never sign in)
are dropped. Run it with the node's own key in the environment.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from medsettle.adapters.db.crypto import PREFIX, lookup_hash, unseal

revision = "p0039"
down_revision = "p0038"
branch_labels = None
depends_on = None


def _old(certno: str) -> str:
    return hashlib.sha256(f"medsettle-sign-in:{certno.upper()}".encode()).hexdigest()


def _new(certno: str) -> str:
    return lookup_hash(f"sign-in:{certno}")  # as Tx.keyed_hash("sign-in", …) makes it


def upgrade() -> None:
    _rekey(_old, _new)


def downgrade() -> None:
    _rekey(_new, _old)


def _rekey(before: Callable[[str], str], after: Callable[[str], str]) -> None:
    conn = op.get_bind()
    kept = {str(k) for (k,) in conn.execute(sa.text("SELECT certno_hash FROM person_sign_in"))}
    if not kept:
        return
    moved: set[str] = set()
    for (sealed,) in conn.execute(sa.text("SELECT certno FROM persons")).all():
        certno = unseal(sealed) if str(sealed).startswith(PREFIX) else str(sealed)
        old, new = before(certno), after(certno)
        if old in kept:
            conn.execute(sa.text("UPDATE person_sign_in SET certno_hash = :new "
                                 "WHERE certno_hash = :old"), {"new": new, "old": old})
            moved.add(new)
    for key in kept - moved:  # renamed rows are gone from their old keys: the rest goes
        conn.execute(sa.text("DELETE FROM person_sign_in WHERE certno_hash = :k"), {"k": key})
