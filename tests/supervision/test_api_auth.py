"""Supervision's operator routes at a province node: each needs an operator of the province
(401 without one, 403 for another province's operator or an auditor's write) and changes
nothing when refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import REGION, Province, add_operator, bearer, start_province
from tests.e2e import fixtures as f

SUPERVISION_ROUTES = {
    ("GET", "/api/v1/supervision/credit"), ("GET", "/api/v1/supervision/hits"),
    ("POST", "/api/v1/supervision/{month}/run"),
    ("POST", "/api/v1/institutions/{code}/reinstate"),
    ("POST", "/api/v1/persons/{psn_no}/direct-settlement"),
    ("POST", "/api/v1/supervision/cases"), ("POST", "/api/v1/supervision/cases/{case_id}/{action}"),
    ("POST", "/api/v1/supervision/tickets"),
    ("POST", "/api/v1/supervision/tickets/{ticket_id}/{action}")}
FILLED = {"{month}": "2026-10", "{code}": f.SHENZHEN_H, "{psn_no}": f.CHEN["psn_no"],
          "{case_id}": "C1", "{action}": "request", "{ticket_id}": "T1"}


def filled(path: str) -> str:
    for key, value in FILLED.items():
        path = path.replace(key, value)
    return path


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: object) -> Iterator[Province]:
    yield from start_province(tmp_path_factory.mktemp("sup-auth"), f.ROWS[REGION], book)  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "path"), sorted(SUPERVISION_ROUTES))
def test_a_supervision_route_needs_an_operator_of_the_province(node: Province, method: str,
                                                                path: str) -> None:
    name = f"{method}-{abs(hash(path)) % 10**8}"
    other = add_operator(node.node, f"sichuan-{name}", region="510000")
    auditor = add_operator(node.node, f"aud-{name}", role="auditor")
    before = node.snapshot()
    body = {"barred": True, "reason": "x", "note": "x"} if method == "POST" else None
    assert node.http.request(method, filled(path), json=body).status_code == 401
    assert node.http.request(method, filled(path), json=body,
                             headers=bearer(other)).status_code == 403
    if method == "POST":
        assert node.http.request(method, filled(path), json=body,
                                 headers=bearer(auditor)).status_code == 403
    assert node.snapshot() == before


def test_an_operator_reads_credit_and_terminates_a_person(node: Province) -> None:
    clerk = bearer(add_operator(node.node, "sup-clerk"))
    credits = node.http.get("/api/v1/supervision/credit", headers=clerk).json()
    assert {c["fixmedins_code"]: c["score"] for c in credits}[f.SHENZHEN_H] == 100
    answer = node.http.post(f"/api/v1/persons/{f.CHEN['psn_no']}/direct-settlement",
                            headers=clerk, json={"barred": True, "reason": "冒名就医"})
    assert answer.status_code == 200 and answer.json()["direct_settlement_barred"] is True
    refused = node.http.post(f"/api/v1/institutions/{f.SHENZHEN_H}/reinstate", headers=clerk,
                             json={"note": "x"})
    assert refused.status_code == 409  # not suspended
    node.http.post(f"/api/v1/persons/{f.CHEN['psn_no']}/direct-settlement", headers=clerk,
                   json={"barred": False})
