"""Input PostgreSQL cannot hold never reaches it: a NUL (or another control character) in a
request's path or query string is refused before any route (400 naming `path` or the query
parameter), a NUL in a JSON document or a console form is refused naming its field, and an
integer beyond its INTEGER column (a parameter set's number) matches nothing. Each was an HTTP
500 on PostgreSQL ("cannot contain NUL", "integer out of range"); SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from medsettle.adapters.api.common import parse_object
from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.api.limits import CountedBody
from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, create_province_app
from medsettle.adapters.db import tables as t
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.db.store import storable
from medsettle.core.errors import InvalidInput
from medsettle.core.policy import PolicyBook
from medsettle.services.operators import create_operator
from tests.api.conftest import REGION, TestClient, bearer
from tests.api.test_console_pages import PASSWORD, PSN_NO, csrf_of
from tests.conftest import fresh_database
from tests.e2e import fixtures as f


@dataclass
class Node:
    """A province node behind a TestClient (500s answered, not raised), its clerk's token."""

    node: ProvinceNode
    http: TestClient
    token: str


def database(request: pytest.FixtureRequest, folder: Path) -> Iterator[str]:
    """A database URL on SQLite or (request.param "postgresql") a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{folder / 'node.db'}"
    else:
        with fresh_database(request.getfixturevalue("pg_url")) as url:
            yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def province(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
             book: PolicyBook) -> Iterator[Node]:
    for url in database(request, tmp_path_factory.mktemp("nul")):
        load_rows(url, f.ROWS[REGION])
        node = ProvinceNode(ProvinceConfig(region=REGION, db_url=url, key="k", hub_url=None),
                            book=book)
        with node.store.tx() as tx:
            _, token = create_operator(tx, "clerk", "province", REGION, datetime.now(UTC),
                                       PASSWORD)
        app = create_province_app(node, background=False)
        with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as http:
            yield Node(node, http, token)
        node.store.engine.dispose()


@pytest.fixture(scope="module")
def console(province: Node) -> TestClient:
    """The console, signed in as the clerk."""
    client = TestClient(province.http.app, raise_server_exceptions=False,
                        follow_redirects=False)
    answer = client.post("/console/login", data={
        "name": "clerk", "password": PASSWORD,
        "csrf_token": csrf_of(client.get("/console/login").text)})
    assert answer.status_code == 303, answer.text
    return client


def refused(answer: Any, field: str) -> None:
    """A 400 in the JSON error form naming `field`."""
    assert answer.status_code == 400, (answer.status_code, answer.text[:300])
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", field), error


def claim(claim_id: str, **changes: Any) -> dict[str, Any]:
    """A manual reimbursement claim of CHEN for a stay in Chengdu."""
    return {"claim_id": claim_id, "psn_no": PSN_NO,
            "treating": {"admdvs": "510100", "fixmedins_code": "H51010400001", "level": "L3"},
            "visit_type": "inpatient", "begntime": "2025-03-01T09:00:00",
            "setl_date": "2025-03-06", "emergency": False, "acct_used": False,
            "lines": [{"cls": "A", "pric": "100.00", "cnt": "5", "code": f.SERVICE_BED}]
            } | changes


# --- the path and the query string ---------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v1/persons/a%00b"), ("GET", "/api/v1/persons/a%00b/filings"),
    ("GET", "/api/v1/reimbursements/a%00b"), ("GET", "/console/settlements/a%00b"),
    ("POST", "/api/v1/filings/a%00b/cancel"), ("POST", "/api/v1/reimbursements/a%00b/approve"),
    ("POST", "/api/v1/institutions/H%00/reinstate"),
    ("POST", "/api/v1/persons/P%00/direct-settlement"),
    ("GET", "/api/v1/persons/a%0Ab"), ("GET", "/api/v1/persons/a%1Fb")])
def test_a_control_character_in_the_path_is_refused(province: Node, method: str,
                                                    path: str) -> None:
    answer = province.http.request(method, path, headers=bearer(province.token),
                                   json={"note": "x", "barred": True, "reason": "x"}
                                   if method == "POST" else None)
    refused(answer, "path")


@pytest.mark.parametrize(("query", "field"), [("q=a%00b", "q"), ("q=ok&page=%00", "page"),
                                              ("a%00=1", "query")])
def test_a_nul_in_the_query_is_refused_naming_its_parameter(
        console: TestClient, query: str, field: str) -> None:
    refused(console.get(f"/console/search?{query}"), field)
    refused(console.get(f"/console/persons?{query}"), field)


def test_a_search_without_one_still_answers(console: TestClient) -> None:
    assert console.get("/console/search?q=a%25b%0").status_code == 200


@pytest.mark.parametrize("query", ["q=S123%09", "q=S123%0D%0A", "q=%01x"])
def test_a_tab_or_line_break_pasted_into_a_search_is_not_refused(console: TestClient,
                                                                  query: str) -> None:
    """Only NUL cannot be stored or searched for: the pages strip a pasted tab or line break
    (a copy from a spreadsheet), as before the guard."""
    assert console.get(f"/console/search?{query}").status_code == 200


# --- JSON documents ------------------------------------------------------------------------
def test_a_nul_in_a_json_field_is_refused_and_nothing_is_filed(province: Node) -> None:
    with province.node.store.tx() as tx:
        before = tx.count("filings")
    answer = province.http.post("/api/v1/filings", headers=bearer(province.token), json={
        "psn_no": "a\u0000b", "category": "referral", "destination": "310100"})
    refused(answer, "psn_no")
    with province.node.store.tx() as tx:
        assert tx.count("filings") == before


def test_a_nul_in_a_claims_reject_reason_is_refused(province: Node) -> None:
    http, auth = province.http, bearer(province.token)
    claim_id = "NULREASON"
    assert http.post("/api/v1/reimbursements", headers=auth,
                     json=claim(claim_id)).status_code == 200
    refused(http.post(f"/api/v1/reimbursements/{claim_id}/reject", headers=auth,
                      json={"reason": "x\u0000y"}), "reason")
    assert http.get(f"/api/v1/reimbursements/{claim_id}",
                    headers=auth).json()["status"] == "computed"  # not rejected


def test_a_nul_deep_in_a_document_is_named_by_its_path(province: Node) -> None:
    lines = [{"cls": "A", "pric": "1.00", "cnt": "1", "code": f.SERVICE_BED}] * 2 + [
        {"cls": "A", "pric": "1.00", "cnt": "1", "code": "X\u0000"}]
    refused(province.http.post("/api/v1/reimbursements", headers=bearer(province.token),
                               json=claim("NULLINES", lines=lines)), "lines[2].code")


@pytest.mark.parametrize(("body", "field"), [
    (b'{"reason": "x\\u0000"}', "reason"),
    (b'{"a": {"b": [{"c": 1}, {"d": "\\u0000"}]}}', "a.b[1].d"),
    (b'{"settlements": ["S1", "S\\u00001"]}', "settlements"),
    (b'{"ok": "x", "k\\u0000": 1}', "k\\u0000"),
    (b'{"a": ' + b"[" * 1000 + b'"\\u0000"' + b"]" * 1000 + b"}", "a" + "[0]" * 999)])
def test_parse_object_names_the_field_holding_a_nul(body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        parse_object(body)
    assert refusal.value.field == field


def test_an_escaped_backslash_before_u0000_is_text_not_a_nul() -> None:
    assert parse_object(b'{"note": "C:\\\\u0000"}') == {"note": "C:\\u0000"}


# --- console forms -------------------------------------------------------------------------
def test_a_nul_in_the_sign_in_name_is_refused(province: Node) -> None:
    client = TestClient(province.http.app, raise_server_exceptions=False)
    token = csrf_of(client.get("/console/login").text)
    refused(client.post("/console/login", data={"name": "cl\x00erk", "password": PASSWORD,
                                                "csrf_token": token}), "name")


def test_a_nul_in_a_console_forms_reason_is_refused_and_changes_nothing(
        province: Node, console: TestClient) -> None:
    def state() -> Any:
        with province.node.store.tx() as tx:
            return tx.one("institutions", fixmedins_code=f.SHENZHEN_H)
    before = state()
    token = csrf_of(console.get("/console/institutions").text)
    refused(console.post(f"/console/institutions/{f.SHENZHEN_H}/suspend",
                         data={"csrf_token": token, "reason": "fraud\x00"}), "reason")
    assert state() == before


@pytest.mark.parametrize(("chunks", "field"), [
    ([b"csrf_token=t&reason=ab%0", b"0cd"], "form"),  # split: its name is in the last chunk
    ([b"csrf_token=t", b"&reason=ab%00"], "reason"),
    ([b"note=a\x00"], "note")])
def test_a_nul_in_a_streamed_form_is_found_between_chunks(chunks: list[bytes],
                                                          field: str) -> None:
    parts = iter(chunks)

    async def receive() -> dict[str, Any]:
        part = next(parts)
        return {"type": "http.request", "body": part, "more_body": part != chunks[-1]}

    async def read_all() -> None:
        body = CountedBody(receive, send, 1000, form=True)
        for _ in chunks:
            await body.receive()

    async def send(_: Any) -> None:
        raise AssertionError("nothing is sent")
    with pytest.raises(InvalidInput) as refusal:
        asyncio.run(read_all())
    assert refusal.value.field == field


# --- integers beyond an INTEGER column -----------------------------------------------------
def test_a_parameter_set_number_above_int32_is_not_found(console: TestClient) -> None:
    assert console.get("/console/policies/2147483648").status_code == 404
    token = csrf_of(console.get("/console/policies").text)
    answer = console.post("/console/policies/2147483648/approve", data={"csrf_token": token})
    assert answer.status_code == 303, answer.text  # back with the error shown
    assert console.get("/console/policies/2147483647").status_code == 404


def test_storable_knows_integer_columns_from_bigint_ones() -> None:
    assert storable({"id": 2**31 - 1}, t.policy_sets)
    assert not storable({"id": 2**31}, t.policy_sets)
    assert not storable({"id": -(2**31) - 1}, t.policy_sets)
    assert storable({"id": 2**31})  # no table: BIGINT
    assert storable({"medfee_sumamt": 2**40}, t.settlement_index)


# --- the hub -------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[tuple[TestClient, str]]:
    for url in database(request, tmp_path_factory.mktemp("nul-hub")):
        app = create_hub_app(HubConfig(db_url=url, keys={"440000": "k-gd"}))
        with TestClient(app, raise_server_exceptions=False) as http:
            with app.state.store.tx() as tx:
                _, token = create_operator(tx, "hub-ops", "hub", None, datetime.now(UTC))
            yield http, token
        app.state.store.engine.dispose()


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/supervision/cases/C%00"), ("POST", "/supervision/cases/C%00/close"),
    ("POST", "/supervision/tickets/T%00/close")])
def test_a_nul_in_a_hub_path_is_refused(hub: tuple[TestClient, str], method: str,
                                        path: str) -> None:
    http, token = hub
    refused(http.request(method, path, headers=bearer(token),
                         json={"note": "x"} if method == "POST" else None), "path")


def test_a_nul_in_a_hub_operators_note_is_refused(hub: tuple[TestClient, str]) -> None:
    http, token = hub
    answer = http.post("/supervision/cases", headers=bearer(token), json={
        "kind": "verification", "insured": "440000", "treating": "510000",
        "reason": "x\u0000"})
    refused(answer, "reason")
