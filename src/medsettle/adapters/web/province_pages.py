"""A province's console: its own province only. Filings waiting for review, manual
reimbursement claims, institutions, its side of clearing (at the hub, asked with the node's
signature), reconciliation results, settlement search and drill-down, the audit log.

Province operators of this province act; its auditors read. A form naming another province is
refused with 403 and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import session_of
from medsettle.adapters.api.common import signed_by
from medsettle.adapters.db import console_queries as q
from medsettle.adapters.federation import raise_remote
from medsettle.adapters.his.keys import issue, node_key
from medsettle.adapters.province_node import ProvinceNode
from medsettle.adapters.web.app import Pages, install
from medsettle.adapters.web.console_errors import console_error
from medsettle.adapters.web.detail import parse_anchors, settlement_detail
from medsettle.adapters.web.person_pages import add_person_page
from medsettle.adapters.web.policy_pages import add_policy_pages
from medsettle.adapters.web.render import Console, language
from medsettle.adapters.web.supervision_pages import add_province_pages as add_supervision_pages
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import Forbidden, InvalidInput, MedSettleError, PeerUnavailable
from medsettle.core.operators import Operator
from medsettle.services import audit, filings
from medsettle.services import institutions as institution_svc
from medsettle.services import reimbursement as rb
from medsettle.services.audit import Actor, held_row_of, run_audited

NAV = [("/console", "Dashboard"), ("/console/filings", "Filings"),
       ("/console/reimbursements", "Reimbursements"), ("/console/institutions", "Institutions"),
       ("/console/policies", "Parameter sets"), ("/console/clearing", "Clearing"),
       ("/console/reconciliation", "Reconciliation"), ("/console/supervision", "Supervision"),
       ("/console/credit", "Credit"),
       ("/console/search", "Search"), ("/console/audit", "Audit log")]
CLAIM_ACTIONS = ("approve", "pay", "reject")
STATEMENT_ACTIONS = ("confirm_insured", "confirm_treating", "dispute")
INSTITUTION_ACTIONS = ("suspend", "reinstate", "networked", "not_networked")
#: How many months back the clearing page looks for statements.
MONTHS_BACK = 6


def add_province_console(node: ProvinceNode, app: Any) -> None:
    """Serve the province's console under /console."""
    region = node.config.region
    console = Console("province", region, "Province node", NAV,
                      cookie=f"medsettle_session_{region}")

    def add(pages: Pages) -> None:
        _overview(pages, node)
        _institutions(pages, node)
        add_policy_pages(pages, node)
        _filings(pages, node)
        _claims(pages, node)
        _clearing(pages, node)
        _search(pages, node)
        add_person_page(pages, node)
        add_supervision_pages(pages, node)

    install(app, node.store, console, add)


