"""Parameter sets kept in a province's PostgreSQL database: a proposed and approved set comes back
from the JSON column with the same content hash and is served from its valid_from; the new
columns of p0009–p0012 exist."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import yaml
from sqlalchemy import inspect

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import load_policy_book, policies_dir
from medsettle.core.policy import parse_parameter_set
from medsettle.core.served import ServedBook
from medsettle.services import policy_sets
from medsettle.services.operators import create_operator, operator_named

pytestmark = pytest.mark.postgres


def test_an_approved_set_round_trips_through_postgresql_and_is_served(pg_database: str) -> None:
    engine = make_engine(pg_database)
    migrate(engine, "province")
    columns = {table: {c["name"] for c in inspect(engine).get_columns(table)}
               for table in ("institutions", "settlements", "persons", "policy_sets")}
    assert "suspension_reason" in columns["institutions"]
    assert "policy_hash" in columns["settlements"]
    assert "contribution_tier" in columns["persons"]
    store = Store(engine)
    now = datetime.now(UTC)
    with store.tx() as tx:
        for name in ("clerk", "checker"):
            create_operator(tx, name, "province", "440000", now)
        clerk = operator_named(tx, "clerk", "province", "440000")
        checker = operator_named(tx, "checker", "province", "440000")
    path = policies_dir() / "440100" / "resident" / "440100-resident-2025.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) | {
        "id": "440100-resident-2026", "valid_from": date(2026, 1, 1)}  # a YAML date
    proposed = policy_sets.propose(store, doc, "gz.yaml", clerk, now, "440000")
    book = ServedBook(load_policy_book())
    policy_sets.approve(store, book, proposed["id"], checker, now, "440000")

    fresh = ServedBook(load_policy_book())  # another worker of the province
    assert policy_sets.refresh(fresh, store) and not policy_sets.refresh(fresh, store)
    served = fresh.find("440100", "resident", date(2026, 2, 1))
    assert served.id == "440100-resident-2026"
    assert served.content_hash == parse_parameter_set(doc, "x").content_hash == \
        proposed["content_hash"]
    assert fresh.find("440100", "resident", date(2025, 12, 31)).id == "440100-resident-2025"
    with store.tx() as tx:
        actions = [r.action for r in tx.rows("audit_log", order_by="id")]
    assert actions == ["policy.propose", "policy.approve"]
    engine.dispose()
