"""Benchmark: the client CPU one hot-path statement costs a node, through the node's store and
through the driver alone.

    .venv/bin/python bench/bench_statement.py [--count 3000]

A visit runs about 70 statements at the two province nodes, and the profile of a node under
load puts half its CPU in running them. This script measures, on a scratch PostgreSQL database
migrated to the province schema, the process CPU of one primary-key lookup (the message log's,
as the HIS gateway makes for every retry check) run four ways in the same run: `Tx.one` (the
store: its cached statement on the driver lane, adapters/db/lane.py), the same cached statement
through SQLAlchemy Core's `Connection.execute` (what the store did before the lane),
`exec_driver_sql` (SQLAlchemy's connection, no statement construct), and a psycopg cursor alone
(the baseline). It also times a five-row
insert as psycopg's executemany (what the store runs) and as one multi-row INSERT (what
SQLAlchemy's "insertmanyvalues" would send). And it prices a whole read as the hot path makes
it, `Store.read()` with one lookup (a pooled connection checked out, switched to autocommit and
back, checked in), against the same on an engine whose connections stay in autocommit and
against one psycopg statement on a new cursor (the baseline of that part). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, insert

from medsettle.adapters.db import tables as t
from medsettle.adapters.db.statements import matching
from medsettle.adapters.db.store import Store, Tx

sys.path.insert(0, os.path.dirname(__file__))
from scratch import cpu_us, machine, scratch_database

PG = os.environ.get("MEDSETTLE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
LOOKUP = ("SELECT scope, msgid, infno, body_hash, response, ok, created_at FROM message_log "
          "WHERE scope = %s AND msgid = %s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    args = parser.parse_args()
    now = datetime.now(UTC)
    with scratch_database(PG, "province") as (_, engine), engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        tx = Tx(conn, "postgresql")
        tx.add("message_log", {"scope": "s", "msgid": "m", "infno": "1101", "body_hash": "h",
                               "response": {"a": 1}, "ok": True, "created_at": now})
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        query, values = matching(t.message_log, {"scope": "s", "msgid": "m"})
        lookup = {
            "store Tx.one (driver lane)": cpu_us(
                lambda: tx.one("message_log", scope="s", msgid="m"), args.count),
            "SQLAlchemy Core execute (cached statement)": cpu_us(
                lambda: conn.execute(query, values).first(), args.count),
            "exec_driver_sql": cpu_us(
                lambda: conn.exec_driver_sql(LOOKUP, ("s", "m")).first(), args.count),
            "psycopg cursor (baseline)": cpu_us(
                lambda: cursor.execute(LOOKUP, ("s", "m")).fetchone(), args.count),
        }
        serial = iter(range(10**9))

        def rows() -> list[dict[str, object]]:
            n = next(serial)
            return [{"seq": n, "line": i, "account": "fund:pool", "amount": 100} for i in range(5)]

        inserts = {
            "executemany (one statement per row)": cpu_us(
                lambda: conn.execute(insert(t.ledger_postings), rows()), args.count // 3),
            "one multi-row INSERT": cpu_us(
                lambda: conn.execute(insert(t.ledger_postings).values(rows())),
                args.count // 3),
        }
        reads = whole_reads(engine, cursor.connection, args.count)
    base = lookup["psycopg cursor (baseline)"]
    print(json.dumps({
        "benchmark": "statement_cpu", "machine": machine(), "count": args.count,
        "lookup_cpu_us": lookup,
        "lookup_ratio_to_psycopg": {k: round(v / base, 2) for k, v in lookup.items()},
        "five_row_insert_cpu_us": inserts,
        "whole_read_cpu_us": reads,
        "whole_read_ratio_to_psycopg": {k: round(v / reads[NEW_CURSOR], 2)
                                        for k, v in reads.items()},
    }, indent=1))


NEW_CURSOR = "psycopg: one statement on a new cursor (baseline)"


def whole_reads(engine: Any, driver: Any, count: int) -> dict[str, float]:
    """A read as the hot path makes it, three ways (see the module's docstring)."""
    store = Store(engine)
    staying = create_engine(engine.url, isolation_level="AUTOCOMMIT")

    def store_read() -> None:
        with store.read() as tx:
            tx.one("message_log", scope="s", msgid="m")

    def staying_read() -> None:
        with staying.connect() as conn:
            Tx(conn, "postgresql").one("message_log", scope="s", msgid="m")

    def new_cursor() -> None:
        driver.cursor().execute(LOOKUP, ("s", "m")).fetchone()

    try:
        return {"Store.read() + Tx.one": cpu_us(store_read, count),
                "the same, connections staying in autocommit": cpu_us(staying_read, count),
                NEW_CURSOR: cpu_us(new_cursor, count)}
    finally:
        staying.dispose()


if __name__ == "__main__":
    main()
