"""A province node's money routes: settlement lists and reports for daily reconciliation (对账,
signed by the hub), and manual reimbursement (手工报销) claims of its insured persons. The /api
routes need an operator of the province (adapters/api/auth.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import operator_dependency, require_operator
from medsettle.adapters.api.common import (
    in_tx,
    json_body,
    jsonable,
    parse_object,
    required,
    signed_by,
)
from medsettle.adapters.db.records import settlement_row
from medsettle.adapters.province_node import ProvinceNode
from medsettle.core.errors import InvalidInput
from medsettle.core.operators import Operator
from medsettle.core.records import Role
from medsettle.services import reimbursement as rb
from medsettle.services.audit import Actor, run_audited
from medsettle.services.clearing import pay_institutions

ROLES = frozenset({"treating", "insured"})
MAX_DAYS = 31
#: At most this many settlement ids in one `ids=` question (the hub asks in chunks of it).
MAX_IDS = 500
SETTLEMENT_ID = re.compile(r"[\x21-\x2b\x2d-\x7e]{1,30}", re.ASCII)  # no comma


def _day(value: object, name: str) -> date:
    if not value:
        raise InvalidInput(name, "is required (yyyy-MM-dd)")
    if not isinstance(value, str):
        raise InvalidInput(name, f"must be a date string yyyy-MM-dd, not {type(value).__name__}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(name, f"expected a date yyyy-MM-dd, got {value!r}") from None


def _settlement_ids(value: str) -> list[str]:
    """`ids=a,b,…`: 1 to MAX_IDS settlement ids of printable ASCII (InvalidInput naming ids)."""
    wanted = value.split(",")
    if not 1 <= len(wanted) <= MAX_IDS or not all(SETTLEMENT_ID.fullmatch(i) for i in wanted):
        raise InvalidInput("ids", f"must be 1-{MAX_IDS} settlement ids separated by commas")
    return wanted


def add_money_routes(app: FastAPI, node: ProvinceNode) -> None:
    """Add the reconciliation and reimbursement routes to a province node's app."""
    _add_reconciliation_routes(app, node)
    _add_reimbursement_routes(app, node)


