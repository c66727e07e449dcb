"""The hub's console: dashboard with charts, the node board, clearing with its statements,
prepayment, settlement search and drill-down across the nodes, the audit log.

Hub operators act; auditors of the hub read. Every action goes through the same services as the
JSON API and is recorded in the hub's audit log in its own transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.db import console_queries as q
from medsettle.adapters.db.store import Store
from medsettle.adapters.peers import SignedClient
from medsettle.adapters.web.app import Pages, install
from medsettle.adapters.web.render import Console, region, script_json
from medsettle.adapters.web.supervision_pages import add_hub_pages as add_supervision_pages
from medsettle.adapters.web.supervision_pages import typed_fen
from medsettle.core.clearing import YearMonth, to_dict
from medsettle.core.errors import InvalidInput, MedSettleError
from medsettle.core.operators import Operator
from medsettle.services import clearing as clearing_svc
from medsettle.services import console as view
from medsettle.services import hub as hub_svc
from medsettle.services.audit import Actor

NAV = [("/console", "Dashboard"), ("/console/nodes", "Nodes"), ("/console/clearing", "Clearing"),
       ("/console/prepayment", "Prepayment"), ("/console/supervision", "Supervision"),
       ("/console/statistics", "Statistics"), ("/console/search", "Search"),
       ("/console/audit", "Audit log")]
ACTIONS = ("confirm_insured", "confirm_treating", "dispute", "redraft", "paid")


def now() -> datetime:
    """The hub's clock (UTC)."""
    return datetime.now(UTC)


def fen_of(text: str, field: str = "amount") -> int:
    """An amount typed in yuan ("1,200.50"), positive and at most MAX_FEN, as integer fen;
    InvalidInput naming the field."""
    return typed_fen(text, field, zero=False)


def add_hub_console(app: FastAPI, store: Store, keys: dict[str, str],
                    stale_after: timedelta) -> None:
    """Serve the hub's console under /console."""
    console = Console("hub", None, "National hub", NAV, cookie="medsettle_session_hub")

    def flush() -> None:
        journal = getattr(app.state, "journal", None)
        if journal is not None:
            journal.flush()

    def add(pages: Pages) -> None:
        _dashboard(pages, store, flush)
        _nodes(pages, store, stale_after)
        _clearing(pages, store, keys, flush)
        _search(pages, store, keys, flush)
        add_supervision_pages(pages, store, keys, flush)

    install(app, store, console, add)


def _dashboard(pages: Pages, store: Store, flush: Any) -> None:
    @pages.app.get("/console", response_class=HTMLResponse, include_in_schema=False)
    async def dashboard(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)

        def gather() -> dict[str, Any]:
            flush()
            moment = now()
            month = YearMonth.of(moment)
            start, end = month.bounds()
            hours = view.hourly(q.settle_times(store.engine, moment - timedelta(hours=24)),
                                moment)
            rates = view.settle_rates(q.settle_outcomes(store.engine,
                                                        moment - timedelta(days=31)))
            with store.tx() as tx:
                flow = view.money_flow(tx.index_totals(start, end))
            accounts = clearing_svc.accounts(store)
            return {"hours": hours, "rates": rates, "flow": flow, "accounts": accounts,
                    "month": str(month)}
        data = await run_in_threadpool(gather)
        charts = [
            {"id": "hourly", "type": "line", "label": "settlements",
             "labels": [h["hour"] for h in data["hours"]],
             "values": [h["count"] for h in data["hours"]]},
            {"id": "rates", "type": "bar", "label": "rate %", "max": 100,
             "labels": [region(r["province"]) for r in data["rates"]],
             "values": [round(r["rate"] * 100, 1) for r in data["rates"]]},
            {"id": "prepayment", "type": "bar", "label": "usage %",
             "labels": [region(a["province"]) for a in data["accounts"]],
             "values": [round(float(a["usage"]) * 100, 1) for a in data["accounts"]],
             "colors": ["#b42318" if a["level"] == "critical" else "#9a6700"
                        if a["level"] == "warning" else "#1a7f37" for a in data["accounts"]]},
        ]
        return pages.page(request, "hub/dashboard.html", operator, charts=script_json(charts),
                          **data)


