"""The schema the migrations build is the one `adapters/db/tables.py` describes (Alembic's
comparison of a freshly migrated database with the metadata), so a new column or index is
never written to one and forgotten in the other."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from medsettle.adapters.db import tables as t
from medsettle.adapters.db.engine import Role, make_engine, migrate

#: Differences allowed by role. None any more: p0041 mended the last ones (the persons' lookup
#: hash), so any difference fails.
KNOWN: dict[str, set[tuple[str, str, str]]] = {}
#: SQLite keeps a column's declared type (it enforces no length): the sealed columns, TEXT since
#: p0036 on PostgreSQL, still say VARCHAR(n) there and hold longer ciphertext all the same.
SQLITE_TYPES = {("modify_type", "persons", "certno"), ("modify_type", "persons", "psn_name"),
                ("modify_type", "institutions", "api_key"),
                ("modify_type", "institutions", "sm4_key")}


def described(diff: Any) -> tuple[str, str, str]:
    """(kind, table, column or index) of one difference Alembic reports."""
    if isinstance(diff, list):  # column changes come as a list of one
        kind, _, table, column = diff[0][:4]
        return kind, table, column
    kind, item = diff[0], diff[1]
    if kind.endswith("_index"):
        return kind, item.table.name, item.name
    if kind.endswith("_constraint"):
        return kind, item.table.name, ",".join(c.name for c in item.columns)
    if kind.endswith("_column"):
        return kind, diff[2], diff[3].name
    return kind, getattr(item, "name", str(item)), ""


@pytest.mark.parametrize("role", ["hub", "province"])
def test_the_migrated_schema_is_the_one_the_tables_describe(database: str, role: Role) -> None:
    engine = make_engine(database)
    migrate(engine, role)
    metadata = t.hub if role == "hub" else t.province
    with engine.connect() as conn:
        found = {described(d) for d in compare_metadata(MigrationContext.configure(conn),
                                                          metadata)}
    sqlite = engine.dialect.name == "sqlite"
    engine.dispose()
    known = KNOWN.get(role, set()) | (SQLITE_TYPES if sqlite and role == "province" else set())
    assert found - known == set()
