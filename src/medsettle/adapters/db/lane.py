"""The store's cached statements run on psycopg's cursor directly (PostgreSQL only).

A statement through SQLAlchemy's Connection costs a node about twice the client CPU of the same
statement on the driver's cursor (`bench/bench_statement.py`): the execution context, the result
object and their events, not the statement's construction, which is cached already
(`adapters/db/statements.py`). The hot path runs a few dozen cached statements per visit, so
this lane runs them on the cursor beneath the same Connection, inside the same transaction.

Nothing about the statement is done differently: the lane learns each statement from its first
run through SQLAlchemy (the SQL text SQLAlchemy compiled, its bind processors and the result
metadata SQLAlchemy built), and from then on binds with those processors and returns
SQLAlchemy's own `Row` built with that metadata, so sealed columns, UTC datetimes and JSON read
back exactly as through the Connection. Statements it cannot run as learnt (expanding `IN`
parameters, a column default computed per row that the caller left out, several rows with
RETURNING) keep going through SQLAlchemy; constant column defaults are filled in as SQLAlchemy
would. A driver error comes out as SQLAlchemy's wrapped error, as before; a
connection the server dropped is handed back to SQLAlchemy, which discards it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from sqlalchemy import Connection, CursorResult, Row
from sqlalchemy.exc import DBAPIError

Params = Mapping[str, Any]


#: A named parameter as SQLAlchemy writes it for psycopg.
_NAMED = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Learnt:
    """What the lane needs to run a statement again: SQLAlchemy's SQL text with its named
    parameters made positional (`names` in order, so psycopg neither encodes the text nor
    reorders a mapping each time), its fixed parameters (literal values compiled into the
    statement, constant column defaults), its bind processors, and the result metadata of a
    statement that returns rows."""

    sql: bytes
    names: tuple[str, ...]
    fixed: dict[str, Any]
    binds: dict[str, Callable[[Any], Any]]
    metadata: Any  # CursorResultMetaData, or None when the statement returns no rows

    @classmethod
    def of(cls, sql: str, fixed: dict[str, Any], binds: dict[str, Callable[[Any], Any]],
           metadata: Any) -> Learnt:
        names = tuple(_NAMED.findall(sql))
        return cls(_NAMED.sub("%s", sql).encode(), names, fixed, binds, metadata)

    def parameters(self, values: Params) -> tuple[Any, ...]:
        """The driver's parameters for one row of values, bound as SQLAlchemy would."""
        merged = {**self.fixed, **values} if self.fixed else values
        binds = self.binds
        return tuple(binds[n](merged[n]) if n in binds else merged[n] for n in self.names)


class Rows(Protocol):
    """What the store reads of a statement's result (SQLAlchemy's or the lane's)."""

    @property
    def rowcount(self) -> int: ...

    def __iter__(self) -> Iterator[Row[Any]]: ...

    def first(self) -> Row[Any] | None: ...

    def scalar_one(self) -> Any: ...


class LaneResult:
    """The part of SQLAlchemy's result the store uses: rows, first, scalar, rowcount."""

    def __init__(self, rows: list[Row[Any]], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Row[Any]]:
        return iter(self._rows)

    def first(self) -> Row[Any] | None:
        return self._rows[0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise ValueError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]

    def all(self) -> list[Row[Any]]:
        return list(self._rows)


#: Statement shape → what was learnt, or None: the shape must go through SQLAlchemy.
_LEARNT: dict[tuple[int, frozenset[str]], Learnt | None] = {}
_LOCK = threading.Lock()
#: The statements the lane may learn (statements.kept), by id: kept alive, so an id is never
#: another statement's. Any other statement goes through SQLAlchemy every time.
_KEPT: dict[int, Any] = {}


def keep(query: Any) -> Any:
    """Let the lane learn `query`, a statement built once and reused (statements.kept)."""
    with _LOCK:
        _KEPT[id(query)] = query
    return query


