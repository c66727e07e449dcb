"""The hub's supervision routes (docs/supervision.md): cases (费用协查, 双地联查), tickets
(问题协同), rule hits, the hub's monthly batch, and the national statistics.

Reads of cases, tickets and hits need a hub operator (or auditor) or a node's signature; the
statistics are public figures without personal data (JSON or CSV), but every province's
prepayment account and the month's clearing totals are in them only for the hub's operators
(the read permission of GET /prepayment). Writes are a province node's signed request for its
own province (naming the operator who asked) or a hub operator's, each one line of the hub's
audit log in its transaction. A decided case is sent to the treating province (hub-signed),
which deducts the institution's credit and recovers the refused amount. What a province sends
(its batch hits, its statistics report) is checked field by field before the hub keeps it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import SESSION_OPERATOR, authenticate, read_permission, session_of
from medsettle.adapters.api.common import free_text, jsonable, parse_object, signed_body
from medsettle.adapters.api.fan_out import admit_fan_out, caller_of
from medsettle.adapters.db import statistics_queries as q
from medsettle.adapters.db.store import Store
from medsettle.adapters.decision_courier import tell_treating
from medsettle.adapters.federation import Verifier
from medsettle.adapters.hub_link import HubLink
from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import Forbidden, InvalidInput, MedSettleError
from medsettle.core.money import MAX_FEN
from medsettle.core.supervision.cases import CASE_STATES, to_doc
from medsettle.core.supervision.hits import RULES
from medsettle.services import clearing as clearing_svc
from medsettle.services import statistics
from medsettle.services import supervision_batch as batch_svc
from medsettle.services import supervision_cases as svc
from medsettle.services.audit import Actor

logger = logging.getLogger(__name__)
#: At most this many hits in one province's batch report (POST /fed/v1/supervision/hits).
MAX_HITS = 20_000
UNITS = ("settlement", "person", "institution", "institution_day")
SEVERITIES = ("warning", "hard_stop")
#: A settlement id or line of a hit: printable ASCII, no spaces.
ID = re.compile(r"[\x21-\x7e]+", re.ASCII)


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
                try:
                    statistics.check_report(doc)
                except InvalidInput as exc:
                    logger.warning("province report refused", extra={
                        "province": region, "month": str(month), "field": exc.field,
                        "why": exc.message})
                    outcome[region] = f"report refused: {exc}"
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


def figures(store: Store, month: YearMonth, now: datetime, *,
            operators: bool = True) -> dict[str, Any]:
    """The month's national figures; with `operators` (the hub's operators: console, CLI)
    every province's prepayment account and the clearing totals too."""
    start, end = month.bounds()
    engine = store.engine
    cases = [c for c in svc.cases(store, now) if c["opened_at"][:7] <= str(month)]
    return statistics.report(
        str(month), q.index_groups(engine, start, end), q.settle_latencies(engine, start, end),
        q.failures(engine, start, end), q.node_reports(engine, str(month)), cases,
        svc.tickets(store, now), clearing_svc.accounts(store) if operators else None,
        clearing_svc.clearing_summary(store, month) if operators else None)


