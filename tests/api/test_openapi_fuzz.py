"""Schemathesis against every node's OpenAPI document: the province node's and the hub's.

For each operation of /openapi.json, schemathesis generates the path, query and (where declared)
body; where a route reads a body the document does not describe, hypothesis adds any JSON. Each
case goes out unauthenticated, as a valid operator of the node, or signed with a valid node key
(so the fuzz reaches past the doors as well as knocking on them). Every answer must be below 500
(a 503 that says a peer is unavailable is counted apart: the in-process nodes have no peers
running), and an error must be the node's own JSON (`{"ok": false, "error": {code, message,
field}}`) with a code other than `internal`, naming the field when it is about the input.
bench/bench_fuzz.py runs 10,000 cases per node.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import signed_headers
from medsettle.services.operators import create_operator
from medsettle.services.person_auth import request_code
from tests.api.conftest import Province, TestClient, add_operator, bearer
from tests.api.test_his_fuzz import ANY_JSON
from tests.e2e import fixtures as f

CASES = int(os.environ.get("MEDSETTLE_FUZZ_CASES", "300"))
INPUT_CODES = {"invalid_input", "invalid_code", "invalid_amount"}
PEER_CODES = {"peer_unavailable", "peer_timed_out", "peer_unreachable", "peer_bad_answer"}
HUB_KEYS = {"440000": "k-guangdong", "510000": "k-sichuan"}
TALLY: dict[str, Counter[str]] = {"province": Counter(), "hub": Counter()}


def check(status: int, text: str, where: str) -> str:
    """The kind of answer; fails on a server error or an error body a caller cannot read."""
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError:
        doc = None
    error = doc.get("error") if isinstance(doc, dict) else None
    if status >= 500:
        assert status == 503 and isinstance(error, dict) and error.get("code") in PEER_CODES, \
            f"{where}: HTTP {status} {text[:300]}"
        return "peer_unavailable"
    if status < 400:
        return str(status)
    if status == 422:  # FastAPI's own check of a typed path or query parameter
        assert isinstance(doc, dict) and all(d.get("loc") for d in doc["detail"]), text[:300]
        return "422"
    if status in (404, 405) and isinstance(doc, dict) and doc.get("detail"):
        return str(status)  # no such route (a generated path that matches none)
    assert isinstance(error, dict), f"{where}: HTTP {status} without an error: {text[:300]}"
    code = error.get("code")
    assert code and code != "internal", f"{where}: {text[:300]}"
    if code in INPUT_CODES:
        assert error.get("field"), f"{where}: the refusal does not name the field: {text[:300]}"
    return str(code)


@dataclass
class Session:
    """A signed-in person's client and the session's CSRF token."""

    client: TestClient
    csrf: str


Credentials = dict[str, str] | tuple[str, str] | Session


def fuzz(client: TestClient, node: str, auth: dict[str, Credentials]) -> None:
    """Send CASES generated requests, spread over every operation of the node's document."""
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    per_operation = max(2, CASES // len(operations))
    for operation in operations:
        @settings(max_examples=per_operation, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), how=st.sampled_from(sorted(auth)),
               extra=st.dictionaries(st.text(max_size=10), ANY_JSON, max_size=4))
        def send(case: schemathesis.Case, how: str, extra: dict[str, Any]) -> None:
            sent = case.as_transport_kwargs(base_url=str(client.base_url))
            url: str = sent["url"]
            path, _, query = url.removeprefix(str(client.base_url)).partition("?")
            if "json" in sent:
                body = json.dumps(sent["json"]).encode()
            elif sent.get("data") is not None:
                data = sent["data"]
                body = data if isinstance(data, bytes) else str(data).encode()
            else:
                body = json.dumps(extra).encode() if case.method.upper() == "POST" else b""
            headers = {k: v for k, v in sent["headers"].items() if k.lower() != "content-length"}
            headers.setdefault("content-type", "application/json")
            params = sent.get("params") or {}
            if params:
                query = urlencode(params, doseq=True)
            credentials, sender = auth[how], client
            if how != "none":  # schemathesis' own made-up Authorization only without credentials
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            if isinstance(credentials, Session):  # a signed-in person (signing out would end it)
                if "/sign-" not in path:
                    sender = credentials.client
                    headers["X-CSRF-Token"] = credentials.csrf
            elif isinstance(credentials, tuple):
                signer, key = credentials
                headers |= signed_headers(key, signer, unquote(path), body, query)
            else:
                headers |= credentials
            response = sender.request(case.method.upper(), path + ("?" + query if query else ""),
                                      content=body or None, headers=headers)
            TALLY[node][check(response.status_code, response.text,
                              f"{case.method.upper()} {path}")] += 1

        send()


def person_session(province: Province) -> Session:
    """A client signed in to the person's app as 陈明 (the code asked for in process)."""
    person = TestClient(province.http.app, raise_server_exceptions=False)
    with province.node.store.tx() as tx:
        code = request_code(tx, f.CHEN["certno"], datetime.now(UTC)).code
    answer = person.post("/api/v1/me/sign-in", json={"certno": f.CHEN["certno"], "code": code})
    assert answer.status_code == 200, answer.text
    return Session(person, answer.json()["csrf_token"])


def report(node: str) -> None:
    out = os.environ.get("MEDSETTLE_FUZZ_REPORT")
    if out:
        with open(out, "a", encoding="utf-8") as f:
            f.write(json.dumps({"target": node, "cases": sum(TALLY[node].values()),
                                "answers": dict(TALLY[node])}) + "\n")


@pytest.fixture(scope="module")
def chen_session(province: Province) -> Session:
    return person_session(province)


def test_schemathesis_finds_no_server_error_at_the_province_node(
        province: Province, chen_session: Session) -> None:
    token = add_operator(province.node, "fuzzer")
    client = TestClient(province.http.app, raise_server_exceptions=False)
    fuzz(client, "province", {"none": {}, "operator": bearer(token),
                              "hub-signed": ("hub", "k"), "person": chen_session})
    report("province")
    assert sum(TALLY["province"].values()) >= CASES * 0.5


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    db: Path = tmp_path_factory.mktemp("hub") / "hub.db"
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{db}", keys=HUB_KEYS, call_timeout=0.5))
    engine = make_engine(f"sqlite:///{db}")
    with Store(engine).tx() as tx:
        _, token = create_operator(tx, "fuzzer", "hub", None, datetime.now(UTC))
    engine.dispose()
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, token


def test_schemathesis_finds_no_server_error_at_the_hub(hub: tuple[TestClient, str]) -> None:
    client, token = hub
    fuzz(client, "hub", {"none": {}, "operator": bearer(token),
                         "province-signed": ("440000", HUB_KEYS["440000"])})
    report("hub")
    assert sum(TALLY["hub"].values()) >= CASES * 0.5


# --- what the fuzz found, kept as regression tests ---------------------------------------------

def test_a_family_link_number_beyond_64_bits_is_not_found(chen_session: Session) -> None:
    me = chen_session
    answer = me.client.post(f"/api/v1/me/family/{2**63}/consent",
                            headers={"X-CSRF-Token": me.csrf})
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"]["code"] == "not_found"


def test_a_filing_form_key_that_is_no_name_is_refused_naming_the_body(
        chen_session: Session) -> None:
    me = chen_session
    answer = me.client.post("/api/v1/me/filings", json={"": 1, "category": "other_temp"},
                            headers={"X-CSRF-Token": me.csrf})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["field"] == "body" and "'' is not a field of the filing form" in \
        error["message"]
