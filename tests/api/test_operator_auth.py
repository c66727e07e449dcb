"""Operator authentication of a province node's /api routes: every route that changes state or
returns personal data answers 401 `authentication_failed` and changes nothing unless the request
carries the token of an enabled operator of this province; with one, it works as before.

Each row of ROUTES is one protected route, called on live targets (a pending and an approved
filing, a computed and an approved claim, a day with a reconciliation report) so that a refused
request would otherwise have succeeded. Each row of REFUSALS is one way to be refused.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request
from fastapi.routing import APIRoute

from medsettle.adapters.api.auth import operator_dependency
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.errors import AuthenticationFailed
from medsettle.core.operators import token_hash
from medsettle.services.operators import create_operator, disable_operator
from tests.api.conftest import REGION, Province, TestClient, add_operator, bearer
from tests.conftest import business_today
from tests.e2e import fixtures as f
from tests.supervision.test_api_auth import SUPERVISION_ROUTES

PSN_NO = f.CHEN["psn_no"]
REPORT_DAY = date(2025, 3, 15)
SERIAL = itertools.count(1)


@dataclass(frozen=True)
class Targets:
    """What the routes act on; made fresh for each good-token call."""

    pending: str  # filing under review
    filing: str  # approved temporary filing
    claim: str  # computed reimbursement claim
    approved: str  # approved reimbursement claim

    def fill(self, path: str) -> str:
        return path.format(pending=self.pending, filing=self.filing, claim=self.claim,
                           approved=self.approved, psn_no=PSN_NO, day=REPORT_DAY.isoformat())


def filing_body(**changes: Any) -> dict[str, Any]:
    return {"psn_no": PSN_NO, "category": "other_temp", "destination": "330100",
            "channel": "app"} | changes


def claim_body(claim_id: str) -> dict[str, Any]:
    return {"claim_id": claim_id, "psn_no": PSN_NO,
            "treating": {"admdvs": "510100", "fixmedins_code": "H51010400001", "level": "L3"},
            "visit_type": "inpatient", "begntime": "2025-03-01T09:00:00",
            "setl_date": "2025-03-06", "emergency": False, "acct_used": False,
            "lines": [{"cls": "A", "pric": "100.00", "cnt": "5", "selfpay_prop": "0",
                       "lmt_pric": None, "restricted_ok": True, "code": f.SERVICE_BED}]}


def ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def make_targets(clerk: TestClient) -> Targets:
    """A pending and an approved filing of CHEN, a computed and an approved claim."""
    pending = ok(clerk.post("/api/v1/filings", json=filing_body(
        category="referral", destination="310100", materials=["referral_proof"])))
    filing = ok(clerk.post("/api/v1/filings", json=filing_body()))
    n = next(SERIAL)
    claim = ok(clerk.post("/api/v1/reimbursements", json=claim_body(f"RBAUTH{n}C")))
    approved = ok(clerk.post("/api/v1/reimbursements", json=claim_body(f"RBAUTH{n}A")))
    ok(clerk.post(f"/api/v1/reimbursements/{approved['claim_id']}/approve"))
    return Targets(pending["filing_no"], filing["filing_no"], claim["claim_id"],
                   approved["claim_id"])


@dataclass(frozen=True)
class Route:
    """A protected route, a body that it accepts, and what a good call answers."""

    method: str
    path: str  # with {pending}, {filing}, {claim}, {approved}, {psn_no}, {day}
    body: dict[str, Any] | None
    answers: Callable[[Any, Targets], bool]

    @property
    def template(self) -> str:
        """The route's path as the app declares it."""
        return (self.path.split("?")[0].replace("{pending}", "{filing_no}")
                .replace("{filing}", "{filing_no}").replace("{claim}", "{claim_id}")
                .replace("{approved}", "{claim_id}"))


def _today_minus(days: int) -> str:
    return (business_today() - timedelta(days=days)).isoformat()


ROUTES = [
    Route("POST", "/api/v1/filings", filing_body(destination="320100"),
          lambda doc, _: doc["status"] == "approved"),
    Route("POST", "/api/v1/filings/post-hoc",
          filing_body(category="emergency", destination="610100",
                      admission_date=_today_minus(5), discharge_settled=False),
          lambda doc, _: doc["post_hoc"] is True),
    Route("POST", "/api/v1/filings/{filing}/change", {"destination": "320100"},
          lambda doc, t: doc["supersedes"] == t.filing),
    Route("POST", "/api/v1/filings/{filing}/cancel", None,
          lambda doc, _: doc["status"] == "cancelled"),
    Route("POST", "/api/v1/filings/{pending}/decision", {"approve": True},
          lambda doc, _: doc["status"] == "approved"),
    Route("GET", "/api/v1/persons/{psn_no}/filings", None,
          lambda doc, t: t.filing in {x["filing_no"] for x in doc}),
    Route("POST", "/api/v1/reimbursements", claim_body("RBAUTHNEW"),
          lambda doc, _: doc["status"] == "computed"),
    Route("GET", "/api/v1/reimbursements/{claim}", None,
          lambda doc, t: doc["claim_id"] == t.claim),
    Route("POST", "/api/v1/reimbursements/{claim}/approve", None,
          lambda doc, _: doc["status"] == "approved"),
    Route("POST", "/api/v1/reimbursements/{approved}/pay", None,
          lambda doc, _: doc["status"] == "paid"),
    Route("POST", "/api/v1/reimbursements/{claim}/reject", {"reason": "invoice not original"},
          lambda doc, _: doc["status"] == "rejected"),
    Route("GET", "/api/v1/reconciliation-reports?day={day}", None,
          lambda doc, _: [r["counterpart"] for r in doc] == ["hub"]),
    Route("GET", "/api/v1/persons/{psn_no}", None,  # personal data: masked, audited in clear
          lambda doc, _: doc["psn_no"] == PSN_NO and doc["masked"] is True),
    Route("GET", f"/api/v1/persons?certno={f.CHEN['certno']}", None,
          lambda doc, _: doc["psn_no"] == PSN_NO),
]
ROUTE_IDS = [f"{r.method} {r.path}" for r in ROUTES]


