"""A province node's filing (备案) API for operators (the console and scripts): every route needs
an operator of this province (adapters/api/auth.py); every change is written to the node's audit
log in the transaction that makes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import operator_dependency
from medsettle.adapters.api.common import free_text, in_tx, json_body, jsonable
from medsettle.adapters.province_node import ProvinceNode
from medsettle.core.errors import InvalidInput
from medsettle.core.operators import Operator
from medsettle.services import filings
from medsettle.services.audit import Actor, run_audited


def add_filing_routes(app: FastAPI, node: ProvinceNode) -> None:
    """The filing API of the insured place (a person's own sign-in will come on top)."""
    who = Depends(operator_dependency(node.store, "province", node.config.region))

    def change(operator: Operator, action: str, target: str | Callable[[Any], str],
               work: Callable[[Any], Any], filing_no: str | None = None) -> Any:
        before = (lambda tx: filings.held_row(tx, filing_no)) if filing_no else None
        return jsonable(run_audited(node.store, Actor.of(operator), action, target, work,
                                    node.clock(), before))

    def numbered(result: Any) -> str:
        return str(result.get("filing_no", "")) if isinstance(result, dict) else ""

    @app.post("/api/v1/filings", summary="File (备案): instant approval by commitment, or review")
    async def create_filing(request: Request, operator: Operator = who) -> Any:
        doc = await json_body(request)
        today = node.clock().date()
        return await run_in_threadpool(change, operator, "filing.create", numbered,
                                       lambda tx: filings.create(tx, node.book, doc, today))

    @app.post("/api/v1/filings/post-hoc", summary="补办: file after admission, back-dated")
    async def post_hoc(request: Request, operator: Operator = who) -> Any:
        doc = await json_body(request)
        today = node.clock().date()
        return await run_in_threadpool(
            change, operator, "filing.create_post_hoc", numbered,
            lambda tx: filings.create_post_hoc(tx, node.book, doc, today))

    @app.get("/api/v1/persons/{psn_no}/filings", summary="A person's filings")
    def person_filings(psn_no: str, operator: Operator = who) -> Any:
        return in_tx(node.store, lambda tx: filings.of_person(tx, psn_no))

    @app.post("/api/v1/filings/{filing_no}/change", summary="Change the destination")
    async def change_filing(filing_no: str, request: Request, operator: Operator = who) -> Any:
        doc = await json_body(request)
        today = node.clock().date()
        return await run_in_threadpool(change, operator, "filing.change", filing_no,
                                       lambda tx: filings.change(
                                           tx, node.book, filing_no, doc.get("destination"),
                                           today), filing_no)

    @app.post("/api/v1/filings/{filing_no}/cancel", summary="Cancel a filing")
    def cancel_filing(filing_no: str, operator: Operator = who) -> Any:
        today = node.clock().date()
        return change(operator, "filing.cancel", filing_no,
                      lambda tx: filings.cancel(tx, node.book, filing_no, today), filing_no)

    @app.post("/api/v1/filings/{filing_no}/decision", summary="Operator: approve or reject")
    async def decide(filing_no: str, request: Request, operator: Operator = who) -> Any:
        doc = await json_body(request)
        approve = doc.get("approve")
        if not isinstance(approve, bool):
            raise InvalidInput("approve", "must be true or false")
        today = node.clock().date()
        return await run_in_threadpool(
            change, operator, "filing.approve" if approve else "filing.refuse", filing_no,
            lambda tx: filings.decide(tx, filing_no, approve, free_text(doc, "reason"), today),
            filing_no)
