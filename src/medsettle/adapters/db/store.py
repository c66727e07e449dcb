"""Transactions over a node's database: the only place services touch SQL.

`Store.tx()` opens one transaction (a unit of work); it commits when the block ends normally and
rolls back on any exception. On PostgreSQL a settlement locks the person's row
(`SELECT … FOR UPDATE`); on SQLite every write transaction starts with `BEGIN IMMEDIATE`, which
serialises writers. Either way two settlements of one person never lose an accumulator update.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BigInteger, Engine, Integer, Row, Table, delete, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from medsettle.adapters.db import aggregates
from medsettle.adapters.db import tables as t
from medsettle.adapters.db.crypto import lookup_hash
from medsettle.adapters.db.lane import Lane
from medsettle.adapters.db.records import RecordQueries
from medsettle.adapters.db.statements import (
    accumulators_of_year,
    adding_to_accumulators,
    increment,
    insert_if_absent,
    inserting,
    inserting_new,
    matching,
    param,
    select_where,
    update_where,
    value_param,
)
from medsettle.core.accumulators import Accumulators, Path
from medsettle.core.errors import StateConflict

#: The integers a column can hold (BIGINT): a key outside them matches no row, rather than
#: failing in the driver (a path like /family/9223372036854775808 must be "not found").
INT64 = range(-(2**63), 2**63)
#: What an INTEGER column holds (PostgreSQL's integer: /console/policies/2147483648 is "not
#: found", not "integer out of range").
INT32 = range(-(2**31), 2**31)


def storable(keys: Mapping[str, object], table: Table | None = None) -> bool:
    """Whether every integer among `keys` fits its column (INT32 for `table`'s INTEGER
    columns, else INT64)."""
    narrow = int32_columns(table) if table is not None else frozenset()
    return all(v in (INT32 if k in narrow else INT64) for k, v in keys.items()
               if isinstance(v, int))


@cache
def int32_columns(table: Table) -> frozenset[str]:
    """The columns of `table` that are INTEGER (32 bits), not BIGINT."""
    return frozenset(c.name for c in table.columns
                     if isinstance(c.type, Integer) and not isinstance(c.type, BigInteger))


class Store:
    """A node's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @contextmanager
    def tx(self) -> Iterator[Tx]:
        """One transaction; commit on success, roll back on error. A write that collides with
        a concurrent one (a key written twice) becomes StateConflict: nothing was changed."""
        try:
            with self.engine.begin() as conn:
                yield Tx(conn, self.dialect)
        except IntegrityError as exc:
            raise StateConflict(f"a concurrent write got there first: {exc.orig}") from None

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Reads outside a transaction: each statement sees the database as it commits, so use
        it for a lookup of one statement, or for checks that a later transaction repeats. On
        PostgreSQL it saves the BEGIN and COMMIT round trips a transaction costs; SQLite takes
        a transaction as before."""
        if self.dialect != "postgresql":
            with self.tx() as tx:
                yield tx
            return
        with self.engine.connect() as conn:
            yield Tx(conn.execution_options(isolation_level="AUTOCOMMIT"), self.dialect)


def _table(name: str | Table) -> Table:
    return name if isinstance(name, Table) else TABLES[name]


TABLES: dict[str, Table] = {**t.hub.tables, **t.province.tables}  # shared names: same columns


class Tx(RecordQueries):
    """Queries and writes inside one transaction (implements services.ports.UnitOfWork)."""

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self.driver_lane = Lane(conn) if dialect == "postgresql" else None

    # --- generic (the table comes first and positionally, so a column may be called `name`) ---
    def one(self, name: str | Table, /, **keys: object) -> Row[Any] | None:
        """The row of `table` whose columns equal `keys` (None matches NULL), or None."""
        table = _table(name)
        if not storable(keys, table):
            return None
        query, values = matching(table, keys)
        return self.run(query, values).first()

    def rows(self, name: str | Table, /, order_by: str | None = None,
             **keys: object) -> list[Row[Any]]:
        """Every row of `table` whose columns equal `keys` (None matches NULL)."""
        table = _table(name)
        if not storable(keys, table):
            return []
        query, values = matching(table, keys, order_by)
        return list(self.run(query, values))

    def rows_in(self, name: str | Table, column: str, values: list[object]) -> list[Row[Any]]:
        """The rows whose `column` is one of `values` (asked 1,000 values at a time)."""
        table = _table(name)
        found: list[Row[Any]] = []
        for start in range(0, len(values), 1000):
            found += self.conn.execute(select(table).where(
                table.c[column].in_(values[start:start + 1000])))
        return found

    def rows_after(self, name: str | Table, column: str, after: object, *, limit: int = 1000,
                   descending: bool = False) -> list[Row[Any]]:
        """Rows ordered by `column`: those after `after` (ascending), or the last `limit`."""
        table = _table(name)
        query = select(table)
        if descending:
            query = query.order_by(table.c[column].desc())
        else:
            query = query.where(table.c[column] > after).order_by(table.c[column])
        return list(self.conn.execute(query.limit(limit)))

    def add(self, name: str | Table, row: Mapping[str, object]) -> None:
        """Insert one row."""
        self.run(inserting(_table(name)), dict(row))

    def add_many(self, name: str | Table, rows: list[dict[str, object]]) -> None:
        """Insert many rows in one statement."""
        if rows:
            self.run(inserting(_table(name)), rows)

    def add_ignore(self, name: str | Table, rows: list[dict[str, object]]) -> None:
        """Insert rows, skipping any whose primary key already exists."""
        if rows:
            self.run(inserting_new(self.dialect, _table(name)), rows)

    def add_new(self, name: str | Table, rows: list[dict[str, object]], key: str
                ) -> set[object]:
        """Insert rows, skipping any whose primary key already exists; the `key` values of the
        rows this transaction inserted (not of those another one inserted first)."""
        if not rows:
            return set()
        table = _table(name)
        query = inserting_new(self.dialect, table).returning(table.c[key])
        return {row[0] for row in self.conn.execute(query, rows)}

    def keyed_hash(self, purpose: str, value: str) -> str:
        """A hash of personal data under the node's lookup key (crypto.lookup_hash), apart for
        each `purpose`."""
        return lookup_hash(f"{purpose}:{value}")

    def distinct(self, name: str | Table, column: str) -> set[object]:
        """The distinct values of one column."""
        table = _table(name)
        return set(self.conn.execute(select(table.c[column]).distinct()).scalars())

    def hold_index_for_clearing(self) -> None:
        """Until this transaction ends, no settlement enters the hub's index and no other
        clearing run starts (PostgreSQL: a SHARE ROW EXCLUSIVE lock, which conflicts with row
        writes and with itself; SQLite writers already run one at a time): a month's clearing
        and a late row of that month never pass each other unseen, and two runs never both
        apply the same pending adjustment."""
        if self.dialect == "postgresql":
            self.conn.exec_driver_sql("LOCK TABLE settlement_index IN SHARE ROW EXCLUSIVE MODE")

    def change(self, name: str | Table, /, keys: Mapping[str, object], **values: object) -> int:
        """Update the rows matching `keys`; returns how many."""
        table = _table(name)
        if not storable(keys, table):
            return 0
        nulls = tuple(k for k, v in keys.items() if v is None)
        equal = {k: v for k, v in keys.items() if v is not None}
        bound = {param(k): v for k, v in equal.items()} | {
            value_param(k): v for k, v in values.items()}
        return self.run(update_where(table, tuple(equal), nulls, tuple(values)), bound).rowcount

    def remove(self, name: str | Table, /, **keys: object) -> int:
        """Delete the rows whose columns equal `keys` (at least one); returns how many."""
        table = _table(name)
        if not keys or not storable(keys, table):
            return 0
        return int(self.conn.execute(table.delete().where(
            *(table.c[k] == v for k, v in keys.items()))).rowcount)

    def purge_files(self, now: datetime) -> int:
        """Delete the HIS files that expired at or before `now`; how many."""
        return self.conn.execute(delete(t.his_files).where(t.his_files.c.expires_at <= now)
                                 ).rowcount

    def files_held(self, owner: str, kind: str | None = None) -> tuple[int, int]:
        """How many HIS files `owner` holds (of `kind`), and their bytes: summed by the
        database, without reading their content."""
        table = t.his_files
        query = select(func.count(), func.coalesce(func.sum(table.c.size), 0)).where(
            table.c.owner == owner)
        if kind is not None:
            query = query.where(table.c.kind == kind)
        count, size = self.conn.execute(query).one()
        return int(count), int(size)

    def next_serial(self, name: str) -> int:
        """The next value of a named counter (1, 2, 3, …), atomically within this transaction
        (the counter's row stays locked until it ends)."""
        value = self.run(increment(self.dialect, t.counters), {"name": name})
        return int(value.scalar_one())

    # --- persons and accumulators ------------------------------------------------------------
    def sessions_ended_since(self, since: datetime) -> set[str]:
        """The app sessions ended (signed out) at or after `since`."""
        table = t.ended_sessions
        found = self.conn.execute(select(table.c.session_id).where(table.c.at >= since))
        return {row.session_id for row in found}

    def end_session(self, session_id: str, at: datetime, keep_since: datetime) -> None:
        """Record an app session as ended at `at`; forget those ended before `keep_since` (no
        session that old is still open)."""
        table = t.ended_sessions
        self.conn.execute(delete(table).where(table.c.at < keep_since))
        self.add_ignore(table, [{"session_id": session_id, "at": at}])

    def hold(self, name: str, /, **keys: object) -> Row[Any] | None:
        """The row of `name` whose columns equal `keys`, held until the transaction ends
        (`SELECT … FOR UPDATE` on PostgreSQL; on SQLite a write transaction runs alone)."""
        if not storable(keys, _table(name)):  # no row has a key its column cannot hold
            return None
        query = select_where(_table(name), tuple(keys), for_update=self.dialect == "postgresql")
        return self.run(query, {param(k): v for k, v in keys.items()}).first()

    def lock_person(self, psn_no: str) -> Row[Any] | None:
        """Read a person and hold their row until the transaction ends (PostgreSQL)."""
        query = select_where(t.persons, ("psn_no",), for_update=self.dialect == "postgresql")
        return self.run(query, {param("psn_no"): psn_no}).first()

    def accumulators(self, psn_no: str, year: str) -> Accumulators:
        """The person's accumulators of a medical year, with the account balance."""
        found = self.run(accumulators_of_year(t.accumulators),
                         {"psn_no": psn_no, "year": year, "no_year": ""})
        return Accumulators({tuple(row.path.split(".")): row.value for row in found})

    def apply_delta(self, psn_no: str, year: str, delta: Mapping[Path, int], sign: int = 1) -> None:
        """Add (or with sign −1 subtract) a settlement's delta to the stored accumulators."""
        rows = [{"psn_no": psn_no, "year": "" if path == ("acct_balance",) else year,
                 "path": ".".join(path), "value": sign * value, "opening": 0}
                for path, value in delta.items() if value]
        if rows:
            self.run(adding_to_accumulators(self.dialect, t.accumulators), rows)

    # --- message log (msgid idempotency) -----------------------------------------------------
    def claim_message(self, scope: str, msgid: str, infno: str, body_hash: str,
                      now: datetime) -> Row[Any] | None:
        """Record that `msgid` is being processed (in this transaction); if it already was,
        return the stored row."""
        return self._insert_answer(scope, msgid, infno, body_hash, {"pending": True}, False, now)

    def store_answer(self, scope: str, msgid: str, response: Mapping[str, object],
                     ok: bool) -> None:
        """Keep the answer to `msgid` so a retry gets it again."""
        self.change(t.message_log, {"scope": scope, "msgid": msgid}, response=dict(response),
                    ok=ok)

    def keep_answer(self, scope: str, msgid: str, infno: str, body_hash: str,
                    response: Mapping[str, object], ok: bool, now: datetime) -> Row[Any] | None:
        """Keep the final answer to `msgid` (in this transaction, with the message's effects).
        Returns None, or the row another transaction already kept for it (on PostgreSQL the
        insert waits for a concurrent transaction holding the same key to end)."""
        return self._insert_answer(scope, msgid, infno, body_hash, dict(response), ok, now)

    def _insert_answer(self, scope: str, msgid: str, infno: str, body_hash: str,
                       response: dict[str, object], ok: bool, now: datetime
                       ) -> Row[Any] | None:
        inserted = self.run(insert_if_absent(self.dialect, t.message_log), {
            "scope": scope, "msgid": msgid, "infno": infno, "body_hash": body_hash,
            "response": response, "ok": ok, "created_at": now}).first()
        return None if inserted is not None else self.one(t.message_log, scope=scope,
                                                          msgid=msgid)

    def index_totals(self, start: datetime, end: datetime
                     ) -> list[tuple[str, str, int, int, int, int]]:
        """The hub's clearing totals by province pair (see aggregates.index_totals)."""
        return aggregates.index_totals(self.conn, start, end)

    def cross_province_seconds(self, name: str, province: str, start: datetime, end: datetime,
                               role: str | None = None) -> dict[str, int]:
        """Rows per UTC second of a province's insured (see aggregates.cross_province_seconds)."""
        return aggregates.cross_province_seconds(self.conn, name, province, start, end, role)

    def index_between(self, start: datetime, end: datetime, party: str | None = None
                      ) -> list[Row[Any]]:
        """The hub's index rows of [start, end) in time order; with `party`, only those whose
        insured or treating province (two-digit prefix) it is."""
        table = t.settlement_index
        query = select(table).where(table.c.setl_time >= start, table.c.setl_time < end)
        if party is not None:
            query = query.where(or_(func.substr(table.c.insu_admdvs, 1, 2) == party[:2],
                                    func.substr(table.c.mdtrtarea_admvs, 1, 2) == party[:2]))
        return list(self.conn.execute(query.order_by(table.c.setl_time, table.c.setl_id)))

    def institution_owed(self, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
        """A treating node's month owed to each institution (see aggregates.institution_owed)."""
        return aggregates.institution_owed(self.conn, start, end)

    def count(self, name: str | Table, /, **keys: object) -> int:
        """How many rows match."""
        table = _table(name)
        query = select(func.count()).select_from(table).where(
            *(table.c[k] == v for k, v in keys.items()))
        return int(self.conn.execute(query).scalar_one())
