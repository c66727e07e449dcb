"""Statements built once and reused with bound values: equality selects, insert-if-absent with
RETURNING, counter increments. Building a SQLAlchemy statement costs more than running a cached
one, and the hot path runs the same few shapes thousands of times a second. Each builder is
cached with `kept`, which also hands its statements to the driver lane (lane.py): only such
statements, the same object every time, are ever learnt and run on the driver."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, ParamSpec, cast

from sqlalchemy import ARRAY, Table, any_, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from medsettle.adapters.db.crypto import lookup_hash
from medsettle.adapters.db.lane import keep

P = ParamSpec("P")


def kept(maxsize: int) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Cache a statement builder (as functools.lru_cache) and keep what it builds for the
    driver lane (lane.keep)."""
    def wrap(build: Callable[P, Any]) -> Callable[P, Any]:
        @functools.wraps(build)
        def built(*args: P.args, **kwargs: P.kwargs) -> Any:
            return keep(build(*args, **kwargs))
        return cast(Callable[P, Any], lru_cache(maxsize=maxsize)(built))
    return wrap


def param(column: str) -> str:
    """The bound parameter's name for a column (apart from the column's own name)."""
    return f"p_{column}"


@kept(512)
def select_where(table: Table, columns: tuple[str, ...], order_by: str | None = None,
                 for_update: bool = False, nulls: tuple[str, ...] = ()) -> Any:
    """SELECT * FROM table WHERE each column = its bound value and each of `nulls` IS NULL
    (ORDER BY, FOR UPDATE)."""
    query = select(table).where(*(table.c[c] == bindparam(param(c)) for c in columns),
                                *(table.c[c].is_(None) for c in nulls))
    if order_by:
        query = query.order_by(table.c[order_by])
    if for_update:
        query = query.with_for_update()
    return query


def matching(table: Table, keys: Mapping[str, object],
             order_by: str | None = None) -> tuple[Any, dict[str, object]]:
    """The cached select of the rows whose columns equal `keys`, and its bound values; a key
    whose value is None becomes `IS NULL` (as SQLAlchemy's `column == None` would), never the
    `= NULL` that matches nothing."""
    if table.name == "persons" and "certno" in keys:  # sealed: found by its keyed hash
        keys = dict(keys)
        keys["certno_hmac"] = lookup_hash(str(keys.pop("certno")))
    nulls = tuple(k for k, v in keys.items() if v is None)
    equal = {k: v for k, v in keys.items() if v is not None}
    query = select_where(table, tuple(equal), order_by, nulls=nulls)
    return query, {param(k): v for k, v in equal.items()}


def insert_of(dialect: str, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


@kept(64)
def insert_if_absent(dialect: str, table: Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the key: no row back means the key existed (on
    PostgreSQL, after waiting for a concurrent transaction holding it to end)."""
    key = [c for c in table.primary_key.columns]
    return inserting_new(dialect, table).returning(*key)


@kept(64)
def increment(dialect: str, table: Table) -> Any:
    """A counter's next value in one statement: insert 1 or add 1, returning the value."""
    upsert = insert_of(dialect, table).values(name=bindparam("name"), value=1)
    upsert = upsert.on_conflict_do_update(index_elements=["name"],
                                          set_={"value": table.c.value + 1})
    return upsert.returning(table.c.value)


@kept(256)
def inserting(table: Table) -> Any:
    """INSERT INTO table (the columns a run's rows give)."""
    return insert(table)


@kept(64)
def inserting_new(dialect: str, table: Table) -> Any:
    """INSERT … ON CONFLICT DO NOTHING (rows whose key exists are skipped)."""
    return insert_of(dialect, table).on_conflict_do_nothing()


def value_param(column: str) -> str:
    """The bound parameter's name for a column's new value in an UPDATE."""
    return f"v_{column}"


@kept(512)
def update_where(table: Table, columns: tuple[str, ...], nulls: tuple[str, ...],
                 values: tuple[str, ...]) -> Any:
    """UPDATE table SET each of `values` to its bound value WHERE each column = its bound value
    and each of `nulls` IS NULL."""
    return update(table).where(
        *(table.c[c] == bindparam(param(c)) for c in columns),
        *(table.c[c].is_(None) for c in nulls)).values(
        {table.c[v]: bindparam(value_param(v)) for v in values})


@kept(8)
def persons_records_elsewhere(table: Table) -> Any:
    """A person's settlement records of one role, kind and status whose time is in
    [`start`, `end`) and whose treating province (the region's first two digits) is not
    `province`, in time order (found by the person's index, whatever their history)."""
    return select(table).where(
        table.c.psn_no == bindparam("person"), table.c.role == bindparam("role"),
        table.c.kind == bindparam("kind"), table.c.status == bindparam("status"),
        table.c.setl_time >= bindparam("start"), table.c.setl_time < bindparam("end"),
        func.substr(table.c.mdtrtarea_admvs, 1, 2) != bindparam("province"),
    ).order_by(table.c.setl_time)


@kept(8)
def person_treated_in(table: Table) -> Any:
    """Whether a person has a visit whose treating province (the region's first two digits) is
    `province`: one row at most, found by the person's index (no visit is read back)."""
    return select(table.c.psn_no).where(
        table.c.psn_no == bindparam("person"),
        func.substr(table.c.mdtrtarea_admvs, 1, 2) == bindparam("province")).limit(1)


@kept(8)
def accumulators_of_year(table: Table) -> Any:
    """A person's accumulators of one year and those of no year (the account balance)."""
    return select(table.c.path, table.c.value).where(
        table.c.psn_no == bindparam("psn_no"),
        table.c.year.in_([bindparam("year"), bindparam("no_year")]))


@kept(8)
def adding_to_accumulators(dialect: str, table: Table) -> Any:
    """Add each row's value to its accumulator (created at the value if absent)."""
    upsert = insert_of(dialect, table)
    return upsert.on_conflict_do_update(index_elements=["psn_no", "year", "path"],
                                        set_={"value": table.c.value + upsert.excluded.value})


def one_of(dialect: str, column: Any, name: str) -> Any:
    """`column` is one of the list bound as `name`: `= ANY(array)` on PostgreSQL (one
    parameter, so the statement's text never changes), an expanding IN on SQLite."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


@kept(8)
def visit_to_settled(dialect: str, visits: Table) -> Any:
    """Mark a visit settled if it is still open or discharged and not manual (`visit`)."""
    return update(visits).where(
        visits.c.mdtrt_id == bindparam("visit"),
        one_of(dialect, visits.c.status, "open_states"),
        visits.c.manual_reimbursement.is_(False)).values(status="settled")


@kept(16)
def fee_lines_to(dialect: str, lines: Table, column: str, unsettled_active: bool) -> Any:
    """Set `column` (bound as `value`) of a visit's lines by serial (`visit`, `serials`); with
    `unsettled_active`, only of lines still active and attached to no settlement."""
    query = update(lines).where(lines.c.mdtrt_id == bindparam("visit"),
                                one_of(dialect, lines.c.feedetl_sn, "serials"))
    if unsettled_active:
        query = query.where(lines.c.setl_id.is_(None), lines.c.status == "active")
    return query.values({lines.c[column]: bindparam("value")})
