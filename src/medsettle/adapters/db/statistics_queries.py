"""The hub's statistics (docs/supervision.md "Statistics"), aggregated in its database: one
GROUP BY over the settlement index per month (by insured region, treating region, institution and
visit type), the message log's latencies and failures, cases, tickets, node reports, clearing and
prepayment. Read-only; no personal data leaves here (no person numbers, no names)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, case, func, select

from medsettle.adapters.db import tables as t


def index_groups(engine: Engine, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per (insured region, treating region, institution, visit type) of [start, end):
    settlements (cancels −1), visits (distinct), medfee, fund, account and cash (cancels
    negative)."""
    i = t.settlement_index
    sign = case((i.c.kind == "cancel", -1), else_=1)

    def signed(column: Any) -> Any:
        return func.sum(case((i.c.kind == "cancel", -func.abs(column)), else_=column))

    query = (select(i.c.insu_admdvs, i.c.mdtrtarea_admvs, i.c.fixmedins_code, i.c.visit_type,
                    func.sum(sign).label("settlements"),
                    func.count(func.distinct(i.c.mdtrt_id)).label("visits"),
                    signed(i.c.medfee_sumamt).label("medfee"),
                    signed(i.c.fund_pay_sumamt).label("fund"),
                    signed(i.c.acct_pay).label("acct"), signed(i.c.psn_cash_pay).label("cash"))
             .where(i.c.setl_time >= start, i.c.setl_time < end)
             .group_by(i.c.insu_admdvs, i.c.mdtrtarea_admvs, i.c.fixmedins_code, i.c.visit_type)
             .order_by(i.c.insu_admdvs, i.c.mdtrtarea_admvs, i.c.fixmedins_code,
                       i.c.visit_type))
    with engine.connect() as conn:
        return [{"insured_region": r[0], "treating_region": r[1], "institution": r[2],
                 "visit_type": r[3], "settlements": int(r[4] or 0), "visits": int(r[5] or 0),
                 "medfee": int(r[6] or 0), "fund": int(r[7] or 0), "acct": int(r[8] or 0),
                 "cash": int(r[9] or 0)} for r in conn.execute(query)]


def settle_latencies(engine: Engine, start: datetime, end: datetime) -> list[int]:
    """The hub's forwarding time (ms) of every settle call of [start, end), sorted."""
    m = t.hub_messages
    query = (select(m.c.latency_ms).where(m.c.op == "settle", m.c.at >= start, m.c.at < end)
             .order_by(m.c.latency_ms))
    with engine.connect() as conn:
        return [int(r[0]) for r in conn.execute(query)]


def failures(engine: Engine, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Forwarded calls that did not end ok, by operation and outcome (the reason)."""
    m = t.hub_messages
    query = (select(m.c.op, m.c.outcome, func.count())
             .where(m.c.at >= start, m.c.at < end, m.c.outcome != "ok")
             .group_by(m.c.op, m.c.outcome).order_by(m.c.op, m.c.outcome))
    with engine.connect() as conn:
        return [{"op": op, "reason": outcome, "count": int(n)}
                for op, outcome, n in conn.execute(query)]


def node_reports(engine: Engine, month: str) -> list[dict[str, Any]]:
    """What the provinces reported for the month."""
    r = t.node_reports
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(
            select(r.c.province, r.c.kind, r.c.document).where(r.c.month == month)
            .order_by(r.c.province, r.c.kind)).mappings()]
