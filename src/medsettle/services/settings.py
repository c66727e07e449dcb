"""Small settings a node keeps in its own database: made once, then read on every start."""

from __future__ import annotations

import secrets

from medsettle.services.ports import Database

SESSION_SECRET = "console_session_secret"


def session_secret(store: Database) -> str:
    """The secret that signs the console's session cookies: made on the node's first start and
    kept in its database, so sessions survive a restart and differ between nodes."""
    with store.tx() as tx:
        row = tx.one("node_settings", name=SESSION_SECRET)
        if row is not None:
            return str(row.value)
        value = secrets.token_urlsafe(48)
        tx.add_ignore("node_settings", [{"name": SESSION_SECRET, "value": value}])
        row = tx.one("node_settings", name=SESSION_SECRET)
        return str(row.value)
