"""Database triggers that make the ledger (and the hub's chained log) append-only.

An UPDATE or DELETE of a journal row is refused by the database itself; corrections are new
entries. The hash chain still proves integrity against anyone who drops the triggers first.
"""

from __future__ import annotations

from alembic import op

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION medsettle_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'medsettle: % is append-only; % refused (corrections are new entries)',
    TG_TABLE_NAME, TG_OP;
END $$ LANGUAGE plpgsql
"""


def protect(tables: tuple[str, ...]) -> None:
    """Refuse UPDATE and DELETE on `tables`."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in tables:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION medsettle_append_only()")
        return
    for table in tables:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'medsettle: {table} is append-only; {event} "
                       "refused (corrections are new entries)'); END")


def unprotect(tables: tuple[str, ...]) -> None:
    """Drop the triggers again (downgrade)."""
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        return
    for table in tables:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
