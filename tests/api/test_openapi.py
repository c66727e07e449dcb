"""The nodes' OpenAPI says what the routes do (api/openapi.py): no 422 anywhere, every status a
route answers to bad input is declared with the error body, the HIS envelope and the federation
operations have real schemas that real answers fit, and /docs works without the network."""

from __future__ import annotations

import json
import logging
import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.api.openapi import ALWAYS_200
from medsettle.adapters.api.schemas_claims import Claim, ClaimRequest, Rejection
from medsettle.adapters.api.schemas_filings import (
    ChangedFiling,
    Filing,
    FilingApplication,
    FilingDecision,
    Filings,
    PostHocApplication,
    PostHocFiling,
)
from medsettle.adapters.api.schemas_records import (
    AnchorAnswer,
    AnchorsAnswer,
    DecisionAnswer,
    DecisionRequest,
    HitsAnswer,
    HitsRequest,
    IndexAnswer,
    IndexRecords,
    IndexRequest,
    IndexSeconds,
    ReportRequest,
    SettlementRecords,
    StoredReports,
)
from medsettle.adapters.federation import signed_headers
from medsettle.adapters.his.schema import HisResponse
from medsettle.core.calendar import business_date
from medsettle.services.exchange import REQUESTS
from tests.api.conftest import Province, Visit, add_operator, bearer
from tests.e2e import fixtures as f

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

