"""The insured person's JSON API (`/api/v1/me/…`, documented in /docs): what the app's pages
show, for a native app too.

Sign-in: `POST /api/v1/me/sign-in/code` {certno} makes a one-time code (demo: in the node's
log), `POST /api/v1/me/sign-in` {certno, code} signs in and answers the CSRF token. The session
is the node's signed cookie (the console's), holding the person's number and when they signed
in and were last seen: it ends after IDLE_MINUTES without a request or MAX_HOURS after sign-in.
Every request that changes something carries the session's CSRF token (`X-CSRF-Token` header,
or the `csrf_token` form field); errors are the JSON APIs' (`{"ok": false, "error": …}`).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import check_csrf, csrf_token, session_of
from medsettle.adapters.api.common import json_body
from medsettle.adapters.api.person_app import IDLE_MINUTES, MAX_HOURS, PersonApp
from medsettle.core.errors import AuthenticationFailed, InvalidInput

SESSION_PERSON, SESSION_SINCE, SESSION_SEEN = "person", "person_since", "person_seen"
SESSION_ID = "person_session"  # a random id: signing out ends it at the node (ended_sessions)
TAG: list[str | Enum] = ["insured person's app"]


def start_session(request: Request, psn_no: str, now: float) -> str:
    """A fresh session for the person (no fixation: whatever was there is dropped, but the
    language); returns its CSRF token."""
    session = session_of(request)
    lang = session.get("lang")
    session.clear()
    session.update({SESSION_PERSON: psn_no, SESSION_SINCE: int(now), SESSION_SEEN: int(now),
                    SESSION_ID: secrets.token_urlsafe(24), "lang": lang or "zh"})
    return csrf_token(request)


def end_session(request: Request) -> None:
    """Forget the person (the language stays)."""
    session = session_of(request)
    for key in (SESSION_PERSON, SESSION_SINCE, SESSION_SEEN, SESSION_ID):
        session.pop(key, None)


async def sign_out(request: Request, app: PersonApp) -> None:
    """End the session here and at the node: a copy of the cookie is refused from now on."""
    session_id = session_of(request).get(SESSION_ID)
    if isinstance(session_id, str):
        await run_in_threadpool(app.end_session, session_id)
    end_session(request)


def signed_in(request: Request, app: PersonApp) -> str:
    """The person of the request's session, or AuthenticationFailed (never signed in, the
    session expired or was signed out of: then it is ended)."""
    session = session_of(request)
    psn_no, session_id = session.get(SESSION_PERSON), session.get(SESSION_ID)
    if not isinstance(psn_no, str) or not isinstance(session_id, str):
        raise AuthenticationFailed("sign in with your ID number and a one-time code")
    now = app.now().timestamp()
    since, seen = int(session.get(SESSION_SINCE, 0)), int(session.get(SESSION_SEEN, 0))
    if now - seen > IDLE_MINUTES * 60 or now - since > MAX_HOURS * 3600:
        end_session(request)
        raise AuthenticationFailed("your session expired: sign in again")
    if app.session_ended(session_id):
        end_session(request)
        raise AuthenticationFailed("you signed out of this session: sign in again")
    session[SESSION_SEEN] = int(now)
    return psn_no


def person_dependency(app: PersonApp) -> Callable[..., Awaitable[str]]:
    """The signed-in person (a change also needs the CSRF token)."""
    async def signed_in_person(request: Request) -> str:
        me = signed_in(request, app)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            await check_csrf(request)
        return me
    return signed_in_person


def _of(request: Request) -> str | None:
    return request.query_params.get("for") or None


def _lang(request: Request) -> str:
    lang = request.query_params.get("lang") or session_of(request).get("lang")
    return lang if lang in ("zh", "en") else "zh"


def _sent_as_json(request: Request) -> None:
    """The sign-in that starts a session has no CSRF token yet: it must come as
    application/json, which another site's form cannot send (a form posting `text/plain` that
    looks like JSON would sign the browser in to the other site's chosen account)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise InvalidInput("content-type", f"must be application/json, not {kind or 'none'!r}")


