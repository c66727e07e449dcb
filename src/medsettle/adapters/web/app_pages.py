"""The insured person's app (参保人服务): mobile-first pages under /app, served by the insured
province's node, Chinese first with an English switch. Every page shows what the app's JSON
API answers (adapters/api/person_app.py: the same operation); every form posts here, runs that
operation and comes back with "Done." or the error in the person's language, the form refilled,
nothing changed.

Sign-in and the session are the JSON API's (adapters/api/person.py): ID number and a one-time
code, a session that ends after 15 idle minutes or 2 hours, the CSRF token on every form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import check_csrf, csrf_token, session_of
from medsettle.adapters.api.person import (
    add_person_routes,
    sign_out,
    signed_in,
    start_session,
)
from medsettle.adapters.api.person_app import PersonApp
from medsettle.adapters.province_node import ProvinceNode
from medsettle.adapters.web.app_i18n import error_text, translate
from medsettle.adapters.web.render import ENV, language
from medsettle.core import codes
from medsettle.core.errors import AuthenticationFailed, Forbidden, MedSettleError, NotFound
from medsettle.core.explain import FIELD_LABELS
from medsettle.core.explain_zh import FIELD_LABELS_ZH
from medsettle.core.filing import REQUIRED_MATERIALS, FilingCategory
from medsettle.services import my_filings
from medsettle.services.directory import LEVELS
from medsettle.services.person_scope import RELATIONSHIPS

logger = logging.getLogger(__name__)
NAV = [("/app", "Home"), ("/app/filings", "Filing"), ("/app/settlements", "Settlements"),
       ("/app/voucher", "E-voucher"), ("/app/year", "Me")]
CATEGORIES = [c.value for c in FilingCategory if c is not FilingCategory.EMERGENCY]
#: The chronic diseases a person can search and estimate (domain.md §4, the national five).
CHRONIC = {"M03900": "高血压", "M01600": "糖尿病", "M00503": "恶性肿瘤门诊放化疗",
           "M07803": "尿毒症透析（血透）", "M07804": "尿毒症透析（腹透）", "M08300": "器官移植术后抗排异"}


class Redirect(Exception):
    """Leave the page for another (sign in first)."""

    def __init__(self, target: str) -> None:
        self.target = target


def _cities() -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for code, name in codes.PREFECTURES.items():
        found.setdefault(code[:2] + "0000", []).append((code, name))
    return found


CITIES = _cities()


def place(code: object) -> str:
    """A region as a person names it: 杭州市, 浙江 (a whole province), else 浙江 330106."""
    text = str(code or "")
    if text in codes.PREFECTURES:
        return codes.PREFECTURES[text]
    if text in codes.PROVINCES:
        return codes.PROVINCES[text]
    province = codes.PROVINCES.get(text[:2] + "0000")
    return f"{province} {text}" if province else text


ENV.filters["place"] = place


def add_person_app(node: ProvinceNode, app: FastAPI) -> PersonApp:
    """The app's JSON API and pages on a province node (after the console: its sessions)."""
    api = PersonApp(node)
    add_person_routes(app, api)
    _pages(app, api, node.config.region)
    return api