HUB_KEYS = {"440000": "k-guangdong", "510000": "k-sichuan"}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("hub") / "hub.db"
    with TestClient(create_hub_app(HubConfig(db_url=f"sqlite:///{db}", keys=HUB_KEYS)),
                    raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def node(province: Province) -> TestClient:
    return TestClient(province.http.app, raise_server_exceptions=False)


def spec_of(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield path, method.upper(), op


def filled(path: str) -> str:
    """The path with every parameter a value no route accepts."""
    return re.sub(r"\{[^}]+\}", "x-1", path)


@pytest.mark.parametrize("app", ["node", "hub"])
def test_no_route_declares_422_and_every_json_route_declares_its_errors(
        app: str, request: pytest.FixtureRequest) -> None:
    spec = spec_of(request.getfixturevalue(app))
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, method, op in operations(spec):
        assert "422" not in op["responses"], (method, path)
        if path not in ALWAYS_200:
            for status in ("400", "401", "403", "404", "409"):
                schema = op["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)


@pytest.mark.parametrize("app", ["node", "hub"])
def test_the_statuses_answered_to_bad_input_are_the_declared_ones(
        app: str, request: pytest.FixtureRequest) -> None:
    client = request.getfixturevalue(app)
    spec = spec_of(client)
    seen = set()
    for path, method, op in operations(spec):
        if path in ALWAYS_200:
            continue
        declared = set(op["responses"])
        query = {p["name"]: "x-1" for p in op.get("parameters", []) if p["in"] == "query"}
        for body in (b"{", b"[]", b'{"msgid": 7}'):
            response = client.request(method, filled(path), content=body, params=query,
                                      headers={"content-type": "application/json"})
            assert str(response.status_code) in declared, (method, path, response.text[:200])
            if response.status_code != 200:  # a public read may answer junk with nothing
                assert response.json()["ok"] is False, (method, path)
            seen.add(response.status_code)
    assert 401 in seen and 422 not in seen


def test_a_bad_path_parameter_is_a_400_naming_it(province: Province,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    client = TestClient(province.http.app)  # its own cookies: the person's session
    with caplog.at_level(logging.INFO):
        assert client.post("/api/v1/me/sign-in/code",
                           json={"certno": f.CHEN["certno"]}).status_code == 200
    code = next(r.code for r in caplog.records if getattr(r, "code", None))
    signed = client.post("/api/v1/me/sign-in", json={"certno": f.CHEN["certno"], "code": code})
    assert signed.status_code == 200, signed.text
    answer = client.post("/api/v1/me/family/not-a-number/accept",
                         headers={"X-CSRF-Token": signed.json()["csrf_token"]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == "link_id"


def test_a_signed_federation_call_with_a_bad_body_is_a_declared_400(hub: TestClient) -> None:
    spec = spec_of(hub)
    body = json.dumps({"to": "510100", "op": "person_info"}).encode()
    answer = hub.post("/fed/v1/call", content=body,
                      headers=signed_headers(HUB_KEYS["440000"], "440000", "/fed/v1/call", body))
    assert answer.status_code == 400 and answer.json()["error"]["field"] == "msgid"
    assert "400" in spec["paths"]["/fed/v1/call"]["post"]["responses"]
    call = spec["components"]["schemas"]["CallRequest"]
    assert set(call["required"]) == {"to", "op", "msgid", "payload"}


def test_the_his_route_has_the_envelope_schemas_and_a_real_answer_fits(province: Province,
                                                                       node: TestClient) -> None:
    spec = spec_of(node)
    his = spec["paths"]["/his"]["post"]
    assert his["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HisRequest"}
    assert set(his["responses"]) == {"200"}
    request = spec["components"]["schemas"]["HisRequest"]
    assert {"infno", "msgid", "fixmedins_code", "cainfo", "encType"} <= set(request["properties"])
    answer = province.signed_in().send(province.envelope("1101", {"data": {
        "mdtrt_cert_type": "01", "mdtrt_cert_no": f.CHEN["evoucher"]}}))
    assert set(answer) <= set(HisResponse.model_fields)
    HisResponse.model_validate(answer)
    refused = node.post("/his", content=b"{").json()
    assert set(refused) <= set(HisResponse.model_fields) and refused["infcode"] == -1


def test_every_federation_operation_has_its_own_typed_path(node: TestClient) -> None:
    spec = spec_of(node)
    assert "/fed/v1/ops/{op}" not in spec["paths"]
    for op in REQUESTS:
        operation = spec["paths"][f"/fed/v1/ops/{op}"]["post"]
        payload = operation["requestBody"]["content"]["application/json"]["schema"][
            "properties"]["payload"]
        target = payload["$ref"].rsplit("/", 1)[-1]
        assert spec["components"]["schemas"][target]["properties"], op
        assert "result" in operation["responses"]["200"]["content"]["application/json"][
            "schema"]["properties"]
    settle = spec["components"]["schemas"]["SettleVisit"]
    assert "visit_id" in settle["required"]
    line = spec["components"]["schemas"]["FeeLine"]["properties"]["price"]
    assert line["type"] == "string" and "pattern" in line  # decimals travel as strings


@pytest.mark.parametrize("app", ["node", "hub"])
def test_docs_are_served_from_local_files(app: str, request: pytest.FixtureRequest) -> None:
    client = request.getfixturevalue(app)
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']?([^"' >]+)""", page.text)
    assert assets and all(a.startswith("/static/") for a in assets), assets
    assert "cdn" not in page.text and "https://" not in page.text
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


def test_a_provinces_settlement_records_fit_their_schema(province: Province,
                                                         settled_visit: Visit) -> None:
    day = business_date(datetime.now(UTC)).isoformat()
    query = f"day={day}&role=treating"
    path = "/fed/v1/settlements"
    answer = province.http.get(f"{path}?{query}",
                               headers=signed_headers("k", "hub", path, b"", query))
    assert answer.status_code == 200, answer.text
    records = SettlementRecords.model_validate(answer.json())  # extra keys are refused
    assert settled_visit.setl_id in {r.setl_id for r in records.result}


def test_the_hubs_anchor_and_index_answers_fit_their_schemas(hub: TestClient) -> None:
    def send(path: str, doc: dict[str, Any], region: str = "440000") -> Any:
        body = json.dumps(doc).encode()
        answer = hub.post(path, content=body,
                          headers=signed_headers(HUB_KEYS[region], region, path, body))
        assert answer.status_code == 200, answer.text
        return answer.json()

    AnchorAnswer.model_validate(send("/fed/v1/anchor", {"seq": 3, "hash": "ab" * 32,
                                                        "day": "2026-11-28"}))
    own = "/fed/v1/anchors/440000"
    anchors = AnchorsAnswer.model_validate(hub.get(
        own, headers=signed_headers(HUB_KEYS["440000"], "440000", own, b"")).json())
    assert [a.seq for a in anchors.result.anchors] == [3]
    row = {"setl_id": "S1", "kind": "settle", "ref_setl_id": None, "mdtrt_id": "M1",
           "psn_no": "P1", "insu_admdvs": "510100", "mdtrtarea_admvs": "440304",
           "fixmedins_code": f.SHENZHEN_H, "visit_type": "outpatient",
           "setl_time": "2026-11-28T10:00:00+08:00", "medfee_sumamt": 28100,
           "fund_pay_sumamt": 20000, "acct_pay": 0, "psn_cash_pay": 8100, "msgid": "m-1"}
    IndexRequest.model_validate({"rows": [row]})
    IndexAnswer.model_validate(send("/fed/v1/index", {"rows": [row]}, "510000"))  # insured
    query = "day=2026-11-28"
    found = hub.get(f"/fed/v1/index?{query}", headers=signed_headers(
        HUB_KEYS["440000"], "440000", "/fed/v1/index", b"", query))  # treating: a party too
    assert IndexRecords.model_validate(found.json()).result[0].setl_id == "S1"
    query = "since=2026-11-28T01%3A30%3A00%2B00%3A00&until=2026-11-28T02%3A30%3A00%2B00%3A00"
    counted = hub.get(f"/fed/v1/index/seconds?{query}", headers=signed_headers(
        HUB_KEYS["510000"], "510000", "/fed/v1/index/seconds", b"", query))
    assert IndexSeconds.model_validate(counted.json()).result.seconds == {"2026-11-28T02:00:00": 1}


def test_the_filing_answers_fit_their_schemas(filing_province: Province,
                                              clerk: TestClient) -> None:
    application = {"psn_no": f.CHEN["psn_no"], "category": "referral", "destination": "310100",
                   "channel": "app", "materials": ["referral_proof"]}
    FilingApplication.model_validate(application)  # what the API accepts, the schema does
    pending = Filing.model_validate(clerk.post("/api/v1/filings", json=application).json())
    decided = clerk.post(f"/api/v1/filings/{pending.filing_no}/decision",
                         json=FilingDecision(approve=True).model_dump())
    assert Filing.model_validate(decided.json()).status == "approved"
    moved = clerk.post(f"/api/v1/filings/{pending.filing_no}/change",
                       json={"destination": "320100"}).json()
    assert ChangedFiling.model_validate(moved).supersedes == pending.filing_no
    listed = Filings.model_validate(clerk.get(f"/api/v1/persons/{f.CHEN['psn_no']}/filings")
                                    .json()).root
    assert {x.filing_no for x in listed} >= {pending.filing_no, moved["filing_no"]}
    cancelled = clerk.post(f"/api/v1/filings/{moved['filing_no']}/cancel").json()
    assert Filing.model_validate(cancelled).status == "cancelled"
    late = application | {"category": "emergency", "destination": "610100", "materials": [],
                          "admission_date": (filing_province.node.clock().date()
                                             - timedelta(days=5)).isoformat()}
    PostHocApplication.model_validate(late)
    made = clerk.post("/api/v1/filings/post-hoc", json=late)
    assert PostHocFiling.model_validate(made.json()).post_hoc is True


def test_the_reimbursement_answers_fit_their_schemas(province: Province) -> None:
    api = TestClient(province.http.app, headers=bearer(add_operator(province.node, "oa-clerk")))
    lines = [{"cls": "A", "pric": "100.00", "cnt": "5", "code": f.SERVICE_BED},
             {"cls": "B", "pric": "268.00", "cnt": "15", "selfpay_prop": "0.10",
              "lmt_pric": None, "code": f.DRUG_B}]
    doc = {"claim_id": "OA0001", "psn_no": f.CHEN["psn_no"],
           "treating": {"admdvs": "510100", "fixmedins_code": "H51010400001", "level": "L3"},
           "visit_type": "inpatient", "begntime": "2025-03-01T09:00:00",
           "setl_date": "2025-03-06", "lines": lines}
    ClaimRequest.model_validate(doc)  # what the API accepts, the schema does
    submitted = api.post("/api/v1/reimbursements", json=doc)
    assert submitted.status_code == 200, submitted.text
    assert Claim.model_validate(submitted.json()).status == "computed"
    assert Claim.model_validate(api.get("/api/v1/reimbursements/OA0001").json()).owed > 0
    assert Claim.model_validate(api.post("/api/v1/reimbursements/OA0001/approve").json()
                                ).status == "approved"
    assert Claim.model_validate(api.post("/api/v1/reimbursements/OA0001/pay").json()
                                ).status == "paid"
    api.post("/api/v1/reimbursements", json=doc | {"claim_id": "OA0002"})
    rejected = api.post("/api/v1/reimbursements/OA0002/reject",
                        json=Rejection(reason="invoice not original").model_dump())
    assert Claim.model_validate(rejected.json()).status == "rejected"


def test_the_supervision_exchanges_fit_their_schemas(province: Province, hub: TestClient) -> None:
    path = "/fed/v1/supervision/decisions"
    decision = DecisionRequest(case_id="CASE-OA-1", institution=f.SHENZHEN_H, insured="440100",
                               severity="none", refused=0).model_dump()
    for already in (None, True):
        body = json.dumps(decision).encode()
        answer = province.http.post(path, content=body,
                                    headers=signed_headers("k", "hub", path, body))
        assert answer.status_code == 200, answer.text
        assert DecisionAnswer.model_validate(answer.json()).result.already is already
    hit = {"rule": "R09", "name": "cost surge", "unit": "institution", "key": f.SHENZHEN_H,
           "severity": "warning", "message": "费用增长 30%", "threshold": "r09.surge_ratio = 1.20",
           "source": "shipped", "measured": {"ratio": "1.30"}, "settlements": [], "lines": [],
           "institution": f.SHENZHEN_H, "person": "", "amount": 0}
    body = HitsRequest.model_validate({"month": "2026-10", "hits": [hit]}).model_dump_json()
    sent = hub.post("/fed/v1/supervision/hits", content=body.encode(), headers=signed_headers(
        HUB_KEYS["440000"], "440000", "/fed/v1/supervision/hits", body.encode()))
    assert HitsAnswer.model_validate(sent.json()).result.kept == 1

    def hits_seen_by(region: str) -> list[str]:
        answer = hub.get("/supervision/hits?month=2026-10", headers=signed_headers(
            HUB_KEYS[region], region, "/supervision/hits", b"", "month=2026-10"))
        assert answer.status_code == 200, answer.text
        return [h["key"] for h in answer.json()["result"]]
    assert hits_seen_by("440000") == [f.SHENZHEN_H]  # reported by it, of its institution
    assert hits_seen_by("510000") == []  # another province's hits name its persons


#: Node routes whose answers are not described yet (docs/federation.md, "The OpenAPI").
UNDESCRIBED = {"/fed/v1/statistics/{month}", "/fed/v1/console/settlements/{setl_id}"}


def reachable(schema: Any, components: dict[str, Any], seen: set[str]) -> Iterator[Any]:
    """`schema` and every schema inside it, following $refs once each."""
    yield schema
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref not in seen:
            seen.add(ref)
            yield from reachable(components[ref.rsplit("/", 1)[-1]], components, seen)
        for value in schema.values():
            yield from reachable(value, components, seen)
    elif isinstance(schema, list):
        for value in schema:
            yield from reachable(value, components, seen)


@pytest.mark.parametrize("app", ["node", "hub"])
def test_the_his_and_federation_routes_have_closed_schemas(app: str,
                                                           request: pytest.FixtureRequest) -> None:
    spec = spec_of(request.getfixturevalue(app))
    components = spec["components"]["schemas"]
    for path, method, op in operations(spec):
        if not (path == "/his" or path.startswith("/fed/")) or path in UNDESCRIBED:
            continue
        answer = op["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer, (method, path)
        if method == "POST" and path not in ("/fed/v1/heartbeat", "/fed/v1/journal/flush") \
                and "/clearing/" not in path:
            assert "requestBody" in op, (method, path)
        for schema in reachable(op, components, set()):
            assert not (isinstance(schema, dict) and schema.get("additionalProperties") is True
                        ), (method, path)


def test_a_kept_reconciliation_report_fits_its_schemas(province: Province) -> None:
    path = "/fed/v1/reconciliation-reports"
    doc = ReportRequest(day="2026-11-28", scope="hub", counterpart="hub", balanced=True,
                        report={"missing": [], "extra": []}).model_dump()
    body = json.dumps(doc).encode()
    kept = province.http.post(path, content=body, headers=signed_headers("k", "hub", path, body))
    assert kept.status_code == 200 and kept.json() == {"ok": True}
    reader = bearer(add_operator(province.node, "oa-reader"))
    found = province.http.get("/api/v1/reconciliation-reports?day=2026-11-28", headers=reader)
    [report] = StoredReports.model_validate(found.json()).root
    assert report.balanced and report.report == {"missing": [], "extra": []}