def add_person_routes(app: FastAPI, api: PersonApp) -> None:
    """The JSON routes of the app."""
    who = Depends(person_dependency(api))

    @app.post("/api/v1/me/sign-in/code", tags=TAG, summary="Send a one-time sign-in code")
    async def send_code(request: Request) -> dict[str, Any]:
        doc = await json_body(request)
        return await run_in_threadpool(api.send_code, doc)

    @app.post("/api/v1/me/sign-in", tags=TAG, summary="Sign in with ID number and code")
    async def sign_in(request: Request) -> dict[str, Any]:
        _sent_as_json(request)
        doc = await json_body(request)
        person = await run_in_threadpool(api.verify, doc)
        token = start_session(request, person.psn_no, api.now().timestamp())
        return {"ok": True, "csrf_token": token, "person": api.profile(person.psn_no)}

    @app.post("/api/v1/me/sign-out", tags=TAG, summary="Sign out")
    async def signing_out(request: Request, me: str = who) -> dict[str, Any]:
        await sign_out(request, api)
        return {"ok": True}

    @app.get("/api/v1/me", tags=TAG, summary="Who I am (masked) and my family links")
    def profile(me: str = who) -> dict[str, Any]:
        return api.profile(me)

    @app.get("/api/v1/me/filings", tags=TAG, summary="My filings (or a family member's: ?for=)")
    def filings(request: Request, me: str = who) -> list[dict[str, Any]]:
        return api.filings(me, _of(request))

    @app.post("/api/v1/me/filings", tags=TAG,
              summary="File (备案): category, destination, start, commitment or materials; "
                      "`for` a family member; `after_the_fact` (补办) with admission_date")
    async def file(request: Request, me: str = who) -> dict[str, Any]:
        doc = await json_body(request)
        return await run_in_threadpool(api.file, me, doc)

    @app.post("/api/v1/me/filings/{filing_no}/change", tags=TAG, summary="Change destination")
    async def change(filing_no: str, request: Request, me: str = who) -> dict[str, Any]:
        doc = await json_body(request)
        return await run_in_threadpool(api.change_filing, me, filing_no, doc.get("destination"))

    @app.post("/api/v1/me/filings/{filing_no}/cancel", tags=TAG, summary="Cancel a filing")
    async def cancel(filing_no: str, me: str = who) -> dict[str, Any]:
        return await run_in_threadpool(api.cancel_filing, me, filing_no)

    @app.get("/api/v1/me/family", tags=TAG, summary="My family links (亲情账户)")
    def family(me: str = who) -> list[dict[str, Any]]:
        return api.family(me)

    @app.post("/api/v1/me/family", tags=TAG,
              summary="Ask to act for a family member: certno, name, relationship")
    async def ask_family(request: Request, me: str = who) -> dict[str, Any]:
        doc = await json_body(request)
        return await run_in_threadpool(api.ask_family, me, doc)

    @app.post("/api/v1/me/family/{link_id}/{action}", tags=TAG,
              summary="The member consents or refuses; either side ends the link")
    async def decide_family(link_id: int, action: str, me: str = who) -> dict[str, Any]:
        return await run_in_threadpool(api.decide_family, me, link_id, action)

    @app.get("/api/v1/me/institutions", tags=TAG,
             summary="Where I can settle directly: region (required), city, name, level, "
                     "service; answered by that province through the hub")
    async def institutions(request: Request, me: str = who) -> dict[str, Any]:
        return await run_in_threadpool(api.institutions, me, dict(request.query_params))

    @app.post("/api/v1/me/estimate", tags=TAG,
              summary="Estimate a visit: region, level, visit_type, disease, amount and mix "
                      "or lines [{cls, pric, cnt, selfpay_prop}], emergency, use_acct")
    async def estimate(request: Request, me: str = who) -> dict[str, Any]:
        doc = await json_body(request)
        return await run_in_threadpool(api.estimate, me, doc, _lang(request))

    @app.get("/api/v1/me/policy-differences", tags=TAG,
             summary="What differs between my policy and a treating region's, in words")
    async def differences(request: Request, me: str = who) -> dict[str, Any]:
        return await run_in_threadpool(api.differences, me, request.query_params.get("region"),
                                       _lang(request))

    @app.get("/api/v1/me/year", tags=TAG, summary="This medical year: deductible, caps, tiers, "
                                                 "account balance")
    def year(request: Request, me: str = who) -> dict[str, Any]:
        return api.year(me, _of(request))

    @app.get("/api/v1/me/settlements", tags=TAG, summary="My settlements, newest first")
    def settlements(request: Request, me: str = who) -> list[dict[str, Any]]:
        return api.settlements(me, _of(request))

    @app.get("/api/v1/me/settlements/{setl_id}", tags=TAG,
             summary="One settlement with its funds and each fee line's class and reason")
    async def settlement(setl_id: str, request: Request, me: str = who) -> dict[str, Any]:
        return await run_in_threadpool(api.settlement, me, setl_id, _lang(request))

    @app.get("/api/v1/me/claims", tags=TAG, summary="My manual reimbursement claims")
    def claims(request: Request, me: str = who) -> list[dict[str, Any]]:
        return api.claims(me, _of(request))

    @app.post("/api/v1/me/claims", tags=TAG,
              summary="Claim manual reimbursement (手工报销): region, institution, level, "
                      "visit_type, treated_on, amount and mix or lines")
    async def submit_claim(request: Request, me: str = who) -> dict[str, Any]:
        doc = await json_body(request)
        return await run_in_threadpool(api.submit_claim, me, doc)

    @app.post("/api/v1/me/evoucher", tags=TAG,
              summary="A fresh e-voucher token (医保码) and its QR code as SVG; a hospital's "
                      "1101 accepts it until it expires")
    async def voucher(me: str = who) -> dict[str, Any]:
        return await run_in_threadpool(api.voucher, me)

