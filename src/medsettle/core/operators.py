"""Operators (经办人员): the people who work a node's API through the operator console or scripts.

Pure rules only: what a valid operator looks like, how a token is kept (its SHA-256, never the
token itself) and which node accepts whom. A province node accepts only `province` operators of
its own province; the hub accepts only `hub` operators, who have no region. Creating tokens and
storing operators is `services.operators`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from medsettle.core import codes
from medsettle.core.errors import AuthenticationFailed, InvalidInput

OperatorRole = Literal["province", "hub"]
ROLES: tuple[OperatorRole, ...] = ("province", "hub")
#: Every operator token starts with this, so a leaked one is recognisable (e.g. by secret scanners).
TOKEN_PREFIX = "mso_"
MAX_TOKEN_LENGTH = 200
_NAME = re.compile(r"\w[\w.@-]{0,63}")  # letters (any script), digits, _ . @ -; 1–64 characters


@dataclass(frozen=True, slots=True)
class Operator:
    """One operator: who they are, the kind of node they work at, and its province (hub: None)."""

    id: int
    name: str
    role: OperatorRole
    region: str | None
    created_at: datetime
    disabled: bool = False


def validate_name(value: object) -> str:
    """An operator name: 1–64 letters, digits or `_ . @ -`, starting with a letter or digit."""
    if not isinstance(value, str) or _NAME.fullmatch(value) is None:
        raise InvalidInput("name", f"expected 1-64 letters, digits or _ . @ - (starting with a "
                                   f"letter or digit), got {value!r}")
    return value


def validate_role(value: object) -> OperatorRole:
    """`province` or `hub`."""
    if value not in ROLES:
        raise InvalidInput("role", f"must be province or hub, not {value!r}")
    return value


def validate_region(role: OperatorRole, value: object) -> str | None:
    """The region of an operator of `role`: a province code (440000) for a province operator,
    none for a hub operator."""
    if role == "hub":
        if value not in (None, ""):
            raise InvalidInput("region", "a hub operator has no region")
        return None
    if value in (None, ""):
        raise InvalidInput("region", "is required for a province operator: the province code, "
                                     "e.g. 440000")
    region = codes.validate_admdvs(value, "region")
    if region != codes.province_of(region):
        raise InvalidInput("region", f"must be a province code (e.g. {region[:2]}0000), "
                                     f"not the region {region}")
    return region


def token_hash(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    """True when `token` has the shape of an operator token (prefix, length, URL-safe text)."""
    return (token.startswith(TOKEN_PREFIX) and len(token) <= MAX_TOKEN_LENGTH
            and re.fullmatch(r"[A-Za-z0-9_-]+", token.removeprefix(TOKEN_PREFIX)) is not None)


def admit(operator: Operator, role: OperatorRole, region: str | None) -> Operator:
    """The operator, if a node of `role` (a province node: of `region`) accepts them; else
    AuthenticationFailed saying why."""
    if operator.disabled:
        raise AuthenticationFailed(f"operator {operator.name} is disabled")
    if operator.role != role:
        where = f"province {region}" if role == "province" else "the hub"
        raise AuthenticationFailed(f"operator {operator.name} is a {operator.role} operator; "
                                   f"{where} accepts only {role} operators")
    if role == "province" and operator.region != region:
        raise AuthenticationFailed(f"operator {operator.name} works for province "
                                   f"{operator.region}, not {region}")
    return operator
