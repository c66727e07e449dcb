"""A province console's parameter-set pages (参保地政策): what the node serves today, an upload
that proposes a set, and a set's review page with its difference against the set in force and
the approve / reject buttons of a second operator (four eyes), and the withdrawal of an approved
set before it takes effect. Every page that shows a set shows
its provenance notice (sample parameters or official)."""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from medsettle.adapters.api.auth import session_of
from medsettle.adapters.files import parse_document
from medsettle.adapters.web.app import Pages
from medsettle.adapters.web.console_errors import console_error
from medsettle.adapters.web.render import language
from medsettle.core.calendar import business_date
from medsettle.core.errors import InvalidInput, MedSettleError, PolicyInvalid, PolicyNotInForce
from medsettle.core.operators import Operator
from medsettle.core.policy import SCHEMES, ParameterSet
from medsettle.core.policy_view import describe, notices
from medsettle.core.served import ServedBook
from medsettle.services import policy_sets as svc

if TYPE_CHECKING:
    from medsettle.adapters.province_node import ProvinceNode

#: The largest document an upload may be (the shipped sets are about 10 KB).
MAX_UPLOAD = 1_000_000


def served_today(book: ServedBook, province: str, on: date) -> list[dict[str, Any]]:
    """For each region of the province with a set and each scheme: the set in force on `on`,
    where it comes from (an approved set of this node, or the seed) and its notice."""
    rows: list[dict[str, Any]] = []
    for region in (r for r in book.regions() if r[:2] == province[:2]):
        for scheme in SCHEMES:
            try:
                ps = book.find(region, scheme, on)
            except PolicyNotInForce as exc:
                rows.append({"region": region, "scheme": scheme, "missing": str(exc)})
                continue
            rows.append({"region": region, "scheme": scheme, "set": ps, "loaded": _row_of(ps),
                         "notice": notices(ps)})
    return rows


def _row_of(ps: ParameterSet) -> int | None:
    """The policy_sets row a served set was loaded from (None: the seed)."""
    head = ps.source.partition(" ")[0]
    return int(head.removeprefix("policy_sets#")) if head.startswith("policy_sets#") else None


def add_policy_pages(pages: Pages, node: ProvinceNode) -> None:
    """Serve /console/policies and /console/policies/{id} on a province's console."""
    app, store, region = pages.app, node.store, node.config.region

    def listing(request: Request, operator: Operator, *, errors: list[str] | None = None,
                status: int = 200, upload: str = "") -> HTMLResponse:
        with store.tx() as tx:
            stored = svc.listing(tx)
        today = business_date(node.clock())
        response = pages.page(request, "province/policies.html", operator, stored=stored,
                              served=served_today(node.book, region, today), today=today,
                              errors=errors or [], upload=upload)
        response.status_code = status
        return response

    @app.get("/console/policies", response_class=HTMLResponse, include_in_schema=False)
    async def policies(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        return await run_in_threadpool(listing, request, operator)

    @app.post("/console/policies", include_in_schema=False)
    async def upload(request: Request) -> Response:
        operator = await pages.operator(request)  # a writer, CSRF checked
        form = await request.form()
        document = form.get("document")
        name = ""
        try:
            if not isinstance(document, UploadFile) or not document.filename:
                raise InvalidInput("document", "choose a parameter-set file (YAML) to upload")
            name = document.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1][:200]
            if not name.isprintable():  # a NUL or other control character: not a file's name
                name = ""
                raise InvalidInput("document", "the file's name holds control characters")
            data = await document.read(MAX_UPLOAD + 1)
            if len(data) > MAX_UPLOAD:
                raise InvalidInput("document", f"is larger than {MAX_UPLOAD:,} bytes")
            doc = parse_document(data, name)
            proposed = await run_in_threadpool(svc.propose, store, doc, name, operator,
                                               node.clock(), region, node.book)
        except PolicyInvalid as exc:
            errors = [f"{e.key}: {e.message}" for e in exc.errors]
        except MedSettleError as exc:
            errors = [console_error(exc, language(request))]
        else:
            errors = []
        if errors:
            return await run_in_threadpool(partial(listing, request, operator, errors=errors,
                                                   status=400, upload=name))
        session_of(request)["flash"] = {
            "ok": True, "text": "Proposed. A second operator of the province approves it "
                                "(four eyes)."}
        return RedirectResponse(f"/console/policies/{proposed['id']}", status_code=303)

    @app.get("/console/policies/{set_row}", response_class=HTMLResponse,
             include_in_schema=False)
    async def review(request: Request, set_row: int) -> HTMLResponse:
        operator = await pages.operator(request)

        def gather() -> svc.Review:
            with store.tx() as tx:
                return svc.review(tx, node.book, set_row, region)
        found = await run_in_threadpool(gather)
        return pages.page(request, "province/policy.html", operator, review=found,
                          values=describe(found.parameters),
                          today=business_date(node.clock()))

    @app.post("/console/policies/{set_row}/{action}", include_in_schema=False)
    async def decide(request: Request, set_row: int, action: str) -> Response:
        def work(operator: Operator, form: dict[str, str]) -> None:
            if action == "approve":
                svc.approve(store, node.book, set_row, operator, node.clock(), region)
            elif action == "reject":
                svc.reject(store, set_row, operator, form.get("reason", ""), node.clock(),
                           region)
            elif action == "withdraw":
                svc.withdraw(store, node.book, set_row, operator, form.get("reason", ""),
                             node.clock(), region)
            else:
                raise InvalidInput("action", "must be approve, reject or withdraw")
        return await pages.act(request, work, f"/console/policies/{set_row}")