@dataclass(frozen=True)
class Credentials:
    """Tokens that must all be refused by the Guangdong node."""

    disabled: str  # an operator of Guangdong, disabled
    other_province_row: str  # a row of this node's database for an operator of Sichuan
    other_province_node: str  # an operator created in Sichuan's own database
    hub_row: str  # a row of this node's database for a hub operator
    hub_node: str  # an operator created in the hub's database


def operator_in(db_url: str, role: str, name: str, region: str | None) -> str:
    """Migrate a node database of `role` and create an operator in it; the token."""
    engine = make_engine(db_url)
    migrate(engine, "hub" if role == "hub" else "province")
    with Store(engine).tx() as tx:
        _, token = create_operator(tx, name, role, region, datetime.now(UTC))
    engine.dispose()
    return token


@pytest.fixture(scope="module")
def credentials(filing_province: Province, tmp_path_factory: pytest.TempPathFactory
                ) -> Credentials:
    node = filing_province.node
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    disabled = add_operator(node, "gone")
    with node.store.tx() as tx:
        disable_operator(tx, "gone")
    return Credentials(
        disabled=disabled,
        other_province_row=add_operator(node, "sichuan-clerk", region="510000"),
        other_province_node=operator_in(f"sqlite:///{elsewhere}/510000.db", "province",
                                        "clerk", "510000"),
        hub_row=add_operator(node, "hub-clerk", role="hub", region=None),
        hub_node=operator_in(f"sqlite:///{elsewhere}/hub.db", "hub", "clerk", None))


@dataclass(frozen=True)
class Refusal:
    """One way to be refused: the headers sent and what the 401's message says."""

    name: str
    headers: Callable[[Credentials], dict[str, str]]
    says: str


WELL_FORMED_UNKNOWN = "mso_" + "A" * 43
REFUSALS = [
    Refusal("no-authorization", lambda _: {}, "Authorization header missing"),
    Refusal("empty-authorization", lambda _: {"Authorization": ""},
            "Authorization header missing"),
    Refusal("basic-scheme", lambda _: {"Authorization": "Basic Y2xlcms6c2VjcmV0"}, "malformed"),
    Refusal("bearer-without-token", lambda _: {"Authorization": "Bearer "}, "malformed"),
    Refusal("token-without-scheme", lambda _: {"Authorization": WELL_FORMED_UNKNOWN},
            "malformed"),
    Refusal("not-an-operator-token", lambda _: bearer("k"), "not an operator token"),
    Refusal("wrong-token", lambda _: bearer(WELL_FORMED_UNKNOWN), "unknown operator token"),
    Refusal("disabled-operator", lambda c: bearer(c.disabled), "operator gone is disabled"),
    Refusal("operator-from-another-provinces-database", lambda c: bearer(c.other_province_node),
            "unknown operator token"),
    Refusal("hub-operator-at-a-province", lambda c: bearer(c.hub_row),
            "is a hub operator; province 440000 accepts only province operators"),
    Refusal("hub-operator-from-the-hubs-database", lambda c: bearer(c.hub_node),
            "unknown operator token"),
]


@pytest.fixture(scope="module")
def reported_day(filing_province: Province) -> date:
    """A day with one reconciliation report (against the hub)."""
    with filing_province.node.store.tx() as tx:
        tx.add("reconciliation_reports", {"day": REPORT_DAY, "scope": "hub",
                                          "counterpart": "hub", "balanced": True,
                                          "report": {"findings": []},
                                          "created_at": datetime.now(UTC)})
    return REPORT_DAY


@pytest.fixture(scope="module")
def targets(clerk: TestClient, reported_day: date) -> Targets:
    """Targets shared by the refusals, which must leave them as they are."""
    return make_targets(clerk)


def call(client: TestClient, route: Route, targets: Targets,
         headers: dict[str, str] | None = None) -> Any:
    return client.request(route.method, targets.fill(route.path), json=route.body,
                          headers=headers)