def province_hit(hit: object, i: int) -> dict[str, Any]:
    """Hit `i` of a province's batch report as the hub keeps it (core/supervision/hits.py
    `Hit.to_dict`), each field checked; InvalidInput naming `hits[i].<field>`."""
    where = f"hits[{i}]"
    if not isinstance(hit, dict):
        raise InvalidInput(where, "must be a JSON object (a rule hit)")

    def text(name: str, most: int, default: str | None = None) -> str:
        value = hit.get(name, default)
        if not isinstance(value, str) or len(value) > most or "\x00" in value:
            raise InvalidInput(f"{where}.{name}", f"must be a text of at most {most} "
                                                  "characters (no NUL)")
        return value

    def names(name: str, most: int) -> list[str]:
        value = hit.get(name, [])
        if (not isinstance(value, list) or len(value) > 10_000
                or not all(isinstance(x, str) and ID.fullmatch(x) and len(x) <= most
                           for x in value)):
            raise InvalidInput(f"{where}.{name}", f"must be a list of ids of at most {most} "
                                                  "printable ASCII characters")
        return value

    rule = hit.get("rule")
    if not isinstance(rule, str) or rule not in RULES:
        raise InvalidInput(f"{where}.rule", f"must be one of {', '.join(RULES)}")
    unit = hit.get("unit")
    if unit not in UNITS:
        raise InvalidInput(f"{where}.unit", f"must be one of {', '.join(UNITS)}")
    severity = hit.get("severity", "warning")
    if severity not in SEVERITIES:
        raise InvalidInput(f"{where}.severity", f"must be one of {', '.join(SEVERITIES)}")
    key = text("key", 120)
    if not key:
        raise InvalidInput(f"{where}.key", "is required: what was hit")
    amount = hit.get("amount", 0)
    if type(amount) is not int or abs(amount) > MAX_FEN:
        raise InvalidInput(f"{where}.amount", f"must be a whole number of fen of at most "
                                              f"{MAX_FEN}")
    measured = hit.get("measured", {})
    if not isinstance(measured, dict) or len(measured) > 100 or not all(
            len(k) <= 60 and isinstance(v, str) and len(v) <= 1000 and "\x00" not in k + v
            for k, v in measured.items()):
        raise InvalidInput(f"{where}.measured", "must be a JSON object of measured values "
                                                "as texts")
    return {"rule": rule, "name": RULES[rule], "unit": unit, "key": key,
            "severity": severity, "message": text("message", 2000, ""),
            "threshold": text("threshold", 1000, ""), "source": text("source", 1000, ""),
            "measured": measured,
            "settlements": names("settlements", 30), "lines": names("lines", 80),
            "institution": text("institution", 12, ""), "person": text("person", 30, ""),
            "amount": amount}


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
        if state is not None and state not in CASE_STATES:
            raise InvalidInput("state", f"must be one of {', '.join(CASE_STATES)}")
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
            reason=free_text(doc, "reason"), settlement_ids=ids, actor=actor, now=clock()))
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
            raised_to=_code(doc, "raised_to"), subject=free_text(doc, "subject"),
            settlement_id=str(doc.get("settlement_id", "")), actor=actor, now=clock()))
        return {"ok": True, "result": jsonable(to_doc(ticket))}

    @app.post("/supervision/tickets/{ticket_id}/{action}", summary="Move a ticket")
    async def move_ticket(ticket_id: str, action: str, request: Request) -> dict[str, Any]:
        actor, doc = await caller(request, True)
        ticket = await run_in_threadpool(svc.act_on_ticket, store, ticket_id, action, actor,
                                         clock(), free_text(doc, "note"))
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
            if rule not in RULES:
                raise InvalidInput("rule", f"must be one of {', '.join(RULES)}")
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
        if len(found) > MAX_HITS:
            raise InvalidInput("hits", f"at most {MAX_HITS} hits in one report, not "
                                       f"{len(found)}")
        found = [province_hit(h, i) for i, h in enumerate(found)]
        replace = doc.get("replace", True)
        if not isinstance(replace, bool):
            raise InvalidInput("replace", "true for a report's first part (it replaces the "
                                          "month's earlier report), false for the next parts")
        now = clock()

        def keep() -> int:
            with store.tx() as tx:
                for row in tx.rows("supervision_hits", source="batch", month=str(month)):
                    if replace and row.document.get("reported_by") == node:
                        tx.change("supervision_hits", {"id": row.id}, source="replaced")
                tx.add_many("supervision_hits", [{
                    "rule": h["rule"], "unit": h["unit"], "key": h["key"],
                    "severity": h["severity"], "source": "batch", "month": str(month),
                    "institution": h["institution"], "person": h["person"],
                    "settlement_id": (h["settlements"] or [""])[-1], "amount": h["amount"],
                    "found_at": now, "case_id": None,
                    "document": {**h, "reported_by": node}} for h in found])
            return len(found)
        return {"ok": True, "result": {"kept": await run_in_threadpool(keep)}}

    @app.post("/supervision/{month}/run", summary="The hub's monthly batch (R05, R09)")
    async def run(month: str, request: Request) -> dict[str, Any]:
        actor, _ = await caller(request, True)
        admit_fan_out(request, "/supervision/{month}/run", caller_of(actor))
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
        actor, _ = await caller(request, True)
        admit_fan_out(request, "/statistics/{month}/collect", caller_of(actor))
        m = YearMonth.parse(month)
        outcome = await run_in_threadpool(collect_reports, store, keys, m, clock())
        return {"ok": True, "result": outcome}

    async def operator_reads(request: Request) -> bool:
        """Whether the caller is a hub operator (or auditor) by token or session: GET
        /prepayment's read permission. Anyone else (no credentials, a node's signature) reads
        the public figures; credentials that fail answer 401 or 403 as on /prepayment."""
        if "x-ms-signature" in request.headers or not (
                request.headers.get("authorization") or SESSION_OPERATOR in session_of(request)):
            return False
        await read_permission(request, store, verifier, None, "prepayment figures")
        return True

    @app.get("/statistics/{month}", response_model=None,
             summary="National figures of a month (public: JSON, or ?format=csv; the "
                     "prepayment accounts and clearing totals for hub operators)")
    async def stats(month: str, request: Request,
                    format: str = "json") -> dict[str, Any] | Response:
        if format not in ("json", "csv"):
            raise InvalidInput("format", "must be json or csv")
        m = YearMonth.parse(month)
        operators = await operator_reads(request)
        await run_in_threadpool(flush)
        found = await run_in_threadpool(lambda: figures(store, m, clock(), operators=operators))
        if format == "csv":
            return Response(statistics.to_csv(found), media_type="text/csv; charset=utf-8",
                            headers={"content-disposition":
                                     f"attachment; filename=statistics-{m}.csv"})
        return jsonable(found)  # type: ignore[no-any-return]


def _code(doc: dict[str, Any], name: str) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or len(value) != 6 or not (value.isascii() and value.isdigit()):
        raise InvalidInput(name, "a 6-digit region code")
    return value


def _count(hits: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.rule] = counts.get(hit.rule, 0) + 1
    return counts
