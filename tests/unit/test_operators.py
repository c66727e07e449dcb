"""The operator rules (core/operators.py) and the Authorization header: who is valid, how a token
is kept, and which node accepts whom."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest

from medsettle.adapters.api.auth import bearer_token
from medsettle.core.errors import AuthenticationFailed, Forbidden, InvalidInput
from medsettle.core.operators import (
    Operator,
    admit,
    looks_like_token,
    token_hash,
    validate_name,
    validate_password,
    validate_region,
    validate_role,
)
from medsettle.services.operators import new_token

WHEN = datetime(2026, 1, 5, tzinfo=UTC)
GD = Operator(1, "clerk", "province", "440000", WHEN)
HUB = Operator(2, "root", "hub", None, WHEN)
AUDIT_GD = Operator(4, "audit", "auditor", "440000", WHEN)
AUDIT_HUB = Operator(5, "inspector", "auditor", None, WHEN)


@pytest.mark.parametrize("name", ["clerk", "li.wei", "ops@gd", "张三", "a", "x" * 64])
def test_a_valid_name_is_kept(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "two words", "-dash-first", "x" * 65, "semi;colon", None, 7])
def test_a_bad_name_is_refused_naming_the_field(name: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_name(name)
    assert caught.value.field == "name"


@pytest.mark.parametrize(("role", "region", "kept"), [
    ("province", "440000", "440000"),
    ("province", "660000", "660000"),
    ("hub", None, None),
    ("hub", "", None),
])
def test_a_valid_region_for_the_role(role: Any, region: Any, kept: str | None) -> None:
    assert validate_region(validate_role(role), region) == kept


@pytest.mark.parametrize(("role", "region", "field", "says"), [
    ("admin", None, "role", "must be province, hub or auditor"),
    ("Province", "440000", "role", "must be province, hub or auditor"),
    ("province", None, "region", "is required for a province operator"),
    ("province", "440300", "region", "must be a province code (e.g. 440000)"),
    ("province", "44", "region", "6-digit admdvs"),
    ("province", "990000", "region", "not a province prefix"),
    ("hub", "440000", "region", "a hub operator has no region"),
])
def test_a_bad_role_or_region_is_refused_naming_the_field(role: Any, region: Any, field: str,
                                                          says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_region(validate_role(role), region)
    assert caught.value.field == field and says in caught.value.message


def test_a_new_token_has_the_prefix_and_only_its_sha256_is_kept() -> None:
    token = new_token()
    assert token.startswith("mso_") and len(token) == 4 + 43 and looks_like_token(token)
    assert token != new_token()
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest()


@pytest.mark.parametrize("token", ["", "mso_", "abc", "mso_a b", "mso_ä", "mso_" + "a" * 300])
def test_something_else_does_not_look_like_a_token(token: str) -> None:
    assert not looks_like_token(token)


@pytest.mark.parametrize(("operator", "role", "region"), [
    (GD, "province", "440000"),
    (HUB, "hub", None),
])
def test_a_node_admits_its_own_kind_of_operator(operator: Operator, role: Any,
                                                region: str | None) -> None:
    assert admit(operator, role, region) is operator


@pytest.mark.parametrize(("operator", "role", "region", "says"), [
    (HUB, "province", "440000", "is a hub operator; province 440000 accepts only province"),
    (GD, "hub", None, "is a province operator; the hub accepts only hub operators"),
    (Operator(3, "gone", "province", "440000", WHEN, disabled=True), "province", "440000",
     "operator gone is disabled"),
])
def test_a_node_refuses_any_other_operator(operator: Operator, role: Any, region: str | None,
                                           says: str) -> None:
    with pytest.raises(AuthenticationFailed, match=says):
        admit(operator, role, region)


@pytest.mark.parametrize(("header", "token"), [
    ("Bearer mso_abc", "mso_abc"),
    ("bearer mso_abc", "mso_abc"),
    ("  Bearer   mso_abc  ", "mso_abc"),
])
def test_the_bearer_token_is_read_from_the_header(header: str, token: str) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize(("header", "says"), [
    (None, "missing"), ("", "missing"), ("   ", "missing"),
    ("Bearer", "malformed"), ("Basic abc", "malformed"), ("Bearer a b", "malformed"),
    ("mso_abc", "malformed"),
])
def test_a_missing_or_malformed_header_is_refused(header: str | None, says: str) -> None:
    with pytest.raises(AuthenticationFailed, match=says):
        bearer_token(header)


@pytest.mark.parametrize(("operator", "role", "region"), [
    (AUDIT_GD, "province", "440000"),
    (AUDIT_HUB, "hub", None),
])
def test_an_auditor_reads_at_their_node(operator: Operator, role: Any, region: str | None) -> None:
    assert admit(operator, role, region) is operator


@pytest.mark.parametrize(("operator", "role", "region", "write", "says"), [
    (GD, "province", "510000", False, "operator clerk works for province 440000, not 510000"),
    (GD, "province", "510000", True, "operator clerk works for province 440000, not 510000"),
    (AUDIT_GD, "province", "440000", True, "auditor audit reads only"),
    (AUDIT_HUB, "hub", None, True, "auditor inspector reads only"),
    (AUDIT_GD, "province", "510000", False, "audits province 440000, not 510000"),
])
def test_another_province_or_an_auditor_writing_is_forbidden(
        operator: Operator, role: Any, region: str | None, write: bool, says: str) -> None:
    with pytest.raises(Forbidden, match=says):
        admit(operator, role, region, write=write)


@pytest.mark.parametrize(("operator", "role", "region"), [
    (AUDIT_GD, "hub", None),
    (AUDIT_HUB, "province", "440000"),
])
def test_an_auditor_of_another_kind_of_node_is_not_known_there(
        operator: Operator, role: Any, region: str | None) -> None:
    with pytest.raises(AuthenticationFailed, match="is not an auditor of"):
        admit(operator, role, region)


@pytest.mark.parametrize("password", ["short", " " * 12, "x" * 201, 12345678901])
def test_a_weak_or_malformed_password_is_refused(password: Any) -> None:
    with pytest.raises(InvalidInput, match="password"):
        validate_password(password)
