"""A province node's supervision routes: decided cases from the hub (credit deducted, the
institution suspended when due, the refused amount recovered), its report for the national
statistics, its monthly batch, institutions' credit and reinstatement, terminating a person's
direct settlement, and its operators' work on cases and tickets (asked of the hub with the
node's signature, naming the operator)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import operator_dependency
from medsettle.adapters.api.common import free_text, json_body, jsonable, parse_object, signed_by
from medsettle.adapters.federation import raise_remote
from medsettle.adapters.province_node import ProvinceNode
from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import InvalidInput, PeerUnavailable
from medsettle.core.operators import Operator
from medsettle.services import audit, credit
from medsettle.services import supervision_batch as batch_svc
from medsettle.services.audit import Actor, held_row_of, run_audited
from medsettle.services.supervision_report import node_report


def ask_hub(node: ProvinceNode, method: str, path: str, doc: dict[str, Any] | None = None
            ) -> Any:
    """A signed request to the hub; its result, or its refusal raised here."""
    if node.hub is None:
        raise PeerUnavailable("this node has no hub configured")
    answer = node.hub.client.request(method, node.hub.hub_url, path, node.hub.key, doc,
                                     peer="the national hub")
    if answer.get("ok") is False:
        raise_remote(answer.get("error") or {})
    return answer.get("result")


#: Hits per request to the hub (its limit is 20,000): a larger month goes in parts.
HITS_PER_REPORT = 10_000


def run_batch(node: ProvinceNode, month: YearMonth) -> dict[str, Any]:
    """The node's monthly batch; its hits are kept here and reported to the hub."""
    book = load_threshold_book()
    _, last = batch_svc.month_days(month)
    hits = batch_svc.run_node(node.store, month, lambda region: book.find(region, last),
                              node.clock())
    reported: Any = None
    if node.hub is not None:
        try:
            docs, kept = [h.to_dict() for h in hits], 0
            for start in range(0, max(len(docs), 1), HITS_PER_REPORT):  # the first replaces
                kept += int(ask_hub(node, "POST", "/fed/v1/supervision/hits", {
                    "month": str(month), "hits": docs[start:start + HITS_PER_REPORT],
                    "replace": start == 0})["kept"])
            reported = {"kept": kept}
        except Exception as exc:
            reported = {"error": str(exc)}
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.rule] = counts.get(hit.rule, 0) + 1
    return {"month": str(month), "hits": len(hits), "by_rule": counts, "reported": reported}