def _add_reconciliation_routes(app: FastAPI, node: ProvinceNode) -> None:
    def hub_only(request: Request, body: bytes = b"") -> None:
        signed_by(request, node.verifier, body)  # path, query string and body, signed by the hub

    @app.get("/fed/v1/settlements", summary="Settlement records of days, or of settlement ids "
                                             "(ids=a,b,…), for 对账 (hub-signed)")
    async def settlements(request: Request, day: str | None = None, role: str | None = None,
                          until: str | None = None, ids: str | None = None) -> dict[str, Any]:
        hub_only(request)
        if role not in ROLES:
            raise InvalidInput("role", "must be treating or insured")
        if ids is not None:
            wanted = _settlement_ids(ids)
            def read() -> list[dict[str, Any]]:
                with node.store.read() as tx:
                    return [settlement_row(r) for r in
                            tx.settlements_with_ids(Role(role), wanted)]
        else:
            first = _day(day, "day")
            last = _day(until, "until") if until else first
            if not 0 <= (last - first).days <= MAX_DAYS:
                raise InvalidInput("until", f"must be within {MAX_DAYS} days after day")
            def read() -> list[dict[str, Any]]:
                with node.store.tx() as tx:
                    return [settlement_row(r) for r in
                            tx.settlements_between(Role(role), first, last)]
        rows = await run_in_threadpool(read)
        keep = ("setl_id", "kind", "ref_setl_id", "status", "mdtrt_id", "psn_no", "insu_admdvs",
                "mdtrtarea_admvs", "fixmedins_code", "visit_type", "setl_time", "medfee_sumamt",
                "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "msgid")
        return {"ok": True, "result": jsonable([{k: r[k] for k in keep} for r in rows])}

    @app.post("/fed/v1/clearing/{month}/pay-institutions",
              summary="After the hub paid the month: pay this province's institutions (hub-signed)")
    async def pay_month(month: str, request: Request) -> dict[str, Any]:
        hub_only(request, await request.body())

        def work() -> dict[str, int]:
            with node.store.tx() as tx:
                return pay_institutions(tx, month, node.clock())
        return {"ok": True, "result": await run_in_threadpool(work)}

    @app.post("/fed/v1/reconciliation-reports", summary="Save a daily 对账 report (hub-signed)")
    async def save_report(request: Request) -> dict[str, Any]:
        body = await request.body()
        hub_only(request, body)
        doc = parse_object(body)
        report = required(doc, "report", dict) if doc.get("report") is not None else {}
        row = {"day": _day(doc.get("day"), "day"), "scope": str(doc.get("scope", "hub"))[:24],
               "counterpart": str(doc.get("counterpart", "hub"))[:30],
               "balanced": bool(doc.get("balanced")), "report": report,
               "created_at": node.clock()}
        def write() -> None:
            with node.store.tx() as tx:
                tx.add("reconciliation_reports", row)
        await run_in_threadpool(write)
        return {"ok": True}

    @app.get("/api/v1/reconciliation-reports", summary="The 对账 reports of a day (operators)",
             dependencies=require_operator(node.store, "province", node.config.region))
    def reports(day: str | None = None) -> Any:
        with node.store.tx() as tx:
            rows = tx.rows("reconciliation_reports", order_by="id", day=_day(day, "day"))
        return jsonable([dict(r._mapping) for r in rows])


def _add_reimbursement_routes(app: FastAPI, node: ProvinceNode) -> None:
    who = Depends(operator_dependency(node.store, "province", node.config.region))

    def change(operator: Operator, action: str, claim_id: str,
               work: Callable[[Any], Any]) -> Any:
        return jsonable(run_audited(
            node.store, Actor.of(operator), action, claim_id, work, node.clock(),
            lambda tx: claim_state(tx, claim_id)))

    @app.post("/api/v1/reimbursements", summary="Submit a manual reimbursement claim (手工报销)")
    async def submit(request: Request, operator: Operator = who) -> Any:
        claim = rb.parse_claim(await json_body(request))
        return await run_in_threadpool(
            change, operator, "reimbursement.submit", claim.claim_id,
            lambda tx: rb.submit_claim(tx, node.book, claim, node.clock()))

    @app.get("/api/v1/reimbursements/{claim_id}", summary="One claim and its status")
    def get_claim(claim_id: str, operator: Operator = who) -> Any:
        return in_tx(node.store, lambda tx: rb.get_claim(tx, claim_id))

    @app.post("/api/v1/reimbursements/{claim_id}/approve", summary="Operator: approve")
    def approve(claim_id: str, operator: Operator = who) -> Any:
        return change(operator, "reimbursement.approve", claim_id,
                      lambda tx: rb.approve(tx, claim_id, node.clock()))

    @app.post("/api/v1/reimbursements/{claim_id}/pay", summary="Pay the person")
    def pay(claim_id: str, operator: Operator = who) -> Any:
        return change(operator, "reimbursement.pay", claim_id,
                      lambda tx: rb.pay(tx, claim_id, node.clock()))

    @app.post("/api/v1/reimbursements/{claim_id}/reject", summary="Operator: reject")
    async def reject(claim_id: str, request: Request, operator: Operator = who) -> Any:
        doc = await json_body(request)
        reason = doc.get("reason")
        if not isinstance(reason, str):
            raise InvalidInput("reason", "is required to reject a claim")
        return await run_in_threadpool(
            change, operator, "reimbursement.reject", claim_id,
            lambda tx: rb.reject(tx, claim_id, reason, node.clock()))


def claim_state(tx: Any, claim_id: str) -> dict[str, Any] | None:
    """What an audit line keeps of a claim before a change: its status and amounts, read under
    the claim's lock (the change locks it too: this is what the change found)."""
    row = tx.hold("reimbursement_claims", claim_id=claim_id)
    if row is None:
        return None
    return {"status": row.status, "owed": rb.owed_fen(row.amounts), "reason": row.reason}
