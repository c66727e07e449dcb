"""The console's supervision pages (docs/console.md "Supervision"): on the hub, cases
(费用协查, 双地联查) with every step, 问题协同 tickets with their deadlines, rule hits with their
evidence, the monthly batch and the national statistics with charts; on a province, its cases
and tickets (asked of the hub with the node's signature), its rule hits, and its institutions'
credit with suspension and reinstatement, and terminating a person's direct settlement.

Hub operators act on any case; a province's operators act for their province (the hub checks
which side of a case they are); auditors read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.hub_supervision import collect_reports, figures
from medsettle.adapters.api.province_supervision import ask_hub, run_batch
from medsettle.adapters.decision_courier import tell_treating
from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.adapters.web.app import Pages
from medsettle.adapters.web.render import region, script_json
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import Forbidden, InvalidInput, MedSettleError
from medsettle.core.money import MAX_FEN
from medsettle.core.operators import Operator
from medsettle.core.supervision.cases import to_doc
from medsettle.core.supervision.hits import RULES
from medsettle.services import audit, credit
from medsettle.services import supervision_batch as batch_svc
from medsettle.services import supervision_cases as svc
from medsettle.services.audit import Actor, held_row_of, run_audited

CASE_FIELDS = ("carry_over", "outcome", "severity", "note")


def now() -> datetime:
    """The node's clock (UTC)."""
    return datetime.now(UTC)