class Lane:
    """The lane of one transaction: its SQLAlchemy connection and, once a statement ran on
    the driver, one psycopg cursor reused for the rest of the transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._cursor: psycopg.Cursor[Any] | None = None

    def run(self, query: Any, values: Params | Sequence[Params]) -> Rows:
        """Run a cached statement (the same object every time) with one row of `values`, or a
        list of rows (no RETURNING): on the driver once learnt, else through SQLAlchemy
        (learning it)."""
        many = not isinstance(values, Mapping)
        rows: Sequence[Params] = values if many else [values]  # type: ignore[list-item,assignment]
        if not rows:
            return LaneResult([], 0)
        if id(query) not in _KEPT:  # built for this call: not worth learning
            return self.conn.execute(query, values)
        key = (id(query), frozenset(rows[0]))
        if key not in _LEARNT:
            return _learn(self.conn, query, values, rows[0], key, many)
        learnt = _LEARNT[key]
        if learnt is None:
            return self.conn.execute(query, values)
        return self._on_driver(query, values, learnt, rows, many)

    def _on_driver(self, query: Any, values: Params | Sequence[Params], learnt: Learnt,
                   rows: Sequence[Params], many: bool) -> Rows:
        cursor = self._cursor
        if cursor is None:
            driver = self.conn.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            cursor = self._cursor = driver.cursor()
        params = [learnt.parameters(row) for row in rows]
        try:
            if many:
                cursor.executemany(learnt.sql, params)
                return LaneResult([], cursor.rowcount)
            cursor.execute(learnt.sql, params[0])
            found = cursor.fetchall() if learnt.metadata is not None else []
        except psycopg.Error as exc:
            if cursor.connection.closed or cursor.connection.broken:  # the server dropped us:
                return self.conn.execute(query, values)  # SQLAlchemy discards the connection
            raise DBAPIError.instance(learnt.sql.decode(), params[0], exc, psycopg.Error,
                                      dialect=self.conn.dialect) from exc
        meta = learnt.metadata
        if meta is None:
            return LaneResult([], cursor.rowcount)
        processors, index = meta._effective_processors, meta._key_to_index
        return LaneResult([Row(meta, processors, index, raw) for raw in found], cursor.rowcount)


def _learn(conn: Connection, query: Any, values: Params | Sequence[Params], first: Params,
           key: tuple[int, frozenset[str]], many: bool) -> Rows:
    """Run through SQLAlchemy, and keep what it compiled if the lane can run it again."""
    result: CursorResult[Any] = conn.execute(query, values)
    compiled: Any = result.context.compiled
    learnt: Learnt | None = None
    defaults = None if compiled is None else _column_defaults(compiled, key[1])
    if defaults is not None and _runs_as_learnt(compiled, many):
        template = compiled.construct_params(dict(first))
        fixed = {k: v for k, v in template.items() if k not in first} | defaults
        learnt = Learnt.of(compiled.string, fixed, dict(compiled._bind_processors),
                           result._metadata if result.returns_rows else None)
    with _LOCK:
        _LEARNT[key] = learnt
    return result


def _runs_as_learnt(compiled: Any, many: bool) -> bool:
    """Whether the compiled text is all a later run needs: no parameters expanded at execution
    (`IN`), no RETURNING of many rows."""
    if "POSTCOMPILE" in compiled.string or compiled.positional:
        return False
    return not (many and compiled.effective_returning)


def _column_defaults(compiled: Any, keys: frozenset[str]) -> dict[str, Any] | None:
    """The values SQLAlchemy fills in for columns the rows leave out (an INSERT's defaults, an
    UPDATE's onupdate): constants only; None if one is computed per row (e.g. a hash of
    another column), which only SQLAlchemy's execution does."""
    filled: dict[str, Any] = {}
    for column, default in [*((c, c.default) for c in compiled.insert_prefetch),
                            *((c, c.onupdate) for c in compiled.update_prefetch)]:
        if column.key in keys:
            continue
        if default is None or not default.is_scalar:
            return None
        filled[column.key] = default.arg
    return filled