def _overview(pages: Pages, node: ProvinceNode) -> None:
    app, store = pages.app, node.store

    @app.get("/console", response_class=HTMLResponse, include_in_schema=False)
    async def dashboard(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        return pages.page(request, "province/dashboard.html", operator,
                          counts=q.counts(store.engine))

    @app.get("/console/reconciliation", response_class=HTMLResponse, include_in_schema=False)
    async def reconciliation(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        return pages.page(request, "province/reconciliation.html", operator,
                          reports=q.reconciliation_reports(store.engine))


def _institutions(pages: Pages, node: ProvinceNode) -> None:
    app, store = pages.app, node.store

    @app.get("/console/institutions", response_class=HTMLResponse, include_in_schema=False)
    async def institutions(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        return pages.page(request, "province/institutions.html", operator,
                          rows=q.institutions(store.engine))

    @app.post("/console/institutions/{code}/keys", include_in_schema=False)
    async def institution_keys(request: Request, code: str) -> Response:
        """New keys for the institution's HIS, shown once on the answer page (never kept in
        the session, never logged)."""
        operator = await pages.operator(request)  # a POST: the CSRF token is checked
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            _, platform = await run_in_threadpool(node_key, store)
            credentials, lines = issue(form.get("signing", "sm2"), None, platform)
            await run_in_threadpool(
                run_audited, store, Actor.of(operator), "institution.keys", code,
                lambda tx: institution_svc.set_credentials(tx, code, credentials),
                node.clock(), lambda tx: institution_svc.state(tx, code))
            node.gateway.forget(code)  # the old keys stop here and now
        except MedSettleError as exc:
            session_of(request)["flash"] = {"ok": False,
                                            "text": console_error(exc, language(request))}
            return RedirectResponse("/console/institutions", status_code=303)
        return pages.page(request, "province/institution_keys.html", operator, code=code,
                          lines=lines)

    @app.post("/console/institutions/{code}/{action}", include_in_schema=False)
    async def institution_action(request: Request, code: str, action: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            if action not in INSTITUTION_ACTIONS:
                raise InvalidInput("action", f"must be one of {', '.join(INSTITUTION_ACTIONS)}")
            reason = form.get("reason", "")

            def change(tx: Any) -> Any:
                if action == "suspend":
                    return institution_svc.suspend(tx, code, reason)
                if action == "reinstate":
                    return institution_svc.reinstate(tx, code, reason)
                return institution_svc.set_networked(tx, code, action == "networked", reason)
            run_audited(store, Actor.of(operator), f"institution.{action}", code, change,
                        node.clock(), lambda tx: institution_svc.state(tx, code))
        return await pages.act(request, work, "/console/institutions")


def _filings(pages: Pages, node: ProvinceNode) -> None:
    app, store = pages.app, node.store

    @app.get("/console/filings", response_class=HTMLResponse, include_in_schema=False)
    async def waiting(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        return pages.page(request, "province/filings.html", operator,
                          waiting=q.filings_waiting(store.engine),
                          decided=q.recent_filings(store.engine))

    @app.post("/console/filings/{filing_no}/decide", include_in_schema=False)
    async def decide(request: Request, filing_no: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            decision = form.get("decision")
            if decision not in ("approve", "refuse"):
                raise InvalidInput("decision", "must be approve or refuse")
            reason = form.get("reason", "").strip()
            if decision == "refuse" and not reason:
                raise InvalidInput("reason", "say why the filing is refused")
            today = node.clock().date()
            run_audited(store, Actor.of(operator), f"filing.{decision}", filing_no,
                        lambda tx: filings.decide(tx, filing_no, decision == "approve", reason,
                                                  today),
                        node.clock(), lambda tx: filings.held_row(tx, filing_no))
        return await pages.act(request, work, "/console/filings")


def _claims(pages: Pages, node: ProvinceNode) -> None:
    app, store = pages.app, node.store

    @app.get("/console/reimbursements", response_class=HTMLResponse, include_in_schema=False)
    async def claims(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        rows = q.claims(store.engine)
        for row in rows:
            row["owed"] = rb.owed_fen(row["amounts"])
        return pages.page(request, "province/reimbursements.html", operator, claims=rows)

    @app.post("/console/reimbursements/{claim_id}/{action}", include_in_schema=False)
    async def claim_action(request: Request, claim_id: str, action: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            if action not in CLAIM_ACTIONS:
                raise InvalidInput("action", f"must be one of {', '.join(CLAIM_ACTIONS)}")
            now = node.clock()
            reason = form.get("reason", "")

            def change(tx: Any) -> Any:
                if action == "approve":
                    return rb.approve(tx, claim_id, now)
                if action == "pay":
                    return rb.pay(tx, claim_id, now)
                return rb.reject(tx, claim_id, reason, now)
            run_audited(store, Actor.of(operator), f"reimbursement.{action}", claim_id, change,
                        now, lambda tx: held_row_of(tx, "reimbursement_claims",
                                                    claim_id=claim_id))
        return await pages.act(request, work, "/console/reimbursements")


def _hub_statements(node: ProvinceNode, since: YearMonth) -> list[dict[str, Any]]:
    """This province's statements at the hub from month `since` on, newest first."""
    if node.hub is None:
        raise PeerUnavailable("this node has no hub configured")
    _, body = node.hub.get(f"/clearing/statements/{node.config.region}?since={since}")
    doc = json.loads(body)
    if not isinstance(doc, dict) or doc.get("ok") is False:
        raise_remote(doc.get("error") or {} if isinstance(doc, dict) else {})
    statements: list[dict[str, Any]] = doc["statements"]
    return statements


def _clearing(pages: Pages, node: ProvinceNode) -> None:
    app, store, region = pages.app, node.store, node.config.region

    @app.get("/console/clearing", response_class=HTMLResponse, include_in_schema=False)
    async def clearing(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        current = YearMonth.of(node.clock())

        def fetch() -> tuple[list[dict[str, Any]], str | None]:
            try:
                return _hub_statements(node, current.shift(-MONTHS_BACK)), None
            except (MedSettleError, OSError, ValueError, KeyError) as exc:
                return [], str(exc) or type(exc).__name__
        statements, problem = await run_in_threadpool(fetch)
        return pages.page(request, "province/clearing.html", operator, statements=statements,
                          problem=problem)

    @app.post("/console/clearing/{month}/{province}/{action}", include_in_schema=False)
    async def statement_action(request: Request, month: str, province: str,
                               action: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            if province != region:
                raise Forbidden(f"operator {operator.name} works for province {region}, not "
                                f"{province}: only {region}'s side of clearing is theirs")
            if action not in STATEMENT_ACTIONS:
                raise InvalidInput("action", f"must be one of {', '.join(STATEMENT_ACTIONS)}")
            m = str(YearMonth.parse(month))
            reason = form.get("reason", "").strip()
            if action == "dispute" and not reason:
                raise InvalidInput("reason", "say why the statement is disputed")
            if node.hub is None:
                raise PeerUnavailable("this node has no hub configured")
            before = next((s for s in _hub_statements(node, YearMonth.parse(m))
                           if s.get("month") == m), None)
            path = f"/clearing/{m}/statements/{region}/" + (
                "dispute" if action == "dispute" else "confirm")
            doc = ({"reason": reason} if action == "dispute"
                   else {"side": action.removeprefix("confirm_")}) | {"operator": operator.name}
            answer = node.hub.post(path, doc)
            if answer.get("ok") is False:
                raise_remote(answer.get("error") or {})
            with store.tx() as tx:
                audit.record(tx, Actor.of(operator), f"clearing.{action}", f"{m} {region}",
                             _position(before), _position(answer), node.clock())
        return await pages.act(request, work, "/console/clearing")


def _position(statement: dict[str, Any] | None) -> dict[str, Any] | None:
    if statement is None:
        return None
    return {k: statement.get(k) for k in ("state", "insured_confirmed", "treating_confirmed",
                                          "dispute", "net")}


def _search(pages: Pages, node: ProvinceNode) -> None:
    app, store = pages.app, node.store

    @app.get("/console/search", response_class=HTMLResponse, include_in_schema=False)
    async def search(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        text = (request.query_params.get("q") or "").strip()
        rows = (q.search_settlements(store.engine, text) if text
                else q.recent_settlements(store.engine))
        return pages.page(request, "province/search.html", operator, q=text, rows=rows)

    @app.get("/console/settlements/{setl_id}", response_class=HTMLResponse,
             include_in_schema=False)
    async def settlement(request: Request, setl_id: str) -> HTMLResponse:
        operator = await pages.operator(request)

        def gather() -> dict[str, Any]:
            anchors: dict[int, str] = {}
            if node.hub is not None:
                try:
                    answer = json.loads(node.hub.get(f"/fed/v1/anchors/{node.config.region}",
                                                      timeout=3)[1])
                    anchors = {int(a["seq"]): str(a["hash"])
                               for a in answer["result"]["anchors"]}
                except (OSError, ValueError, KeyError, TypeError, PeerUnavailable):
                    anchors = {}
            return settlement_detail(store, setl_id, anchors, node.book)
        detail = await run_in_threadpool(gather)
        return pages.page(request, "province/settlement.html", operator, setl_id=setl_id,
                          node={"region": node.config.region, **detail})

    @app.get("/fed/v1/console/settlements/{setl_id}",
             summary="A settlement as this node holds it, for the hub's console (hub-signed)")
    async def for_hub(request: Request, setl_id: str,
                      anchors: str | None = None) -> dict[str, Any]:
        signed_by(request, node.verifier)
        kept = parse_anchors(anchors)
        return {"ok": True, "result": await run_in_threadpool(settlement_detail, store,
                                                              setl_id, kept, node.book)}
