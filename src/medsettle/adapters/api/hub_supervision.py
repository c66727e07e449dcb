"""The hub's supervision routes (docs/supervision.md): cases (费用协查, 双地联查), tickets
(问题协同), rule hits, the hub's monthly batch, and the national statistics.

Reads of cases, tickets and hits need a hub operator (or auditor) or a node's signature; the
statistics are public figures without personal data (JSON or CSV). Writes are a province node's
signed request for its own province (naming the operator who asked) or a hub operator's, each
one line of the hub's audit log in its transaction. A decided case is sent to the treating
province (hub-signed), which deducts the institution's credit and recovers the refused amount.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import authenticate
from medsettle.adapters.api.common import jsonable, parse_object, signed_body
from medsettle.adapters.db import statistics_queries as q
from medsettle.adapters.db.store import Store
from medsettle.adapters.decision_courier import tell_treating
from medsettle.adapters.federation import Verifier
from medsettle.adapters.hub_link import HubLink
from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import Forbidden, InvalidInput, MedSettleError
from medsettle.core.supervision.cases import to_doc
from medsettle.services import clearing as clearing_svc
from medsettle.services import statistics
from medsettle.services import supervision_batch as batch_svc
from medsettle.services import supervision_cases as svc
from medsettle.services.audit import Actor

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The hub's clock (UTC)."""
    return datetime.now(UTC)


def collect_reports(store: Store, keys: dict[str, str], month: YearMonth,
                    now: datetime) -> dict[str, str]:
    """Ask every registered province (hub-signed) for its month's report; keep the answers."""
    link = HubLink(keys, 10.0, pool=4)
    outcome: dict[str, str] = {}
    try:
        with store.tx() as tx:
            nodes = [(str(n.region), str(n.endpoint)) for n in tx.rows("nodes")]
        for region, endpoint in nodes:
            try:
                answer = link.client.request("GET", endpoint, f"/fed/v1/statistics/{month}",
                                             keys[region], peer=f"province {region}")
                doc = answer.get("result")
                if not isinstance(doc, dict):
                    outcome[region] = "no report"
                    continue
                with store.tx() as tx:
                    values = {"document": doc, "received_at": now}
                    if tx.change("node_reports", {"province": region, "month": str(month),
                                                  "kind": "node"}, **values) == 0:
                        tx.add("node_reports", {"province": region, "month": str(month),
                                                "kind": "node", **values})
                outcome[region] = "ok"
            except (MedSettleError, KeyError) as exc:
                outcome[region] = str(exc) or type(exc).__name__
    finally:
        link.close()
    return outcome


def figures(store: Store, month: YearMonth, now: datetime) -> dict[str, Any]:
    """The month's national figures."""
    start, end = month.bounds()
    engine = store.engine
    cases = [c for c in svc.cases(store, now) if c["opened_at"][:7] <= str(month)]
    return statistics.report(
        str(month), q.index_groups(engine, start, end), q.settle_latencies(engine, start, end),
        q.failures(engine, start, end), q.node_reports(engine, str(month)), cases,
        svc.tickets(store, now), clearing_svc.accounts(store),
        clearing_svc.clearing_summary(store, month))


