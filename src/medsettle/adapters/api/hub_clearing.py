"""The hub's clearing (清算) and prepayment (预付金) routes, added to the hub app.

Reads are open like the status board. Every write is a signed request (federation.Verifier) or
a hub operator's (token or console session, adapters/api/auth.py): a province confirms,
disputes, tops up or reports payment only for itself (else 403); "hub" (the operator's key, if
configured) and hub operators may act for any province; any known node may start a month's run.
Every write is recorded in the hub's audit log (services/audit.py) in its own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import authenticate, read_permission
from medsettle.adapters.api.common import parse_object, signed_body
from medsettle.adapters.api.fan_out import admit_fan_out, caller_of
from medsettle.adapters.api.hub_anchors import anchor_round
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import Verifier
from medsettle.adapters.hub_link import HubLink
from medsettle.core.clearing import YearMonth, summary_text, to_csv, to_dict
from medsettle.core.errors import Forbidden, InvalidInput, MedSettleError
from medsettle.services import clearing as svc
from medsettle.services import hub as hub_svc
from medsettle.services.audit import Actor

logger = logging.getLogger(__name__)

FORMATS = ("json", "csv", "text")


def utc_now() -> datetime:
    """The hub's clock (UTC)."""
    return datetime.now(UTC)


def tell_province_to_pay_institutions(store: Store, keys: dict[str, str], province: str,
                                      month: str) -> dict[str, Any] | None:
    """Once the hub has paid a province's statement, the province pays its institutions
    (posted in its own ledger). Best effort: a province that is down is told again when the
    statement's `…/paid` is sent again (by the province or a hub operator); the hub's side
    stays paid. Returns the province's result (None if it was not told, or its answer is not a
    JSON object)."""
    link = HubLink(keys, 10.0, pool=1)
    try:
        with store.tx() as tx:
            endpoint = hub_svc.endpoint_of(tx, province)
        answer = link.post(province, endpoint, f"/fed/v1/clearing/{month}/pay-institutions",
                           {})
        result = answer.get("result")
        return result if isinstance(result, dict) else None
    except (MedSettleError, KeyError) as exc:
        logger.warning("province not told to pay its institutions",
                       extra={"province": province, "month": month, "why": str(exc)})
        return None
    finally:
        link.close()


