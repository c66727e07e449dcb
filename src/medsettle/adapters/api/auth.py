"""Operator authentication of the JSON APIs: `Authorization: Bearer <operator token>`.

`operator_dependency` is the FastAPI dependency that returns the authenticated operator or
raises AuthenticationFailed (HTTP 401, code `authentication_failed`); `require_operator` is the
same as a route's `dependencies=`. A province node passes ("province", its region); the hub
passes ("hub", None). Each accepted request is logged with the operator's name, the method and
the path; the token never is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from medsettle.core.errors import AuthenticationFailed
from medsettle.core.operators import Operator, OperatorRole
from medsettle.services import operators
from medsettle.services.ports import Database

logger = logging.getLogger(__name__)
#: Declares the scheme in the OpenAPI document (/docs); the header is checked by `bearer_token`.
BEARER = HTTPBearer(auto_error=False, description="an operator token: medsettle operator add")


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


def operator_dependency(store: Database, role: OperatorRole,
                        region: str | None = None) -> Callable[..., Operator]:
    """A FastAPI dependency: the operator whose token the request carries, accepted by a node of
    `role` (a province node: only operators of its province `region`)."""

    def authenticated_operator(
            request: Request,
            _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]) -> Operator:
        try:
            token = bearer_token(request.headers.get("authorization"))
            with store.tx() as tx:
                operator = operators.authenticate(tx, token, role, region)
        except AuthenticationFailed as exc:
            logger.warning("operator refused", extra={"method": request.method,
                                                      "path": request.url.path, "why": str(exc)})
            raise
        logger.info("operator action", extra={"operator": operator.name, "method": request.method,
                                              "path": request.url.path})
        return operator

    return authenticated_operator


def require_operator(store: Database, role: OperatorRole,
                     region: str | None = None) -> list[Any]:
    """`dependencies=` for a route that only an authenticated operator may call."""
    return [Depends(operator_dependency(store, role, region))]
