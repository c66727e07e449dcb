"""Operators of a node's API: create one (its token shown once), list, disable, and find the
operator a request's token belongs to.

The database keeps the token's SHA-256 only (core/operators.py); a lost token is replaced by
disabling the operator and creating another.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any, cast

from medsettle.core import operators as rules
from medsettle.core.errors import AuthenticationFailed, InvalidInput, NotFound
from medsettle.core.operators import Operator, OperatorRole
from medsettle.services.ports import UnitOfWork

logger = logging.getLogger(__name__)


def new_token() -> str:
    """A fresh operator token: the prefix and 32 random bytes, URL-safe."""
    return rules.TOKEN_PREFIX + secrets.token_urlsafe(32)


def _operator(row: Any) -> Operator:
    return Operator(id=int(row.id), name=str(row.name), role=cast(OperatorRole, str(row.role)),
                    region=row.region, created_at=row.created_at, disabled=bool(row.disabled))


def create_operator(tx: UnitOfWork, name: object, role: object, region: object,
                    now: datetime) -> tuple[Operator, str]:
    """Add an operator; returns it with its token, which is not kept and cannot be shown again.

    Errors name the field: `name` (malformed or taken), `role`, `region`.
    """
    name = rules.validate_name(name)
    checked_role: OperatorRole = rules.validate_role(role)
    checked_region = rules.validate_region(checked_role, region)
    if tx.one("operators", name=name) is not None:
        raise InvalidInput("name", f"an operator named {name} already exists")
    token = new_token()
    tx.add("operators", {"name": name, "role": checked_role, "region": checked_region,
                         "token_hash": rules.token_hash(token), "created_at": now,
                         "disabled": False})
    operator = _operator(tx.one("operators", name=name))
    logger.info("operator created", extra={"operator": name, "role": checked_role,
                                           "region": checked_region})
    return operator, token


def list_operators(tx: UnitOfWork) -> list[Operator]:
    """Every operator of the node, oldest first (no tokens: they are not kept)."""
    return [_operator(row) for row in tx.rows("operators", order_by="id")]


def disable_operator(tx: UnitOfWork, name: str) -> tuple[Operator, bool]:
    """Disable an operator: their token is refused from now on. Returns the operator and whether
    this call changed anything (False when already disabled)."""
    row = tx.one("operators", name=name)
    if row is None:
        raise NotFound(f"no operator named {name}")
    if row.disabled:
        return _operator(row), False
    tx.change("operators", {"name": name}, disabled=True)
    logger.info("operator disabled", extra={"operator": name})
    return _operator(tx.one("operators", name=name)), True


def operator_of_token(tx: UnitOfWork, token: str) -> Operator:
    """The operator whose token this is, whatever their state; AuthenticationFailed if none."""
    if not rules.looks_like_token(token):
        raise AuthenticationFailed(f"the bearer token is not an operator token "
                                   f"({rules.TOKEN_PREFIX}…)")
    row = tx.one("operators", token_hash=rules.token_hash(token))
    if row is None:
        raise AuthenticationFailed("unknown operator token")
    return _operator(row)


def authenticate(tx: UnitOfWork, token: str, role: OperatorRole, region: str | None) -> Operator:
    """The operator of `token`, if a node of `role` (a province node: of `region`) accepts them;
    AuthenticationFailed otherwise (unknown token, disabled, another kind of node or province)."""
    return rules.admit(operator_of_token(tx, token), role, region)