def add_supervision_routes(app: FastAPI, store: Store, keys: dict[str, str],
                           verifier: Verifier, *,
                           clock: Callable[[], datetime] = utc_now) -> None:
    """Add /supervision/… and /statistics/… to the hub's app."""

    async def caller(request: Request, write: bool) -> tuple[Actor, dict[str, Any]]:
        if "x-ms-signature" not in request.headers:
            operator = await authenticate(request, store, "hub", None)
            if write and operator.role == "auditor":
                raise Forbidden("an auditor reads only")
            body = await request.body() if write else b""
            return Actor.of(operator), parse_object(body) if body else {}
        node, doc = await signed_body(request, verifier)
        asked_by = doc.get("operator")
        return Actor.node(node, asked_by if isinstance(asked_by, str) else None), doc

    def flush() -> None:
        journal = getattr(app.state, "journal", None)
        if journal is not None:
            journal.flush()

    @app.get("/supervision/cases", summary="Cases (费用协查, 双地联查)")
    async def list_cases(request: Request, state: str | None = None) -> dict[str, Any]:
        actor, _ = await caller(request, False)
        found = await run_in_threadpool(svc.cases, store, clock(), state)
        if actor.role == "node" and actor.region:
            found = [c for c in found if actor.region in (c["insured"], c["treating"])]
        return {"ok": True, "result": jsonable(found)}

    @app.get("/supervision/cases/{case_id}", summary="One case with its adjustments")
    async def one_case(case_id: str, request: Request) -> dict[str, Any]:
        actor, _ = await caller(request, False)
        doc = await run_in_threadpool(svc.case_doc, store, case_id)
        if actor.role == "node":
            svc.only_for(actor, doc["insured"], doc["treating"])
        return {"ok": True, "result": jsonable(doc)}

    @app.post("/supervision/cases", summary="Open a case")
    async def new_case(request: Request) -> dict[str, Any]:
        actor, doc = await caller(request, True)
        ids = doc.get("settlements")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not ids:
            raise InvalidInput("settlements", "a list of settlement ids")
        case = await run_in_threadpool(lambda: svc.create_case(
            store, kind=str(doc.get("kind", "verification")), insured=_code(doc, "insured"),
            treating=_code(doc, "treating"), institution=str(doc.get("institution", "")),
            reason=str(doc.get("reason", "")), settlement_ids=ids, actor=actor, now=clock()))
        return {"ok": True, "result": jsonable(to_doc(case))}

    @app.post("/supervision/cases/{case_id}/{action}", summary="Move a case")
    async def move_case(case_id: str, action: str, request: Request) -> dict[str, Any]:
        actor, doc = await caller(request, True)
        case = await run_in_threadpool(svc.act, store, case_id, action, actor, clock(), doc)
        result = to_doc(case)
        if action == "decide":
            told = await run_in_threadpool(tell_treating, store, keys, result)
            await run_in_threadpool(svc.note_credit, store, case_id, told, clock())
            result["credit"] = told
        return {"ok": True, "result": jsonable(result)}

    @app.get("/supervision/tickets", summary="问题协同 tickets with overdue flags")
    async def list_tickets(request: Request) -> dict[str, Any]:
        actor, _ = await caller(request, False)
        found = await run_in_threadpool(svc.tickets, store, clock(), actor)
        if actor.role == "node" and actor.region:
            found = [t for t in found if actor.region in (t["raised_by"], t["raised_to"])]
        return {"ok": True, "result": jsonable(found)}

    @app.post("/supervision/tickets", summary="Raise a ticket to another province")
    async def new_ticket(request: Request) -> dict[str, Any]:
        actor, doc = await caller(request, True)
        raised_by = str(actor.region or doc.get("raised_by") or "")
        ticket = await run_in_threadpool(lambda: svc.create_ticket(
            store, raised_by=_code({"raised_by": raised_by}, "raised_by"),
            raised_to=_code(doc, "raised_to"), subject=str(doc.get("subject", "")),
            settlement_id=str(doc.get("settlement_id", "")), actor=actor, now=clock()))
        return {"ok": True, "result": jsonable(to_doc(ticket))}

    @app.post("/supervision/tickets/{ticket_id}/{action}", summary="Move a ticket")
    async def move_ticket(ticket_id: str, action: str, request: Request) -> dict[str, Any]:
        actor, doc = await caller(request, True)
        ticket = await run_in_threadpool(svc.act_on_ticket, store, ticket_id, action, actor,
                                         clock(), str(doc.get("note", "")))
        return {"ok": True, "result": jsonable(to_doc(ticket))}

    @app.get("/supervision/hits", summary="Rule hits with their evidence")
    async def hits(request: Request, month: str | None = None,
                   rule: str | None = None) -> dict[str, Any]:
        """Every hit for the hub's operators; a province's node gets those that concern it."""
        actor, _ = await caller(request, False)
        keys_: dict[str, object] = {}
        if month:
            keys_["month"] = str(YearMonth.parse(month))
        if rule:
            keys_["rule"] = rule
        def read() -> list[dict[str, Any]]:
            with store.tx() as tx:
                return [dict(r._mapping) for r in tx.rows("supervision_hits", order_by="id",
                                                          **keys_)
                        if r.source != "replaced"]
        rows = await run_in_threadpool(read)
        if actor.role == "node" and actor.region:
            rows = [r for r in rows if svc.hit_concerns(actor.region, r)]
        return {"ok": True, "result": jsonable(rows[-500:])}

    @app.post("/fed/v1/supervision/hits", summary="A province's batch hits (signed)")
    async def province_hits(request: Request) -> dict[str, Any]:
        node, doc = await signed_body(request, verifier)
        month = YearMonth.parse(doc.get("month"))
        found = doc.get("hits")
        if not isinstance(found, list):
            raise InvalidInput("hits", "a list of hits")
        now = clock()

        def keep() -> int:
            with store.tx() as tx:
                for row in tx.rows("supervision_hits", source="batch", month=str(month)):
                    if row.document.get("reported_by") == node:
                        tx.change("supervision_hits", {"id": row.id}, source="replaced")
                tx.add_many("supervision_hits", [{
                    "rule": str(h["rule"]), "unit": str(h["unit"]), "key": str(h["key"])[:120],
                    "severity": str(h.get("severity", "warning")), "source": "batch",
                    "month": str(month), "institution": str(h.get("institution", "")),
                    "person": str(h.get("person", "")),
                    "settlement_id": str((h.get("settlements") or [""])[-1]),
                    "amount": int(h.get("amount", 0)), "found_at": now, "case_id": None,
                    "document": {**h, "reported_by": node}} for h in found])
            return len(found)
        return {"ok": True, "result": {"kept": await run_in_threadpool(keep)}}

    @app.post("/supervision/{month}/run", summary="The hub's monthly batch (R05, R09)")
    async def run(month: str, request: Request) -> dict[str, Any]:
        actor, _ = await caller(request, True)
        m = YearMonth.parse(month)
        book = load_threshold_book()
        _, last = batch_svc.month_days(m)

        def work() -> dict[str, Any]:
            flush()
            found = batch_svc.run_hub(store, m, lambda region: book.find(region, last),
                                      clock(), svc.create_case)
            return {"month": str(m), "hits": len(found), "by_rule": _count(found),
                    "actor": actor.name}
        return {"ok": True, "result": await run_in_threadpool(work)}

    @app.post("/statistics/{month}/collect", summary="Ask every province for its report")
    async def collect(month: str, request: Request) -> dict[str, Any]:
        await caller(request, True)
        m = YearMonth.parse(month)
        outcome = await run_in_threadpool(collect_reports, store, keys, m, clock())
        return {"ok": True, "result": outcome}

    @app.get("/statistics/{month}", response_model=None,
             summary="National figures of a month (public: JSON, or ?format=csv)")
    async def stats(month: str, format: str = "json") -> dict[str, Any] | Response:
        if format not in ("json", "csv"):
            raise InvalidInput("format", "must be json or csv")
        m = YearMonth.parse(month)
        await run_in_threadpool(flush)
        found = await run_in_threadpool(figures, store, m, clock())
        if format == "csv":
            return Response(statistics.to_csv(found), media_type="text/csv; charset=utf-8",
                            headers={"content-disposition":
                                     f"attachment; filename=statistics-{m}.csv"})
        return jsonable(found)  # type: ignore[no-any-return]


def _code(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or len(value) != 6 or not value.isdigit():
        raise InvalidInput(name, "a 6-digit region code")
    return value


def _count(hits: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.rule] = counts.get(hit.rule, 0) + 1
    return counts