def add_clearing_routes(app: FastAPI, store: Store, keys: dict[str, str], verifier: Verifier,
                        *, clock: Callable[[], datetime] = utc_now,
                        allow_early: bool = False) -> None:
    """Add /clearing/… and /prepayment… to the hub's app: `verifier` checks the signed writes,
    `keys` sign what the hub then asks of a province. With `allow_early` (demos), a run may
    clear the current month so far (`{"early": true}`)."""

    async def signed(request: Request, province: str | None = None
                     ) -> tuple[Actor, dict[str, Any]]:
        if "x-ms-signature" not in request.headers:  # a hub operator (token or session)
            operator = await authenticate(request, store, "hub", None)
            return Actor.of(operator), parse_object(await request.body())
        node, doc = await signed_body(request, verifier)
        if province is not None and node not in (province, "hub"):
            raise Forbidden(f"node {node} cannot act for province {province}")
        asked_by = doc.get("operator")
        return Actor.node(node, asked_by if isinstance(asked_by, str) else None), doc

    async def reader(request: Request, province: str | None = None) -> None:
        """A read of clearing figures: a province node (signed) reads only its own province's;
        every province's figures are for the hub's operators (token or session)."""
        await read_permission(request, store, verifier, province, "clearing figures")

    def flush_journal() -> None:
        journal = getattr(app.state, "journal", None)
        if journal is not None:
            journal.flush()  # index rows still queued in memory belong to the month

    @app.get("/clearing/{month}", summary="A month's clearing result (清算; hub operators)")
    async def clearing(month: str, request: Request) -> dict[str, Any]:
        await reader(request)
        m = YearMonth.parse(month)
        return await run_in_threadpool(svc.clearing_summary, store, m)

    @app.post("/clearing/{month}/run", summary="Clear a month (a re-run changes nothing)")
    async def run(month: str, request: Request) -> dict[str, Any]:
        actor, doc = await signed(request)
        admit_fan_out(request, "/clearing/{month}/run", caller_of(actor))
        m = YearMonth.parse(month)
        early = doc.get("early") is True
        if early and not allow_early:
            raise InvalidInput("early", "this hub clears only months that have ended")

        def work() -> dict[str, Any]:
            flush_journal()
            result = svc.run_clearing(store, m, clock(), actor=actor, early=early)
            return result | {"anchors": anchor_round(store, keys, clock())}  # docs/security.md
        return await run_in_threadpool(work)

    @app.get("/clearing/{month}/statements",
             summary="Every statement of a month (hub operators)")
    async def statements(month: str, request: Request) -> dict[str, Any]:
        await reader(request)
        found = await run_in_threadpool(svc.all_statements, store, YearMonth.parse(month))
        return {"month": month, "statements": [to_dict(s) for s in found]}

    @app.get("/clearing/statements/{province}",
             summary="A province's statements from month `since` on, newest first (the "
                     "province, signed, or hub operators)")
    async def statements_of(province: str, since: str, request: Request) -> dict[str, Any]:
        await reader(request, province)
        found = await run_in_threadpool(svc.statements_of, store, province,
                                        YearMonth.parse(since, "since"))
        return {"province": province, "since": since,
                "statements": [to_dict(s) for s in found]}

    @app.get("/clearing/{month}/statements/{province}", response_model=None,
             summary="A province's statement: JSON, ?format=csv or ?format=text (the "
                     "province, signed, or hub operators)")
    async def one_statement(month: str, province: str, request: Request, format: str = "json"
                            ) -> dict[str, Any] | Response:
        await reader(request, province)
        if format not in FORMATS:
            raise InvalidInput("format", f"{format!r} is not one of {', '.join(FORMATS)}")
        found = await run_in_threadpool(svc.statement, store, YearMonth.parse(month), province)
        if format == "csv":
            return Response(to_csv(found), media_type="text/csv; charset=utf-8",
                            headers={"content-disposition": f"attachment; filename="
                                     f"clearing-{month}-{province}.csv"})
        if format == "text":
            return PlainTextResponse(summary_text(found))
        return to_dict(found)

    @app.post("/clearing/{month}/statements/{province}/confirm")
    async def confirm(month: str, province: str, request: Request) -> dict[str, Any]:
        actor, doc = await signed(request, province)
        side = doc.get("side")
        if not isinstance(side, str):
            raise InvalidInput("side", "send {\"side\": \"insured\" | \"treating\"}")
        m = YearMonth.parse(month)
        return to_dict(await run_in_threadpool(svc.confirm, store, m, province, side, actor,
                                               clock()))

    @app.post("/clearing/{month}/statements/{province}/dispute")
    async def dispute(month: str, province: str, request: Request) -> dict[str, Any]:
        actor, doc = await signed(request, province)
        reason = doc.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput("reason", "say why the statement is disputed")
        m = YearMonth.parse(month)
        return to_dict(await run_in_threadpool(svc.dispute, store, m, province, reason, actor,
                                               clock()))

    @app.post("/clearing/{month}/statements/{province}/redraft")
    async def redraft(month: str, province: str, request: Request) -> dict[str, Any]:
        actor, _ = await signed(request, province)
        m = YearMonth.parse(month)
        return to_dict(await run_in_threadpool(svc.redraft, store, m, province, actor, clock()))

    @app.post("/clearing/{month}/statements/{province}/paid",
              summary="Mark a statement paid and tell the province to pay its institutions "
                      "(again on every call)")
    async def paid(month: str, province: str, request: Request) -> dict[str, Any]:
        """Marks the statement paid (once) and tells the province to pay its institutions, on
        every call: if the province could not be told (`province_told: false`), this same
        POST, sent again once it is up, tells it again (each institution is paid once)."""
        actor, _ = await signed(request, province)
        m = YearMonth.parse(month)
        statement = await run_in_threadpool(svc.mark_paid, store, m, province, clock(), actor)
        answer = to_dict(statement)
        told = await run_in_threadpool(tell_province_to_pay_institutions, store, keys, province,
                                       str(m))
        answer["institutions_paid"] = told
        answer["province_told"] = told is not None
        if told is None:
            answer["tell_again"] = {
                "method": "POST", "path": f"/clearing/{m}/statements/{province}/paid",
                "body": {},
                "why": f"the hub could not tell province {province} to pay its institutions "
                       f"for {m} (down, unknown or refusing); the statement stays paid and "
                       "nothing retries by itself: send this request again (the province, "
                       "signed, or a hub operator) once the province is up; it pays each "
                       "institution once"}
        return answer

    @app.get("/prepayment", summary="Prepayment accounts (预付金) with usage and warnings "
                                     "(hub operators)")
    async def prepayment(request: Request) -> dict[str, Any]:
        await reader(request)
        found = await run_in_threadpool(svc.accounts, store)
        return {"accounts": found, "warnings": [a for a in found if a["level"] != "ok"]}

    @app.post("/prepayment/{province}/topup",
              summary="Top up a prepayment account (fen), once per payment reference")
    async def topup(province: str, request: Request) -> dict[str, Any]:
        """`{"amount": fen, "reference": "<the bank transfer's number>"}`: a resend with the
        same reference books nothing (`already: true`); another amount under it is 409."""
        actor, doc = await signed(request, province)
        amount = doc.get("amount")
        if type(amount) is not int or amount <= 0:
            raise InvalidInput("amount", "a positive integer number of fen")
        reference, at = svc.payment_reference(doc.get("reference")), clock()
        return await run_in_threadpool(lambda: svc.top_up(store, province, amount, at, svc.RULE,
                                                          actor, reference=reference))
