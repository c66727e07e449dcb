"""Mount the console on a node's FastAPI app: signed session cookies, sign-in and sign-out, the
language switch, static files, Swagger UI served from the node itself, and the helpers the
hub's and a province's pages share (who is signed in, form actions with CSRF and audit).

Sessions are Starlette's signed cookies (itsdangerous) with a secret kept in the node's own
database (services/settings.py); the cookie's name carries the node, so the consoles of nodes
on one host (cookies ignore ports) never read each other's. A session holds the operator's id,
the CSRF token and the language; the operator is read again on every request, so disabling
them ends their session.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Route

from medsettle.adapters.api.auth import (
    SESSION_OPERATOR,
    authenticate,
    check_csrf,
    session_of,
)
from medsettle.adapters.web.console_errors import console_error
from medsettle.adapters.web.i18n import LANGUAGES
from medsettle.adapters.web.render import HERE, Console, language, render
from medsettle.core.errors import AuthenticationFailed, Forbidden, MedSettleError
from medsettle.core.operators import NodeRole, Operator
from medsettle.services import audit
from medsettle.services import operators as operator_svc
from medsettle.services.ports import Database
from medsettle.services.settings import session_secret

logger = logging.getLogger(__name__)
SESSION_HOURS = 8
VENDOR = "/static/vendor"
SWAGGER = f"{VENDOR}/swagger-ui-5.35.0"


class PageResponse(Exception):
    """A page that must answer otherwise: sign in first, or forbidden."""

    def __init__(self, response: Response) -> None:
        self.response = response


def safe_next(value: object, default: str = "/console") -> str:
    """A redirect target inside the console only (never another site)."""
    text = str(value or "")
    return text if text.startswith("/console") and "//" not in text and "\\" not in text \
        else default


class Pages:
    """What every console page of one node needs: its store, who it is, and the helpers."""

    def __init__(self, app: FastAPI, store: Database, console: Console) -> None:
        self.app = app
        self.store = store
        self.console = console

    @property
    def node_role(self) -> NodeRole:
        return "hub" if self.console.role == "hub" else "province"

    async def operator(self, request: Request) -> Operator:
        """The signed-in operator of this node, admitted for the request's method (a POST
        also needs the CSRF token); else the sign-in page, or a 403 page."""
        try:
            if SESSION_OPERATOR not in session_of(request):
                raise AuthenticationFailed("not signed in")
            return await authenticate(request, self.store, self.node_role, self.console.region)
        except AuthenticationFailed:
            target = quote(request.url.path + (f"?{request.url.query}"
                                               if request.url.query else ""))
            raise PageResponse(RedirectResponse(f"/console/login?next={target}",
                                                status_code=303)) from None
        except Forbidden as exc:
            raise PageResponse(render(request, self.console, "forbidden.html", status=403,
                                      message=str(exc))) from None

    def page(self, request: Request, template: str, operator: Operator,
             **context: Any) -> HTMLResponse:
        """A page of this console."""
        return render(request, self.console, template, operator=operator, **context)

    async def act(self, request: Request, work: Callable[[Operator, dict[str, str]], Any],
                  back: str) -> Response:
        """A form's action: the operator (writing, CSRF checked), `work(operator, form)` run,
        then back to `back` with a flash message: "Done." (or the warning `work` returns, for
        what was done only in part) or the error, which changed nothing."""
        operator = await self.operator(request)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        try:
            warning = await run_in_threadpool(work, operator, form)
            flash = ({"ok": False, "text": warning} if isinstance(warning, str)
                     else {"ok": True, "text": "Done."})
        except Forbidden as exc:
            return render(request, self.console, "forbidden.html", status=403, message=str(exc),
                          operator=operator)
        except MedSettleError as exc:
            logger.info("console action refused", extra={"operator": operator.name,
                                                         "path": request.url.path,
                                                         "why": str(exc)})
            flash = {"ok": False, "text": console_error(exc, language(request))}
        session_of(request)["flash"] = flash
        return RedirectResponse(safe_next(form.get("next"), back), status_code=303)


def install(app: FastAPI, store: Database, console: Console,
            add_pages: Callable[[Pages], None]) -> Pages:
    """Add the console to `app`: sessions, sign-in, static files, offline /docs, the pages."""
    app.add_middleware(SessionMiddleware, secret_key=session_secret(store),
                       session_cookie=console.cookie, max_age=SESSION_HOURS * 3600,
                       same_site="strict", https_only=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    serve_docs_offline(app)
    pages = Pages(app, store, console)
    _audit_page(pages)

    @app.exception_handler(PageResponse)
    async def page_response(_: Request, exc: PageResponse) -> Response:
        return exc.response

    @app.get("/console/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/console") -> HTMLResponse:
        return render(request, console, "login.html", next=safe_next(next))

    @app.post("/console/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        target = safe_next(form.get("next"))
        try:
            await check_csrf(request)
            name, password = str(form.get("name", "")), str(form.get("password", ""))

            def check() -> Operator:
                with store.tx() as tx:
                    return operator_svc.sign_in(tx, name, password, pages.node_role,
                                                console.region)
            operator = await run_in_threadpool(check)
        except (AuthenticationFailed, Forbidden) as exc:
            wrong = isinstance(exc, AuthenticationFailed) and "wrong name" in str(exc)
            return render(request, console, "login.html", status=401, next=target,
                          error="Wrong name or password." if wrong else str(exc))
        session = session_of(request)
        lang = session.get("lang")
        session.clear()  # a new session for the signed-in operator (no fixation)
        session.update({SESSION_OPERATOR: operator.id, "lang": lang or "zh"})
        logger.info("console sign-in", extra={"operator": operator.name})
        return RedirectResponse(target, status_code=303)

    @app.post("/console/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        await check_csrf(request)
        lang = session_of(request).get("lang")
        session_of(request).clear()
        session_of(request)["lang"] = lang or "zh"
        return RedirectResponse("/console/login", status_code=303)

    @app.get("/console/lang/{lang}", include_in_schema=False)
    def switch_language(request: Request, lang: str, next: str = "/console") -> Response:
        if lang in LANGUAGES:
            session_of(request)["lang"] = lang
        return RedirectResponse(safe_next(next), status_code=303)

    add_pages(pages)
    return pages


def serve_docs_offline(app: FastAPI) -> None:
    """Serve /docs with the Swagger UI files vendored under /static (no CDN at run time)."""
    app.router.routes[:] = [r for r in app.router.routes
                            if not (isinstance(r, Route) and r.path == "/docs")]

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json",
                                   title=f"{app.title} – API",
                                   swagger_js_url=f"{SWAGGER}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{SWAGGER}/swagger-ui.css",
                                   swagger_favicon_url=f"{SWAGGER}/favicon-32x32.png")



def _audit_page(pages: Pages) -> None:
    """The node's audit log (every node has one: services/audit.py)."""

    @pages.app.get("/console/audit", response_class=HTMLResponse, include_in_schema=False)
    async def audit_page(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)

        def read() -> Any:
            with pages.store.tx() as tx:
                return audit.lines(tx)
        lines = await run_in_threadpool(read)
        return pages.page(request, "audit.html", operator, lines=lines)
