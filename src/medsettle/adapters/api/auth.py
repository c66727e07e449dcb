"""Operator authentication of the JSON APIs and the console.

A request is an operator's when it carries `Authorization: Bearer <operator token>` (scripts) or
the node's signed session cookie of a signed-in operator (the console, adapters/web). A request
with a session that changes something (any method but GET/HEAD) must also carry the session's
CSRF token, as the `X-CSRF-Token` header or the `csrf_token` form field.

`operator_dependency` is the FastAPI dependency that returns the authenticated operator or
raises AuthenticationFailed (HTTP 401, code `authentication_failed`) or Forbidden (403: an
operator of another province, an auditor asking to change something); `require_operator` is the
same as a route's `dependencies=`. A province node passes ("province", its region); the hub
passes ("hub", None). Each accepted request is logged with the operator's name, the method and
the path; the token never is.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.federation import Verifier
from medsettle.core.errors import AuthenticationFailed, Forbidden, MedSettleError
from medsettle.core.operators import NodeRole, Operator
from medsettle.services import operators
from medsettle.services.ports import Database

logger = logging.getLogger(__name__)
#: Declares the scheme in the OpenAPI document (/docs); the header is checked by `bearer_token`.
BEARER = HTTPBearer(auto_error=False, description="an operator token: medsettle operator add")
#: Keys of the console session (a signed cookie: adapters/web/app.py).
SESSION_OPERATOR, SESSION_CSRF = "operator", "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header; AuthenticationFailed when the
    header is missing or is not of that form."""
    if authorization is None or not authorization.strip():
        raise AuthenticationFailed("Authorization header missing: send "
                                   "`Authorization: Bearer <operator token>`")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthenticationFailed("Authorization header malformed: expected "
                                   "`Bearer <operator token>`")
    return token


def session_of(request: Request) -> dict[str, Any]:
    """The request's console session ({} on a node without sessions)."""
    if "session" not in request.scope:
        return {}
    session: dict[str, Any] = request.session
    return session


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    session = session_of(request)
    if SESSION_CSRF not in session and "session" in request.scope:
        session[SESSION_CSRF] = secrets.token_urlsafe(32)
    return str(session.get(SESSION_CSRF, ""))


async def check_csrf(request: Request) -> None:
    """Forbidden unless the request carries the session's CSRF token (header or form field)."""
    expected = str(session_of(request).get(SESSION_CSRF, ""))
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise Forbidden("the form is stale or was not sent by the console (CSRF token missing "
                        "or wrong): reload the page and try again")


def in_tx(store: Database, work: Any) -> Any:
    """Run `work(tx)` in one transaction of `store` (off the event loop)."""
    with store.tx() as tx:
        return work(tx)


async def authenticate(request: Request, store: Database, role: NodeRole,
                       region: str | None) -> Operator:
    """The operator of the request (token or session), admitted for its method; raises
    AuthenticationFailed or Forbidden."""
    write = request.method not in SAFE_METHODS
    session = session_of(request)
    if request.headers.get("authorization") or SESSION_OPERATOR not in session:
        token = bearer_token(request.headers.get("authorization"))
        return await run_in_threadpool(
            in_tx, store, lambda tx: operators.authenticate(tx, token, role, region, write=write))
    if write:
        await check_csrf(request)
    operator_id = session[SESSION_OPERATOR]
    return await run_in_threadpool(in_tx, store, lambda tx: operators.operator_by_id(
        tx, operator_id, role, region, write=write))


async def read_permission(request: Request, store: Database, verifier: Verifier,
                          province: str | None, what: str) -> str:
    """Who may read a hub's `what`: a province node (its signature checked) for its own
    `province` only, or a hub operator (token or session) for any; who it is, or raises
    AuthenticationFailed or Forbidden."""
    if "x-ms-signature" in request.headers:
        node = verifier.verify(request.headers, request.url.path, b"", request.url.query)
        if province is None or node != province:
            raise Forbidden(f"node {node} reads only its own province's {what}"
                            if province is not None else
                            f"every province's {what} are for the hub's operators")
        return node
    operator = await authenticate(request, store, "hub", None)
    return operator.name


def operator_dependency(store: Database, role: NodeRole,
                        region: str | None = None) -> Callable[..., Awaitable[Operator]]:
    """A FastAPI dependency: the operator whose token or session the request carries, accepted
    by a node of `role` (a province node: only operators of its province `region`)."""

    async def authenticated_operator(
            request: Request,
            _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> Operator:
        try:
            operator = await authenticate(request, store, role, region)
        except MedSettleError as exc:
            logger.warning("operator refused", extra={"method": request.method,
                                                      "path": request.url.path, "why": str(exc)})
            raise
        logger.info("operator action", extra={"operator": operator.name, "method": request.method,
                                              "path": request.url.path})
        return operator

    return authenticated_operator


def require_operator(store: Database, role: NodeRole,
                     region: str | None = None) -> list[Any]:
    """`dependencies=` for a route that only an authenticated operator may call."""
    return [Depends(operator_dependency(store, role, region))]
