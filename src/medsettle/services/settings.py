"""Small settings a node keeps in its own database: made once, then read on every start."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from medsettle.services.ports import Database

SESSION_SECRET = "console_session_secret"
#: The node's SM2 key pair that signs its answers to SM2-signing HIS ("private:public", hex).
HIS_SM2_KEY = "his_sm2_key"


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


def kept(store: Database, name: str, make: Callable[[], str]) -> str:
    """The setting `name`, made with `make` the first time (two nodes starting at once keep
    the first one written)."""
    with store.tx() as tx:
        row = tx.one("node_settings", name=name)
        if row is None:
            tx.add_ignore("node_settings", [{"name": name, "value": make()}])
            row = tx.one("node_settings", name=name)
        return str(row.value)