class Pages:
    """What every page of the app needs."""

    def __init__(self, api: PersonApp, region: str) -> None:
        self.api = api
        self.region = region

    def me(self, request: Request) -> str:
        """The signed-in person, or off to the sign-in page (saying why if it expired)."""
        try:
            return signed_in(request, self.api)
        except AuthenticationFailed as exc:
            if "expired" in str(exc):
                session_of(request)["flash"] = {"ok": False,
                                                "text": "Your session expired: sign in again."}
            target = quote(request.url.path + (f"?{request.url.query}"
                                               if request.url.query else ""))
            raise Redirect(f"/app/login?next={target}") from None

    def render(self, request: Request, template: str, me: str | None = None, *,
               status: int = 200, **context: Any) -> HTMLResponse:
        lang = language(request)
        session = session_of(request)
        flash = session.pop("flash", None)
        form = session.pop("form", None) or {}
        profile = self.api.profile(me) if me else None
        acting = [f for f in (profile or {}).get("family", [])
                  if f["i_am"] == "agent" and f["status"] == "active"]
        html = ENV.get_template(template).render(
            request=request, lang=lang, _=lambda text: translate(text, lang), csrf=csrf_token(request),
            flash=flash, form=form, path=request.url.path, me=profile, acting=acting,
            nav=NAV, region_code=self.region, provinces=codes.PROVINCES, cities=CITIES,
            levels=LEVELS, chronic=CHRONIC, **context)
        return HTMLResponse(html, status_code=status)

    async def act(self, request: Request, work: Callable[[str, dict[str, str]], Any],
                  back: str, done: str | Callable[[Any], str] | None = None) -> Response:
        """A form's action: CSRF, the operation, then `done` (or back) with "Done."; on an
        error, back to the form with the error in the person's language and its values."""
        me = self.me(request)
        form = await form_of(request)
        lang = language(request)
        try:
            await check_csrf(request)
            result = await run_in_threadpool(work, me, form)
        except MedSettleError as exc:
            logger.info("app form refused", extra={"path": request.url.path, "code": exc.code})
            session_of(request)["flash"] = {"ok": False, "text": error_text(exc, lang),
                                            "field": getattr(exc, "field", None)}
            session_of(request)["form"] = {k: v[:200] for k, v in form.items()
                                           if k != "csrf_token"}
            return RedirectResponse(back, status_code=303)
        session_of(request)["flash"] = {"ok": True, "text": "Done."}
        target = done(result) if callable(done) else (done or back)
        return RedirectResponse(target, status_code=303)


async def form_of(request: Request) -> dict[str, str]:
    """A posted form as one string per field (a repeated field, like checkboxes, joined by
    commas)."""
    data = await request.form()
    return {key: ",".join(v for v in data.getlist(key) if isinstance(v, str))
            for key in data.keys()}


def _of(request: Request) -> str | None:
    return request.query_params.get("for") or None


def _pages(app: FastAPI, api: PersonApp, region: str) -> None:
    pages = Pages(api, region)

    @app.exception_handler(Redirect)
    async def redirect(_: Request, exc: Redirect) -> Response:
        return RedirectResponse(exc.target, status_code=303)

    _sign_in(app, pages)
    _filing_pages(app, pages)
    _search_pages(app, pages)
    _money_pages(app, pages)

    @app.get("/app", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request) -> HTMLResponse:
        me = pages.me(request)
        filings = api.filings(me, None)
        return pages.render(request, "app/home.html", me,
                            filings=[f for f in filings if f["status"] in ("approved",
                                                                          "pending")])

    @app.get("/app/lang/{lang}", include_in_schema=False)
    def switch(request: Request, lang: str, next: str = "/app") -> Response:
        if lang in ("zh", "en"):
            session_of(request)["lang"] = lang
        safe = next if next.startswith("/app") and "//" not in next else "/app"
        return RedirectResponse(safe, status_code=303)

    @app.get("/app/family", response_class=HTMLResponse, include_in_schema=False)
    def family(request: Request) -> HTMLResponse:
        me = pages.me(request)
        return pages.render(request, "app/family.html", me, links=api.family(me),
                            relationships=RELATIONSHIPS)

    @app.post("/app/family", include_in_schema=False)
    async def ask(request: Request) -> Response:
        return await pages.act(request, lambda me, form: api.ask_family(me, form), "/app/family")

    @app.post("/app/family/{link_id}/{action}", include_in_schema=False)
    async def decide(request: Request, link_id: int, action: str) -> Response:
        return await pages.act(request, lambda me, form: api.decide_family(me, link_id, action),
                               "/app/family")