@pytest.mark.parametrize("refusal", REFUSALS, ids=[r.name for r in REFUSALS])
@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_protected_route_refuses_without_a_valid_operator_token_and_changes_nothing(
        filing_province: Province, targets: Targets, credentials: Credentials, route: Route,
        refusal: Refusal) -> None:
    before = filing_province.snapshot()
    response = call(filing_province.http, route, targets, refusal.headers(credentials))
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] == "authentication_failed"
    assert refusal.says in error["message"]
    assert filing_province.snapshot() == before


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_a_protected_route_works_for_an_operator_of_the_province(
        clerk: TestClient, reported_day: date, route: Route) -> None:
    fresh = make_targets(clerk)
    body = route.body
    if route.path == "/api/v1/reimbursements":
        body = claim_body(f"RBAUTH{next(SERIAL)}N")
    answer = ok(clerk.request(route.method, fresh.fill(route.path), json=body))
    assert route.answers(answer, fresh), answer


def test_every_api_route_of_the_node_is_protected_and_in_the_table(
        filing_province: Province) -> None:
    api = [route for route in filing_province.http.app.routes  # the person's app: own session
           if isinstance(route, APIRoute) and route.path.startswith("/api/")
           and not route.path.startswith("/api/v1/me")]
    declared = {(method, route.path) for route in api for method in route.methods}
    assert declared == {(r.method, r.template) for r in ROUTES} | SUPERVISION_ROUTES
    unprotected = [route.path for route in api if "authenticated_operator" not in
                   {d.call.__name__ for d in route.dependant.dependencies if d.call}]
    assert unprotected == []


def test_the_node_keeps_the_token_hash_never_the_token(filing_province: Province) -> None:
    token = add_operator(filing_province.node, "hash-check")
    with filing_province.node.store.tx() as tx:
        row = tx.one("operators", name="hash-check")
    assert row.token_hash == token_hash(token) and token not in repr(tuple(row))
    assert (row.role, row.region, row.disabled) == ("province", REGION, False)


def test_an_operator_action_is_logged_with_name_method_and_path_never_the_token(
        filing_province: Province, clerk: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    token = clerk.headers["authorization"].removeprefix("Bearer ")
    with caplog.at_level(logging.INFO, logger="medsettle.adapters.api.auth"):
        ok(clerk.get(f"/api/v1/persons/{PSN_NO}/filings"))
        filing_province.http.get(f"/api/v1/persons/{PSN_NO}/filings", headers=bearer("mso_x"))
    accepted, refused = [r for r in caplog.records if r.name == "medsettle.adapters.api.auth"]
    assert [getattr(accepted, k) for k in ("msg", "operator", "method", "path")] == [
        "operator action", "clerk", "GET", f"/api/v1/persons/{PSN_NO}/filings"]
    assert refused.msg == "operator refused" and refused.levelname == "WARNING"
    assert token not in caplog.text and all(
        token not in str(vars(record)) for record in caplog.records)


def test_the_open_routes_need_no_operator(filing_province: Province) -> None:
    assert filing_province.http.get("/healthz").status_code == 200
    assert filing_province.http.get("/metrics").status_code == 200
    assert filing_province.http.get("/openapi.json").status_code == 200
    his = filing_province.http.post("/his", json={}).json()
    assert his["infcode"] == -1  # the HIS gateway answers in its own way, not with a 401


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_an_operator_of_another_province_is_forbidden_and_changes_nothing(
        filing_province: Province, targets: Targets, credentials: Credentials,
        route: Route) -> None:
    before = filing_province.snapshot()
    response = call(filing_province.http, route, targets, bearer(credentials.other_province_row))
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert "works for province 510000, not 440000" in error["message"]
    assert filing_province.snapshot() == before


def test_the_openapi_document_declares_the_bearer_scheme_on_protected_routes(
        filing_province: Province) -> None:
    doc = filing_province.http.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert doc["paths"]["/api/v1/reimbursements/{claim_id}/pay"]["post"]["security"] == [
        {"HTTPBearer": []}]
    assert "security" not in doc["paths"]["/his"]["post"]



def request_with(authorization: str | None) -> Request:
    """A bare GET request, with or without an Authorization header."""
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    return Request({"type": "http", "method": "GET", "path": "/api/v1/statements",
                    "headers": headers, "query_string": b""})


def test_the_hub_check_accepts_only_hub_operators(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/hub.db"
    root = operator_in(url, "hub", "root", None)
    store = Store(make_engine(url))
    with store.tx() as tx:
        _, guangdong = create_operator(tx, "gd", "province", "440000", datetime.now(UTC))
    hub_operator = operator_dependency(store, "hub")
    assert asyncio.run(hub_operator(request_with(f"Bearer {root}"), None)).name == "root"
    with pytest.raises(AuthenticationFailed, match="operator gd is a province operator; the hub "
                                                   "accepts only hub operators"):
        asyncio.run(hub_operator(request_with(f"Bearer {guangdong}"), None))
    with pytest.raises(AuthenticationFailed, match="missing"):
        asyncio.run(hub_operator(request_with(None), None))
    store.engine.dispose()
