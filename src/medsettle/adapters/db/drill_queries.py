"""The reads of the kill -9 drill's audit (adapters/chaos.py), each on a node's database URL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from medsettle.adapters.db.engine import make_engine


def rows(url: str, sql: str) -> list[dict[str, Any]]:
    """The rows of one query on the database at `url` (a fresh engine, disposed after)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(sql)).mappings()]
    finally:
        engine.dispose()


def indexed_ids(hub_url: str) -> set[str]:
    """Every setl_id in the hub's settlement index."""
    return {r["setl_id"] for r in rows(hub_url, "SELECT setl_id FROM settlement_index")}


def cross_province_insured(url: str) -> list[dict[str, Any]]:
    """setl_id and fund of a province's insured-side, cross-province records."""
    return rows(url, "SELECT setl_id, fund_pay_sumamt FROM settlements WHERE role = 'insured' "
                     "AND substr(mdtrtarea_admvs, 1, 2) <> substr(insu_admdvs, 1, 2)")


def settlement_sides(url: str) -> list[dict[str, Any]]:
    """Every settlement record of a province, with what the audit compares."""
    return rows(url, "SELECT setl_id, role, kind, status, mdtrt_id, fund_pay_sumamt, acct_pay, "
                     "insu_admdvs, mdtrtarea_admvs FROM settlements")


def message_responses(url: str) -> list[dict[str, Any]]:
    """The stored answer of every message in a province's message log."""
    return rows(url, "SELECT response FROM message_log")


def pending_reversals(url: str) -> int:
    """Visits whose reversal the treating node has still to get through."""
    return len(rows(url, "SELECT mdtrt_id FROM visits WHERE reversal_pending IS NOT NULL"))


def ledger_total(url: str) -> int:
    """The sum of every ledger posting (0 in a balanced ledger)."""
    return int(rows(url, "SELECT sum(amount) AS total FROM ledger_postings")[0]["total"] or 0)