def _nodes(pages: Pages, store: Store, stale_after: timedelta) -> None:
    def board() -> list[dict[str, Any]]:
        with store.tx() as tx:
            return hub_svc.board(tx, now(), stale_after)

    @pages.app.get("/console/nodes", response_class=HTMLResponse, include_in_schema=False)
    async def nodes(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        return pages.page(request, "hub/nodes.html", operator, nodes=board(), checked=now())

    @pages.app.get("/console/nodes/board", response_class=HTMLResponse, include_in_schema=False)
    async def nodes_board(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        return pages.page(request, "hub/nodes_board.html", operator, nodes=board(),
                          checked=now())


def _clearing(pages: Pages, store: Store, keys: dict[str, str], flush: Any) -> None:
    app = pages.app

    @app.get("/console/clearing", response_class=HTMLResponse, include_in_schema=False)
    async def months(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        cleared = q.cleared_months(store.engine)
        summaries = [clearing_svc.clearing_summary(store, m) for m in cleared]
        previous = str(YearMonth.of(now()).shift(-1))
        return pages.page(request, "hub/clearing.html", operator, summaries=summaries,
                          suggested=previous, adjustments=clearing_svc.adjustments(store))

    @app.post("/console/clearing/run", include_in_schema=False)
    async def run(request: Request) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            month = YearMonth.parse(form.get("month", ""))
            flush()
            clearing_svc.run_clearing(store, month, now(), actor=Actor.of(operator))
        return await pages.act(request, work, "/console/clearing")

    @app.get("/console/clearing/{month}", response_class=HTMLResponse, include_in_schema=False)
    async def month_page(request: Request, month: str) -> HTMLResponse:
        operator = await pages.operator(request)
        m = YearMonth.parse(month)
        statements = [to_dict(s) for s in clearing_svc.all_statements(store, m)]
        return pages.page(request, "hub/clearing_month.html", operator, month=str(m),
                          summary=clearing_svc.clearing_summary(store, m),
                          statements=statements, adjustments=clearing_svc.adjustments(store, m))

    @app.post("/console/clearing/{month}/{province}/{action}", include_in_schema=False)
    async def statement_action(request: Request, month: str, province: str,
                               action: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> str | None:
            if action not in ACTIONS:
                raise InvalidInput("action", f"must be one of {', '.join(ACTIONS)}")
            m, actor, at = YearMonth.parse(month), Actor.of(operator), now()
            if action.startswith("confirm_"):
                clearing_svc.confirm(store, m, province, action.removeprefix("confirm_"),
                                     actor, at)
            elif action == "dispute":
                reason = form.get("reason", "").strip()
                if not reason:
                    raise InvalidInput("reason", "say why the statement is disputed")
                clearing_svc.dispute(store, m, province, reason, actor, at)
            elif action == "redraft":
                clearing_svc.redraft(store, m, province, actor, at)
            else:
                clearing_svc.mark_paid(store, m, province, at, actor)
                if tell_province(store, keys, province, str(m)) is None:
                    return NOT_TOLD
            return None
        return await pages.act(request, work, f"/console/clearing/{month}")

    @app.get("/console/prepayment", response_class=HTMLResponse, include_in_schema=False)
    async def prepayment(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        accounts = clearing_svc.accounts(store)
        return pages.page(request, "hub/prepayment.html", operator, accounts=accounts,
                          warnings=[a for a in accounts if a["level"] != "ok"])

    @app.post("/console/prepayment/{province}/topup", include_in_schema=False)
    async def topup(request: Request, province: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            amount = fen_of(form.get("amount", ""))
            reference = clearing_svc.payment_reference(form.get("reference", "").strip())
            clearing_svc.top_up(store, province, amount, now(), clearing_svc.RULE,
                                Actor.of(operator), reference=reference)
        return await pages.act(request, work, "/console/prepayment")


#: The console's word when a statement is paid but its province could not be told.
NOT_TOLD = ("Marked paid, but the province could not be told to pay its institutions: press "
            "Paid again once it is up (each institution is paid once).")


def tell_province(store: Store, keys: dict[str, str], province: str, month: str
                  ) -> dict[str, Any] | None:
    """After marking a statement paid: the province pays its institutions (best effort, as the
    JSON route does); None if it could not be told."""
    from medsettle.adapters.api.hub_clearing import tell_province_to_pay_institutions
    return tell_province_to_pay_institutions(store, keys, province, month)


def _search(pages: Pages, store: Store, keys: dict[str, str], flush: Any) -> None:
    app = pages.app

    @app.get("/console/search", response_class=HTMLResponse, include_in_schema=False)
    async def search(request: Request, q_: str = "") -> HTMLResponse:
        operator = await pages.operator(request)
        text = (request.query_params.get("q") or q_).strip()
        await run_in_threadpool(flush)
        found = q.search_index(store.engine, text) if text else q.recent_index(store.engine)
        return pages.page(request, "hub/search.html", operator, q=text, rows=found)

    @app.get("/console/settlements/{setl_id}", response_class=HTMLResponse,
             include_in_schema=False)
    async def settlement(request: Request, setl_id: str) -> HTMLResponse:
        operator = await pages.operator(request)
        await run_in_threadpool(flush)
        family = q.index_family(store.engine, setl_id)
        if not family:
            return pages.page(request, "hub/settlement.html", operator, setl_id=setl_id,
                              family=[], nodes=[])
        first = family[0]
        regions = sorted({f"{first['mdtrtarea_admvs'][:2]}0000",
                          f"{first['insu_admdvs'][:2]}0000"})
        nodes = await run_in_threadpool(
            lambda: [drill(store, keys, region, setl_id) for region in regions])
        return pages.page(request, "hub/settlement.html", operator, setl_id=setl_id,
                          family=family, nodes=nodes)


def drill(store: Store, keys: dict[str, str], region: str, setl_id: str) -> dict[str, Any]:
    """Ask province `region` (hub-signed) for its records, lines, explanation and ledger
    entries of a settlement, with the proof of each entry against the hub's anchors."""
    anchors = q.anchors_of(store.engine, region)
    last = sorted(anchors.items())[-20:]
    query = "anchors=" + ",".join(f"{s}:{h}" for s, h in last) if last else ""
    path = f"/fed/v1/console/settlements/{setl_id}"
    client = SignedClient("hub", 5.0, pool=1)
    try:
        with store.tx() as tx:
            endpoint = hub_svc.endpoint_of(tx, region)
        answer = client.request("GET", endpoint, path, keys[region], query=query,
                                peer=f"province {region}")
        if not answer.get("ok"):
            error = answer.get("error") or {}
            return {"region": region, "error": str(error.get("message", "refused"))}
        result = answer["result"]
        return {"region": region, **result}
    except (MedSettleError, KeyError) as exc:
        return {"region": region, "error": str(exc) or type(exc).__name__}
    finally:
        client.close()
