"""Operators of a node's API and console: create one (its token shown once, its password
hashed), list, disable, and find the operator a request's token, password or session belongs to.

The database keeps the token's SHA-256 only (core/operators.py) and the password's argon2id hash;
a lost token is replaced by disabling the operator and creating another.
"""

from __future__ import annotations

import functools
import logging
import secrets
from datetime import datetime
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from medsettle.core import operators as rules
from medsettle.core.errors import AuthenticationFailed, InvalidInput, NotFound
from medsettle.core.operators import NodeRole, Operator, OperatorRole
from medsettle.services.ports import UnitOfWork

logger = logging.getLogger(__name__)
#: argon2id with the library's defaults (RFC 9106 low-memory profile).
HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name takes as long as a wrong
    password. Made on first use: hashing costs every process that imports this module a fifth
    of a second, nodes and command-line tools alike."""
    return HASHER.hash("not a password of anyone")


def new_token() -> str:
    """A fresh operator token: the prefix and 32 random bytes, URL-safe."""
    return rules.TOKEN_PREFIX + secrets.token_urlsafe(32)


def _operator(row: Any) -> Operator:
    return Operator(id=int(row.id), name=str(row.name), role=cast(OperatorRole, str(row.role)),
                    region=row.region, created_at=row.created_at, disabled=bool(row.disabled))


def create_operator(tx: UnitOfWork, name: object, role: object, region: object,
                    now: datetime, password: object = None) -> tuple[Operator, str]:
    """Add an operator; returns it with its token, which is not kept and cannot be shown again.
    With a `password`, the operator can also sign in to the console (only its hash is kept).

    Errors name the field: `name` (malformed or taken), `role`, `region`, `password`.
    """
    name = rules.validate_name(name)
    checked_role: OperatorRole = rules.validate_role(role)
    checked_region = rules.validate_region(checked_role, region)
    hashed = None if password is None else HASHER.hash(rules.validate_password(password))
    if tx.one("operators", name=name) is not None:
        raise InvalidInput("name", f"an operator named {name} already exists")
    token = new_token()
    tx.add("operators", {"name": name, "role": checked_role, "region": checked_region,
                         "token_hash": rules.token_hash(token), "created_at": now,
                         "disabled": False, "password_hash": hashed})
    operator = _operator(tx.one("operators", name=name))
    logger.info("operator created", extra={"operator": name, "role": checked_role,
                                           "region": checked_region})
    return operator, token


def list_operators(tx: UnitOfWork) -> list[Operator]:
    """Every operator of the node, oldest first (no tokens: they are not kept)."""
    return [_operator(row) for row in tx.rows("operators", order_by="id")]


def disable_operator(tx: UnitOfWork, name: str) -> tuple[Operator, bool]:
    """Disable an operator: their token is refused from now on. Returns the operator and whether
    this call changed anything (False when already disabled). The row is held as it is read,
    so of two disables at once only one reports a change."""
    row = tx.hold("operators", name=name)
    if row is None:
        raise NotFound(f"no operator named {name}")
    if row.disabled:
        return _operator(row), False
    tx.change("operators", {"name": name}, disabled=True)
    logger.info("operator disabled", extra={"operator": name})
    return _operator(tx.one("operators", name=name)), True


def operator_named(tx: UnitOfWork, name: str, role: NodeRole, region: str | None, *,
                   write: bool = False) -> Operator:
    """The operator called `name` (a command's `--as NAME`), if a node of `role` (a province
    node: of `region`) accepts them; else NotFound, AuthenticationFailed or Forbidden."""
    row = tx.one("operators", name=name)
    if row is None:
        raise NotFound(f"no operator named {name}", field="--as")
    return rules.admit(_operator(row), role, region, write=write)


def operator_of_token(tx: UnitOfWork, token: str) -> Operator:
    """The operator whose token this is, whatever their state; AuthenticationFailed if none."""
    if not rules.looks_like_token(token):
        raise AuthenticationFailed(f"the bearer token is not an operator token "
                                   f"({rules.TOKEN_PREFIX}…)")
    row = tx.one("operators", token_hash=rules.token_hash(token))
    if row is None:
        raise AuthenticationFailed("unknown operator token")
    return _operator(row)


def authenticate(tx: UnitOfWork, token: str, role: NodeRole, region: str | None, *,
                 write: bool = False) -> Operator:
    """The operator of `token`, if a node of `role` (a province node: of `region`) accepts them;
    AuthenticationFailed otherwise (unknown token, disabled, another kind of node), Forbidden
    for another province's operator or an auditor asking to write."""
    return rules.admit(operator_of_token(tx, token), role, region, write=write)


def set_password(tx: UnitOfWork, name: str, password: object) -> Operator:
    """Give an operator a (new) console password."""
    row = tx.one("operators", name=name)
    if row is None:
        raise NotFound(f"no operator named {name}")
    tx.change("operators", {"name": name},
              password_hash=HASHER.hash(rules.validate_password(password)))
    logger.info("operator password set", extra={"operator": name})
    return _operator(row)


def sign_in(tx: UnitOfWork, name: str, password: str, role: NodeRole,
            region: str | None) -> Operator:
    """The operator whose name and password these are, if this node accepts them; one message
    for a wrong name or a wrong password (AuthenticationFailed), so names cannot be probed."""
    dummy = _dummy_hash()  # made before the name is looked up: a first sign-in is no tell
    row = tx.one("operators", name=name) if rules.valid_name(name) else None
    stored = row.password_hash if row is not None and row.password_hash else dummy
    try:
        HASHER.verify(stored, password)
        matched = row is not None and bool(row.password_hash)
    except (VerificationError, InvalidHashError):
        matched = False
    if not matched or row is None:
        logger.warning("console sign-in refused", extra={"operator": name[:64]})
        raise AuthenticationFailed("wrong name or password")
    return rules.admit(_operator(row), role, region)


def operator_by_id(tx: UnitOfWork, operator_id: object, role: NodeRole, region: str | None, *,
                   write: bool = False) -> Operator:
    """The operator of a console session, if still accepted (a disabled operator's session ends
    at their next request)."""
    row = tx.one("operators", id=operator_id) if type(operator_id) is int else None
    if row is None:
        raise AuthenticationFailed("not signed in")
    return rules.admit(_operator(row), role, region, write=write)
