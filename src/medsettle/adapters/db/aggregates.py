"""Aggregations that must run inside the database (clearing over millions of rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, String, case, column, func, literal_column, select
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Connection

from medsettle.adapters.db.tables import UTCDateTime

_AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
_ONE: Any = literal_column("1")  # literals, so GROUP BY matches the selected expressions
_TWO: Any = literal_column("2")


def _rows_table(name: str) -> Any:
    return sql_table(name, column("kind", String), column("insu_admdvs", String),
                     column("mdtrtarea_admvs", String), column("fixmedins_code", String),
                     column("role", String), column("setl_time", UTCDateTime()),
                     *(column(a, BigInteger) for a in _AMOUNTS))


def _signed_sum(t: Any, name: str) -> Any:
    amount = t.c[name]
    return func.sum(case((t.c.kind == "cancel", -func.abs(amount)), else_=amount))


def index_totals(conn: Connection, start: datetime, end: datetime
                 ) -> list[tuple[str, str, int, int, int, int]]:
    """Per (insured, treating) province prefix of the hub's index in [start, end): count (cancels
    −1), medfee, fund and account sums (cancels negative); same-province rows left out."""
    t = _rows_table("settlement_index")
    insured = func.substr(t.c.insu_admdvs, _ONE, _TWO)
    treating = func.substr(t.c.mdtrtarea_admvs, _ONE, _TWO)
    query = (select(insured, treating, func.sum(case((t.c.kind == "cancel", -1), else_=1)),
                    *(_signed_sum(t, a) for a in _AMOUNTS))
             .where(t.c.setl_time >= start, t.c.setl_time < end, insured != treating)
             .group_by(insured, treating))
    return [(str(i), str(tr), int(n), int(m or 0), int(f or 0), int(a or 0))
            for i, tr, n, m, f, a in conn.execute(query)]


def institution_owed(conn: Connection, start: datetime, end: datetime
                     ) -> list[tuple[str, str, int]]:
    """Per (province prefix, institution) at a treating node: Σ funds + account of the
    cross-province settlements it treated in [start, end), cancels negative."""
    t = _rows_table("settlements")
    here = func.substr(t.c.mdtrtarea_admvs, _ONE, _TWO)
    insured = func.substr(t.c.insu_admdvs, _ONE, _TWO)
    query = (select(here, t.c.fixmedins_code, _signed_sum(t, "fund_pay_sumamt"),
                    _signed_sum(t, "acct_pay"))
             .where(t.c.role == "treating", t.c.setl_time >= start, t.c.setl_time < end,
                    here != insured)
             .group_by(here, t.c.fixmedins_code))
    return [(str(p), str(code), int(f or 0) + int(a or 0))
            for p, code, f, a in conn.execute(query)]


def _second(dialect: str, moment: Any) -> Any:
    """A stored moment's UTC second as core.calendar.second_key writes it ("2026-11-30T04:05:07"):
    the hub and a node may run different databases, and their counts are compared by it."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), moment),
                            literal_column("'YYYY-MM-DD\"T\"HH24:MI:SS'"))
    return func.strftime(literal_column("'%Y-%m-%dT%H:%M:%S'"), moment)  # SQLite keeps UTC text


def cross_province_seconds(conn: Connection, table: str, province: str, start: datetime,
                           end: datetime, role: str | None = None) -> dict[str, int]:
    """How many cross-province rows of `table` (of `role`, where the table has one) whose
    insured province is `province` (its two-digit prefix) fall in each UTC second of
    [start, end): a node's index catch-up compares its own with the hub's."""
    t = _rows_table(table)
    second = _second(conn.dialect.name, t.c.setl_time)
    insured = func.substr(t.c.insu_admdvs, _ONE, _TWO)
    query = (select(second, func.count())
             .where(t.c.setl_time >= start, t.c.setl_time < end, insured == province[:2],
                    insured != func.substr(t.c.mdtrtarea_admvs, _ONE, _TWO),
                    *([t.c.role == role] if role is not None else []))
             .group_by(second))
    return {str(m): int(n) for m, n in conn.execute(query)}