def add_supervision_routes(app: FastAPI, node: ProvinceNode) -> None:
    """Add the supervision routes to a province node's app."""
    store, region = node.store, node.config.region
    who = Depends(operator_dependency(store, "province", region))

    @app.post("/fed/v1/supervision/decisions", summary="A decided case (hub-signed)")
    async def decision(request: Request) -> dict[str, Any]:
        body = await request.body()
        signed_by(request, node.verifier, body)
        doc = parse_object(body)
        case_id, institution = str(doc.get("case_id", "")), str(doc.get("institution", ""))
        if not case_id or not institution:
            raise InvalidInput("case_id", "a decided case names its id and institution")
        refused = doc.get("refused", 0)
        if type(refused) is not int or refused < 0:
            raise InvalidInput("refused", "a whole number of fen ≥ 0")

        def work(tx: Any) -> Any:
            return credit.apply_decision(
                tx, case_id=case_id, institution=institution, insured=str(doc.get("insured")),
                severity=str(doc.get("severity", "none")), refused=refused, now=node.clock(),
                actor="node:hub")
        result = await run_in_threadpool(
            run_audited, store, Actor.node("hub"), "credit.decision", institution, work,
            node.clock(), lambda tx: held_row_of(tx, "institution_credit",
                                            fixmedins_code=institution))
        return {"ok": True, "result": jsonable(result)}

    @app.get("/fed/v1/statistics/{month}", summary="This node's report of a month (hub-signed)")
    async def report(month: str, request: Request) -> dict[str, Any]:
        signed_by(request, node.verifier)
        m = YearMonth.parse(month)

        def work() -> dict[str, Any]:
            with store.tx() as tx:
                return node_report(tx, m, region)
        return {"ok": True, "result": jsonable(await run_in_threadpool(work))}

    @app.get("/api/v1/supervision/credit", summary="Institutions' credit and suspension")
    def credits(operator: Operator = who) -> Any:
        with store.tx() as tx:
            return jsonable(credit.credits(tx))

    @app.post("/api/v1/institutions/{code}/reinstate",
              summary="Reinstate a suspended institution after rectification")
    async def reinstate(code: str, request: Request, operator: Operator = who) -> Any:
        note = free_text(await json_body(request), "note")
        return jsonable(await run_in_threadpool(
            run_audited, store, Actor.of(operator), "credit.reinstate", code,
            lambda tx: credit.reinstate(tx, code, note, node.clock(), operator.name),
            node.clock(), lambda tx: held_row_of(tx, "institution_credit", fixmedins_code=code)))

    @app.post("/api/v1/persons/{psn_no}/direct-settlement",
              summary="Terminate (barred: true) or restore a person's direct settlement")
    async def bar(psn_no: str, request: Request, operator: Operator = who) -> Any:
        doc = await json_body(request)
        barred = doc.get("barred")
        if not isinstance(barred, bool):
            raise InvalidInput("barred", "true to terminate, false to restore")
        reason = free_text(doc, "reason")
        return jsonable(await run_in_threadpool(
            run_audited, store, Actor.of(operator),
            "person.terminate" if barred else "person.restore", psn_no,
            lambda tx: credit.bar_person(tx, psn_no, barred, reason), node.clock(),
            lambda tx: {"direct_settlement_barred": bool(getattr(
                tx.one("persons", psn_no=psn_no), "direct_settlement_barred", False))}))

    @app.post("/api/v1/supervision/{month}/run", summary="This node's monthly batch")
    async def run(month: str, operator: Operator = who) -> Any:
        m = YearMonth.parse(month)

        def work() -> Any:
            result = run_batch(node, m)
            with store.tx() as tx:
                audit.record(tx, Actor.of(operator), "supervision.run", str(m), None, result,
                             node.clock())
            return result
        return jsonable(await run_in_threadpool(work))

    @app.get("/api/v1/supervision/hits", summary="This node's rule hits")
    def hits(month: str | None = None, operator: Operator = who) -> Any:
        with store.tx() as tx:
            rows = [dict(r._mapping) for r in tx.rows("supervision_hits", order_by="id")
                    if r.source != "replaced" and (month is None or r.month == month)]
        return jsonable(rows[-500:])

    @app.post("/api/v1/supervision/cases", summary="Open a case at the hub")
    async def open_case(request: Request, operator: Operator = who) -> Any:
        doc = await json_body(request) | {"operator": operator.name}
        return await run_in_threadpool(ask_hub, node, "POST", "/supervision/cases", doc)

    @app.post("/api/v1/supervision/cases/{case_id}/{action}", summary="Move a case at the hub")
    async def move_case(case_id: str, action: str, request: Request,
                        operator: Operator = who) -> Any:
        doc = await json_body(request) | {"operator": operator.name}
        return await run_in_threadpool(ask_hub, node, "POST",
                                       f"/supervision/cases/{case_id}/{action}", doc)

    @app.post("/api/v1/supervision/tickets", summary="Raise a ticket at the hub")
    async def open_ticket(request: Request, operator: Operator = who) -> Any:
        doc = await json_body(request) | {"operator": operator.name}
        return await run_in_threadpool(ask_hub, node, "POST", "/supervision/tickets", doc)

    @app.post("/api/v1/supervision/tickets/{ticket_id}/{action}", summary="Move a ticket")
    async def move_ticket(ticket_id: str, action: str, request: Request,
                          operator: Operator = who) -> Any:
        doc = await json_body(request) | {"operator": operator.name}
        return await run_in_threadpool(ask_hub, node, "POST",
                                       f"/supervision/tickets/{ticket_id}/{action}", doc)
