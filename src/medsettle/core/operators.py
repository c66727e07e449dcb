"""Operators (经办人员): the people who work a node's API through the operator console or scripts.

Pure rules only: what a valid operator looks like, how a token is kept (its SHA-256, never the
token itself) and which node accepts whom. A province node accepts `province` operators of its
own province; the hub accepts `hub` operators, who have no region. An `auditor` reads what the
operators of the node read (a province node: an auditor of that province; the hub: one without a
region) and changes nothing. An operator of another province is refused with Forbidden (403):
they are known, but act on what is not theirs. Creating tokens and storing operators is
`services.operators`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from medsettle.core import codes
from medsettle.core.errors import AuthenticationFailed, Forbidden, InvalidInput

OperatorRole = Literal["province", "hub", "auditor"]
#: The kind of node an operator works at (an auditor works at either).
NodeRole = Literal["province", "hub"]
ROLES: tuple[OperatorRole, ...] = ("province", "hub", "auditor")
#: Passwords of the console's sign-in: at least this long (and at most 200 characters).
MIN_PASSWORD = 10
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


def valid_name(value: str) -> bool:
    """Whether `value` has the shape of an operator name."""
    return _NAME.fullmatch(value) is not None


def validate_role(value: object) -> OperatorRole:
    """`province`, `hub` or `auditor`."""
    if value not in ROLES:
        raise InvalidInput("role", f"must be province, hub or auditor, not {value!r}")
    return value


def validate_region(role: OperatorRole, value: object) -> str | None:
    """The region of an operator of `role`: a province code (440000) for a province operator,
    none for a hub operator; an auditor of a province has its code, an auditor of the hub none."""
    if role == "auditor" and value in (None, ""):
        return None
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


def validate_password(value: object) -> str:
    """A console password: MIN_PASSWORD to 200 characters, not only spaces."""
    if not isinstance(value, str) or not MIN_PASSWORD <= len(value) <= 200 or not value.strip():
        raise InvalidInput("password", f"must be {MIN_PASSWORD} to 200 characters")
    return value


def admit(operator: Operator, role: NodeRole, region: str | None, *,
          write: bool = False) -> Operator:
    """The operator, if a node of `role` (a province node: of `region`) accepts them for a read
    (or, with `write`, a change); else AuthenticationFailed (not an operator of this node) or
    Forbidden (an operator of another province, or an auditor asking to change something)."""
    if operator.disabled:
        raise AuthenticationFailed(f"operator {operator.name} is disabled")
    where = f"province {region}" if role == "province" else "the hub"
    if operator.role == "auditor":
        if (operator.region is None) != (role == "hub"):
            raise AuthenticationFailed(f"auditor {operator.name} is not an auditor of {where}")
        if operator.region is not None and operator.region != region:
            raise Forbidden(f"auditor {operator.name} audits province {operator.region}, "
                            f"not {region}")
        if write:
            raise Forbidden(f"auditor {operator.name} reads only; changes need an operator")
        return operator
    if operator.role != role:
        raise AuthenticationFailed(f"operator {operator.name} is a {operator.role} operator; "
                                   f"{where} accepts only {role} operators")
    if role == "province" and operator.region != region:
        raise Forbidden(f"operator {operator.name} works for province "
                        f"{operator.region}, not {region}")
    return operator