def typed_fen(text: str, field: str, *, zero: bool) -> int:
    """An amount typed in yuan ("1,200.50"; empty is 0 when `zero` may be) as integer fen, at
    most MAX_FEN (¥10 bn); else InvalidInput naming `field`, which the console shows."""
    cleaned = text.replace(",", "").replace("¥", "").strip() or ("0" if zero else "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(field, f"{text[:40]!r} is not an amount in yuan") from None
    if not value.is_finite() or value < 0 or (value == 0 and not zero):
        raise InvalidInput(field, f"must be an amount in yuan {'≥' if zero else '>'} 0")
    if value > Decimal(MAX_FEN) / 100:  # before quantize, which "1e30" would overflow
        raise InvalidInput(field, f"must be at most ¥{MAX_FEN // 100:,}")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(field, "must be an amount in yuan with at most 2 decimals")
    return int(value * 100)


def fen_or_zero(text: str, field: str = "refused") -> int:
    """An amount typed in yuan ("1,200.50", or empty for 0) as integer fen."""
    return typed_fen(text, field, zero=True)


def case_form(form: dict[str, str]) -> dict[str, Any]:
    """A case action's form as the service's fields (refused typed in yuan)."""
    doc: dict[str, Any] = {k: form[k] for k in CASE_FIELDS if form.get(k)}
    doc["carry_over"] = form.get("carry_over") == "on"
    if "refused" in form:
        doc["refused"] = fen_or_zero(form["refused"])
    return doc


def hit_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hits for a table, newest first, with their rule's name."""
    return [r | {"name": RULES.get(r["rule"], r["rule"])} for r in reversed(rows)]


def add_hub_pages(pages: Pages, store: Any, keys: dict[str, str],
                  flush: Callable[[], None]) -> None:
    """Supervision and Statistics on the hub's console."""
    app = pages.app

    @app.get("/console/supervision", response_class=HTMLResponse, include_in_schema=False)
    async def overview(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)

        def gather() -> dict[str, Any]:
            with store.tx() as tx:
                hits = [dict(r._mapping) for r in tx.rows("supervision_hits", order_by="id")
                        if r.source != "replaced"][-200:]
            return {"cases": svc.cases(store, now()),
                    "tickets": svc.tickets(store, now(), Actor.of(operator)),
                    "hits": hit_rows(hits), "month": str(YearMonth.of(now()).shift(-1))}
        return pages.page(request, "supervision/hub.html", operator,
                          **await run_in_threadpool(gather))

    @app.get("/console/supervision/cases/{case_id}", response_class=HTMLResponse,
             include_in_schema=False)
    async def one_case(request: Request, case_id: str) -> HTMLResponse:
        operator = await pages.operator(request)
        case = await run_in_threadpool(svc.case_doc, store, case_id)
        return pages.page(request, "supervision/case.html", operator, case=case,
                          base="/console/supervision")

    @app.post("/console/supervision/cases", include_in_schema=False)
    async def new_case(request: Request) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            ids = [s for s in form.get("settlements", "").replace(",", " ").split() if s]
            if not ids:
                raise InvalidInput("settlements", "name at least one settlement id")
            flush()
            svc.create_case(store, kind=form.get("kind", "verification"),
                            insured=form.get("insured", ""), treating=form.get("treating", ""),
                            institution="", reason=form.get("reason", ""), settlement_ids=ids,
                            actor=Actor.of(operator), now=now())
        return await pages.act(request, work, "/console/supervision")

    @app.post("/console/supervision/cases/{case_id}/{action}", include_in_schema=False)
    async def case_action(request: Request, case_id: str, action: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            case = svc.act(store, case_id, action, Actor.of(operator), now(), case_form(form))
            if action == "decide":
                svc.note_credit(store, case_id, tell_treating(store, keys, to_doc(case)),
                                now())
        return await pages.act(request, work, f"/console/supervision/cases/{case_id}")

    @app.post("/console/supervision/tickets", include_in_schema=False)
    async def new_ticket(request: Request) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            svc.create_ticket(store, raised_by=form.get("raised_by", ""),
                              raised_to=form.get("raised_to", ""),
                              subject=form.get("subject", ""),
                              settlement_id=form.get("settlement_id", "").strip(),
                              actor=Actor.of(operator), now=now())
        return await pages.act(request, work, "/console/supervision")

    @app.post("/console/supervision/tickets/{ticket_id}/{action}", include_in_schema=False)
    async def ticket_action(request: Request, ticket_id: str, action: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            svc.act_on_ticket(store, ticket_id, action, Actor.of(operator), now(),
                              form.get("note", ""))
        return await pages.act(request, work, "/console/supervision")

    @app.post("/console/supervision/run", include_in_schema=False)
    async def run(request: Request) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            m = YearMonth.parse(form.get("month", ""))
            book = load_threshold_book()
            _, last = batch_svc.month_days(m)
            flush()
            batch_svc.run_hub(store, m, lambda r: book.find(r, last), now(), svc.create_case)
        return await pages.act(request, work, "/console/supervision")

    @app.get("/console/statistics", response_class=HTMLResponse, include_in_schema=False)
    async def stats(request: Request, month: str = "") -> HTMLResponse:
        operator = await pages.operator(request)
        m = YearMonth.parse(month) if month else YearMonth.of(now())
        await run_in_threadpool(flush)
        found = await run_in_threadpool(figures, store, m, now())
        rows = found["by_province"]
        insured = sorted({r["insured"] for r in rows})
        direct = {p: (sum(r["settlements"] for r in rows if r["insured"] == p),
                      sum(r["manual"] for r in rows if r["insured"] == p)) for p in insured}
        charts = [
            {"id": "direct", "type": "bar", "label": "direct %", "max": 100,
             "labels": [region(p) for p in insured],
             "values": [round(100 * d / (d + m_), 1) if d + m_ else 0
                        for d, m_ in direct.values()]},
            {"id": "funds", "type": "bar", "label": "¥",
             "labels": [region(p) for p in insured],
             "values": [sum(r["fund"] for r in rows if r["insured"] == p) // 100
                        for p in insured]},
        ]
        return pages.page(request, "supervision/statistics.html", operator, f=found,
                          month=str(m), charts=script_json(charts))

    @app.post("/console/statistics/collect", include_in_schema=False)
    async def collect(request: Request) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            collect_reports(store, keys, YearMonth.parse(form.get("month", "")), now())
        return await pages.act(request, work, "/console/statistics")


def add_province_pages(pages: Pages, node: Any) -> None:
    """Supervision and Credit on a province's console."""
    app, store, region_ = pages.app, node.store, node.config.region

    def from_hub(path: str) -> tuple[Any, str | None]:
        try:
            return ask_hub(node, "GET", path), None
        except (MedSettleError, OSError) as exc:
            return None, str(exc) or type(exc).__name__

    @app.get("/console/supervision", response_class=HTMLResponse, include_in_schema=False)
    async def overview(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)

        def gather() -> dict[str, Any]:
            cases, problem = from_hub("/supervision/cases")
            tickets, problem2 = from_hub("/supervision/tickets")
            with store.tx() as tx:
                hits = [dict(r._mapping) for r in tx.rows("supervision_hits", order_by="id")
                        if r.source != "replaced"][-200:]
                twice = tx.rows("insured_elsewhere", order_by="found_at")[-200:]
            return {"cases": cases or [], "tickets": tickets or [], "twice": twice[::-1],
                    "problem": problem or problem2, "hits": hit_rows(hits),
                    "month": str(YearMonth.of(node.clock()).shift(-1))}
        return pages.page(request, "supervision/province.html", operator,
                          **await run_in_threadpool(gather))

    @app.get("/console/supervision/cases/{case_id}", response_class=HTMLResponse,
             include_in_schema=False)
    async def one_case(request: Request, case_id: str) -> HTMLResponse:
        operator = await pages.operator(request)
        case, problem = await run_in_threadpool(from_hub, f"/supervision/cases/{case_id}")
        if case is None:
            return pages.page(request, "forbidden.html", operator, message=problem)
        return pages.page(request, "supervision/case.html", operator, case=case,
                          base="/console/supervision")

    def to_hub(path: str, operator: Operator, doc: dict[str, Any]) -> Any:
        return ask_hub(node, "POST", path, doc | {"operator": operator.name})

    @app.post("/console/supervision/cases", include_in_schema=False)
    async def new_case(request: Request) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            ids = [s for s in form.get("settlements", "").replace(",", " ").split() if s]
            if not ids:
                raise InvalidInput("settlements", "name at least one settlement id")
            to_hub("/supervision/cases", operator, {
                "kind": form.get("kind", "verification"), "insured": form.get("insured", ""),
                "treating": form.get("treating", ""), "reason": form.get("reason", ""),
                "settlements": ids})
        return await pages.act(request, work, "/console/supervision")

    @app.post("/console/supervision/cases/{case_id}/{action}", include_in_schema=False)
    async def case_action(request: Request, case_id: str, action: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            to_hub(f"/supervision/cases/{case_id}/{action}", operator, case_form(form))
        return await pages.act(request, work, f"/console/supervision/cases/{case_id}")

    @app.post("/console/supervision/tickets", include_in_schema=False)
    async def new_ticket(request: Request) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            to_hub("/supervision/tickets", operator, {
                "raised_to": form.get("raised_to", ""), "subject": form.get("subject", ""),
                "settlement_id": form.get("settlement_id", "").strip()})
        return await pages.act(request, work, "/console/supervision")

    @app.post("/console/supervision/tickets/{ticket_id}/{action}", include_in_schema=False)
    async def ticket_action(request: Request, ticket_id: str, action: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            to_hub(f"/supervision/tickets/{ticket_id}/{action}", operator,
                   {"note": form.get("note", "")})
        return await pages.act(request, work, "/console/supervision")

    @app.post("/console/supervision/run", include_in_schema=False)
    async def run(request: Request) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            m = YearMonth.parse(form.get("month", ""))
            result = run_batch(node, m)
            with store.tx() as tx:
                audit.record(tx, Actor.of(operator), "supervision.run", str(m), None, result,
                             node.clock())
        return await pages.act(request, work, "/console/supervision")

    @app.get("/console/credit", response_class=HTMLResponse, include_in_schema=False)
    async def credits(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)

        def read() -> Any:
            with store.tx() as tx:
                return credit.credits(tx)
        rows = await run_in_threadpool(read)
        return pages.page(request, "supervision/credit.html", operator, rows=rows)

    @app.post("/console/credit/{code}/reinstate", include_in_schema=False)
    async def reinstate(request: Request, code: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            run_audited(store, Actor.of(operator), "credit.reinstate", code,
                        lambda tx: credit.reinstate(tx, code, form.get("note", ""),
                                                    node.clock(), operator.name),
                        node.clock(), lambda tx: held_row_of(tx, "institution_credit",
                                                        fixmedins_code=code))
        return await pages.act(request, work, "/console/credit")

    @app.post("/console/persons/direct-settlement", include_in_schema=False)
    async def bar(request: Request) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            psn_no = form.get("psn_no", "").strip()
            barred = form.get("barred") == "yes"
            if form.get("province", region_) != region_:
                raise Forbidden(f"{operator.name} works for {region_}")
            run_audited(store, Actor.of(operator),
                        "person.terminate" if barred else "person.restore", psn_no,
                        lambda tx: credit.bar_person(tx, psn_no, barred,
                                                     form.get("reason", "")),
                        node.clock())
        return await pages.act(request, work, "/console/credit")