def _sign_in(app: FastAPI, pages: Pages) -> None:
    api = pages.api

    @app.get("/app/login", response_class=HTMLResponse, include_in_schema=False)
    def login(request: Request, next: str = "/app") -> HTMLResponse:
        return pages.render(request, "app/login.html", next=_safe(next), step="id")

    @app.post("/app/login/code", include_in_schema=False)
    async def send(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        lang = language(request)
        nxt = _safe(form.get("next"))
        try:
            await check_csrf(request)
            sent = await run_in_threadpool(api.send_code, form)
        except MedSettleError as exc:
            return pages.render(request, "app/login.html", next=nxt, step="id",
                                error=error_text(exc, lang), certno=form.get("certno", ""))
        return pages.render(request, "app/login.html", next=nxt, step="code",
                            certno=form.get("certno", "").strip().upper(),
                            demo_code=sent.get("demo_code"))

    @app.post("/app/login", include_in_schema=False)
    async def verify(request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        lang = language(request)
        nxt = _safe(form.get("next"))
        try:
            await check_csrf(request)
            person = await run_in_threadpool(api.verify, form)
        except MedSettleError as exc:
            return pages.render(request, "app/login.html", next=nxt, step="code", status=401,
                                error=error_text(exc, lang), certno=form.get("certno", ""))
        start_session(request, person.psn_no, api.now().timestamp())
        return RedirectResponse(nxt, status_code=303)

    @app.post("/app/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        await check_csrf(request)
        await sign_out(request, api)
        return RedirectResponse("/app/login", status_code=303)


def _safe(value: object) -> str:
    text = str(value or "/app")
    return text if text.startswith("/app") and "//" not in text and "\\" not in text else "/app"


def _filing_pages(app: FastAPI, pages: Pages) -> None:
    api = pages.api

    @app.get("/app/filings", response_class=HTMLResponse, include_in_schema=False)
    def filings(request: Request) -> HTMLResponse:
        me = pages.me(request)
        of = _of(request)
        rows = _guarded(lambda: api.filings(me, of))
        return pages.render(request, "app/filings.html", me, filings=rows, of=of,
                            categories=CATEGORIES, materials=REQUIRED_MATERIALS,
                            today=api.today().isoformat())

    @app.post("/app/filings", include_in_schema=False)
    async def file(request: Request) -> Response:
        def work(me: str, form: dict[str, str]) -> dict[str, Any]:
            return api.file(me, filing_form(form))
        return await pages.act(request, work, "/app/filings",
                               lambda made: f"/app/filings/{made['filing_no']}")

    @app.get("/app/filings/{filing_no}", response_class=HTMLResponse, include_in_schema=False)
    def filing(request: Request, filing_no: str) -> HTMLResponse:
        me = pages.me(request)
        try:
            with api.store.tx() as tx:
                owner = my_filings.own_filing(tx, me, filing_no).psn_no
        except NotFound:
            return pages.render(request, "app/missing.html", me, status=404)
        found = next(f for f in api.filings(me, owner) if f["filing_no"] == filing_no)
        return pages.render(request, "app/filing.html", me, f=found,
                            mine=owner == me, owner=owner)

    @app.post("/app/filings/{filing_no}/change", include_in_schema=False)
    async def change(request: Request, filing_no: str) -> Response:
        return await pages.act(
            request, lambda me, form: api.change_filing(me, filing_no, form.get("destination")),
            f"/app/filings/{filing_no}", lambda made: f"/app/filings/{made['filing_no']}")

    @app.post("/app/filings/{filing_no}/cancel", include_in_schema=False)
    async def cancel(request: Request, filing_no: str) -> Response:
        return await pages.act(request, lambda me, form: api.cancel_filing(me, filing_no),
                               f"/app/filings/{filing_no}")


def filing_form(form: dict[str, str]) -> dict[str, Any]:
    """The filing form as the JSON API's document."""
    doc: dict[str, Any] = {"category": form.get("category", ""),
                           "destination": form.get("destination") or form.get("province", ""),
                           "commitment": form.get("commitment") == "on",
                           "materials": [m for m in form.get("materials", "").split(",") if m]}
    for name in ("start", "for", "admission_date"):
        if form.get(name):
            doc[name] = form[name]
    if form.get("after_the_fact") == "on":
        doc["after_the_fact"] = True
        doc["discharge_settled"] = form.get("discharge_settled") == "on"
    return doc


def _guarded(read: Callable[[], Any]) -> Any:
    """A read for a page: another person's data is refused as a page, not as JSON."""
    try:
        return read()
    except Forbidden as exc:
        raise _NotYours(str(exc)) from None


class _NotYours(Exception):
    """The person asked for someone else's data."""


def _search_pages(app: FastAPI, pages: Pages) -> None:
    api = pages.api

    @app.exception_handler(_NotYours)
    async def not_yours(request: Request, exc: _NotYours) -> Response:
        return pages.render(request, "app/missing.html", pages.me(request), status=403,
                            forbidden=True)

    @app.get("/app/institutions", response_class=HTMLResponse, include_in_schema=False)
    async def institutions(request: Request) -> HTMLResponse:
        me = pages.me(request)
        query = dict(request.query_params)
        found, error = None, None
        if query.get("region"):
            try:
                found = await run_in_threadpool(api.institutions, me, query)
            except MedSettleError as exc:
                error = error_text(exc, language(request))
        template = ("app/institutions_results.html" if request.headers.get("hx-request")
                    else "app/institutions.html")
        return pages.render(request, template, me, query=query, found=found, error=error)

    @app.get("/app/estimate", response_class=HTMLResponse, include_in_schema=False)
    async def estimate(request: Request) -> HTMLResponse:
        me = pages.me(request)
        query = dict(request.query_params)
        result, diffs, error = None, None, None
        lang = language(request)
        if query.get("region"):
            try:
                result = await run_in_threadpool(api.estimate, me, query, lang)
                diffs = await run_in_threadpool(api.differences, me, query.get("region"), lang)
            except MedSettleError as exc:
                error = error_text(exc, lang)
        return pages.render(request, "app/estimate.html", me, query=query, result=result,
                            diffs=diffs, error=error,
                            labels=FIELD_LABELS_ZH if lang == "zh" else FIELD_LABELS)


def _money_pages(app: FastAPI, pages: Pages) -> None:
    api = pages.api

    @app.get("/app/year", response_class=HTMLResponse, include_in_schema=False)
    def year(request: Request) -> HTMLResponse:
        me = pages.me(request)
        of = _of(request)
        return pages.render(request, "app/year.html", me, year=_guarded(lambda: api.year(me, of)),
                            of=of)

    @app.get("/app/settlements", response_class=HTMLResponse, include_in_schema=False)
    def settlements(request: Request) -> HTMLResponse:
        me = pages.me(request)
        of = _of(request)
        return pages.render(request, "app/settlements.html", me, of=of,
                            rows=_guarded(lambda: api.settlements(me, of)))

    @app.get("/app/settlements/{setl_id}", response_class=HTMLResponse, include_in_schema=False)
    async def settlement(request: Request, setl_id: str) -> HTMLResponse:
        me = pages.me(request)
        try:
            view = await run_in_threadpool(api.settlement, me, setl_id, language(request))
        except NotFound:
            return pages.render(request, "app/missing.html", me, status=404)
        return pages.render(request, "app/settlement.html", me, s=view,
                            printed=datetime.now().astimezone())

    @app.get("/app/claims", response_class=HTMLResponse, include_in_schema=False)
    def claims(request: Request) -> HTMLResponse:
        me = pages.me(request)
        of = _of(request)
        return pages.render(request, "app/claims.html", me, of=of,
                            rows=_guarded(lambda: api.claims(me, of)),
                            today=api.today().isoformat())

    @app.post("/app/claims", include_in_schema=False)
    async def claim(request: Request) -> Response:
        return await pages.act(request, lambda me, form: api.submit_claim(me, form),
                               "/app/claims")

    @app.get("/app/voucher", response_class=HTMLResponse, include_in_schema=False)
    def voucher(request: Request) -> HTMLResponse:
        return pages.render(request, "app/voucher.html", pages.me(request))

    @app.post("/app/voucher/code", response_class=HTMLResponse, include_in_schema=False)
    async def voucher_code(request: Request) -> HTMLResponse:
        me = pages.me(request)
        await check_csrf(request)
        issued = await run_in_threadpool(api.voucher, me)
        return pages.render(request, "app/voucher_code.html", me, v=issued)
