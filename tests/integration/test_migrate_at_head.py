"""A node whose database is at the newest revision starts without loading Alembic; one behind
is migrated as before; a revision no tree knows is one clear error, not Alembic's traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text

from medsettle.adapters.db.engine import (
    ROLES,
    MigrationFailed,
    Role,
    alembic_config,
    all_revisions,
    current_revisions,
    make_engine,
    migrate,
    newest_revisions,
    schema_role,
)

pytestmark = pytest.mark.parametrize("database", ["sqlite", "postgres"], indirect=True)


@pytest.mark.parametrize("role", ROLES)
def test_the_revisions_read_from_the_files_are_alembics(database: str, role: Role) -> None:
    script = ScriptDirectory.from_config(alembic_config(role))
    heads = script.get_heads()
    assert newest_revisions(role) == frozenset(heads) and len(heads) == 1
    assert all_revisions(role) == {r.revision for r in script.walk_revisions()}


@pytest.mark.parametrize("role", ROLES)
def test_a_database_at_the_newest_revision_is_opened_without_alembic(database: str,
                                                                     role: Role) -> None:
    migrate(make_engine(database), role)  # from nothing: Alembic runs every migration
    code = ("import json, sys\n"
            "from medsettle.adapters.db.engine import make_engine, migrate\n"
            f"migrate(make_engine({database!r}), {role!r})\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
    with make_engine(database).connect() as conn:
        assert current_revisions(conn) == newest_revisions(role)
    assert schema_role(make_engine(database)) == role


def test_a_revision_of_no_tree_is_a_migration_failure(database: str) -> None:
    engine = make_engine(database)
    migrate(engine, "hub")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'x9999'"))
    with pytest.raises(MigrationFailed, match="x9999"):
        migrate(engine, "hub")
