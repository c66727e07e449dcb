"""Read-only queries of the operator console (SQLAlchemy Core): search and drill-down of
settlements, the dashboard's series, lists of the province's work. Nothing here writes.

Kept apart from the settlement path on purpose: the console reads the settlement records
(`settlements`, `fee_details`, `settlement_index`, `hub_messages`) only through this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Table, func, or_, select

from medsettle.adapters.db import tables as t

#: The most rows a search or a list returns.
LIMIT = 100


def _dicts(engine: Engine, query: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(query).mappings()]


# --- hub ------------------------------------------------------------------------------------
def settle_times(engine: Engine, since: datetime) -> list[datetime]:
    """The hub settlement times of settlements (not cancels) indexed since `since`."""
    i = t.settlement_index
    query = select(i.c.setl_time).where(i.c.kind == "settle", i.c.setl_time >= since)
    with engine.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def settle_outcomes(engine: Engine, since: datetime) -> list[tuple[str, str, int]]:
    """(insured province, outcome, count) of the settle calls the hub forwarded since `since`."""
    m = t.hub_messages
    query = (select(m.c.to_region, m.c.outcome, func.count())
             .where(m.c.op == "settle", m.c.at >= since)
             .group_by(m.c.to_region, m.c.outcome))
    with engine.connect() as conn:
        return [(str(a), str(b), int(c)) for a, b, c in conn.execute(query)]


def search_index(engine: Engine, text: str, province: str | None = None) -> list[dict[str, Any]]:
    """Index rows whose settlement id, msgid, institution or person is `text`, newest first;
    with `province`, only those it insures or treats."""
    i = t.settlement_index
    query = select(i).where(or_(i.c.setl_id == text, i.c.msgid == text,
                                i.c.fixmedins_code == text, i.c.psn_no == text,
                                i.c.ref_setl_id == text))
    if province is not None:
        prefix = province[:2] + "%"
        query = query.where(or_(i.c.insu_admdvs.like(prefix), i.c.mdtrtarea_admvs.like(prefix)))
    return _dicts(engine, query.order_by(i.c.setl_time.desc()).limit(LIMIT))


def recent_index(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The newest indexed settlements and cancels."""
    return _newest(engine, t.settlement_index, limit)


def index_family(engine: Engine, setl_id: str) -> list[dict[str, Any]]:
    """A settlement's index row and the rows of its cancels."""
    return _with_cancels(engine, t.settlement_index, setl_id)


def cleared_months(engine: Engine) -> list[str]:
    """Months that have statements, newest first."""
    s = t.clearing_statements
    query = select(s.c.month).distinct().order_by(s.c.month.desc())
    with engine.connect() as conn:
        return [str(row[0]) for row in conn.execute(query)]


def anchors_of(engine: Engine, node: str) -> dict[int, str]:
    """The chain heads (seq → hash) a province anchored at the hub."""
    a = t.anchors
    with engine.connect() as conn:
        return {int(s): str(h) for s, h in conn.execute(
            select(a.c.seq, a.c.hash).where(a.c.node == node))}


# --- province -------------------------------------------------------------------------------
def search_settlements(engine: Engine, text: str) -> list[dict[str, Any]]:
    """The node's settlement records (both roles) whose settlement id, msgid, institution, person
    or visit is `text`, newest first."""
    s = t.settlements
    query = select(s).where(or_(s.c.setl_id == text, s.c.msgid == text, s.c.mdtrt_id == text,
                                s.c.fixmedins_code == text, s.c.psn_no == text,
                                s.c.ref_setl_id == text))
    return _dicts(engine, query.order_by(s.c.setl_time.desc()).limit(LIMIT))


def recent_settlements(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The node's newest settlement records."""
    return _newest(engine, t.settlements, limit)


def settlement_family(engine: Engine, setl_id: str) -> list[dict[str, Any]]:
    """A settlement's records at this node (insured and/or treating role) and its cancels."""
    return _with_cancels(engine, t.settlements, setl_id, "role")


def fee_lines(engine: Engine, setl_id: str) -> list[dict[str, Any]]:
    """The fee lines a settlement paid (treating node)."""
    f = t.fee_details
    return _dicts(engine, select(f).where(f.c.setl_id == setl_id).order_by(f.c.feedetl_sn))


def ledger_entries_of(engine: Engine, refs: list[str]) -> list[dict[str, Any]]:
    """The node's ledger entries whose ref is one of `refs` (a settlement and its cancels)."""
    e = t.ledger_entries
    return _dicts(engine, select(e).where(e.c.ref.in_(refs)).order_by(e.c.seq))


def filings_waiting(engine: Engine) -> list[dict[str, Any]]:
    """Filings under review (materials to check), oldest first."""
    f = t.filings
    return _dicts(engine, select(f).where(f.c.status == "pending")
                  .order_by(f.c.applied_on, f.c.filing_no).limit(LIMIT))


def recent_filings(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """Filings decided most recently."""
    f = t.filings
    return _dicts(engine, select(f).where(f.c.status != "pending")
                  .order_by(f.c.applied_on.desc(), f.c.filing_no.desc()).limit(limit))


def claims(engine: Engine) -> list[dict[str, Any]]:
    """Reimbursement claims, newest first."""
    c = t.reimbursement_claims
    return _dicts(engine, select(c).order_by(c.c.submitted_at.desc()).limit(LIMIT))


def institutions(engine: Engine) -> list[dict[str, Any]]:
    """The province's designated institutions, by code."""
    i = t.institutions
    return _dicts(engine, select(i.c.fixmedins_code, i.c.name, i.c.admdvs, i.c.level,
                                 i.c.hosp_lv, i.c.suspended, i.c.networked,
                                 i.c.suspension_reason, i.c.signing,
                                 (i.c.api_key.is_not(None)).label("has_key"))
                  .order_by(i.c.fixmedins_code))


def reconciliation_reports(engine: Engine, limit: int = 60) -> list[dict[str, Any]]:
    """The newest reconciliation reports."""
    r = t.reconciliation_reports
    return _dicts(engine, select(r).order_by(r.c.day.desc(), r.c.id.desc()).limit(limit))


def counts(engine: Engine) -> dict[str, int]:
    """Sizes the province dashboard shows."""
    with engine.connect() as conn:
        def n(table: Any, *where: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(table).where(*where))
                       .scalar_one())
        return {"persons": n(t.persons), "institutions": n(t.institutions),
                "catalogue": n(t.catalogue),
                "pending_filings": n(t.filings, t.filings.c.status == "pending"),
                "open_claims": n(t.reimbursement_claims,
                                 t.reimbursement_claims.c.status.in_(("computed", "approved"))),
                "settlements": n(t.settlements, t.settlements.c.kind == "settle"),
                "manual": n(t.visits, t.visits.c.manual_reimbursement.is_(True))}


def _newest(engine: Engine, table: Table, limit: int) -> list[dict[str, Any]]:
    """The newest rows of a table of settlements (a node's records or the hub's index)."""
    return _dicts(engine, select(table).order_by(table.c.setl_time.desc()).limit(limit))


def _with_cancels(engine: Engine, table: Table, setl_id: str,
                  *then_by: str) -> list[dict[str, Any]]:
    """A settlement's rows and its cancels' rows, oldest first (then by `then_by` columns)."""
    query = select(table).where(or_(table.c.setl_id == setl_id, table.c.ref_setl_id == setl_id))
    return _dicts(engine, query.order_by(table.c.setl_time, *(table.c[c] for c in then_by)))
