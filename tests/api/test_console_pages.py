"""The province console behind sign-in: passwords, sessions, CSRF, roles, the audit log, and
/docs served offline. In-process (TestClient); the browser tests (tests/web) click the same
pages in Chromium against a running federation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from medsettle.adapters.db.engine import make_engine
from medsettle.core.errors import StateConflict
from medsettle.services.operators import create_operator
from tests.api.conftest import REGION, Province, TestClient, bearer, start_province
from tests.e2e import fixtures as f

PASSWORD = "correct horse battery"
PSN_NO = f.CHEN["psn_no"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: object) -> Iterator[Province]:
    yield from start_province(tmp_path_factory.mktemp("console"), f.ROWS[REGION], book)  # type: ignore[arg-type]


def add(node: Province, name: str, role: str = "province", region: str | None = REGION) -> str:
    with node.node.store.tx() as tx:
        _, token = create_operator(tx, name, role, region, datetime.now(UTC), PASSWORD)
    return token


@pytest.fixture(scope="module")
def tokens(node: Province) -> dict[str, str]:
    return {"clerk": add(node, "clerk"), "audit": add(node, "audit", "auditor"),
            "sichuan": add(node, "sichuan", region="510000")}


def browser(node: Province) -> TestClient:
    return TestClient(node.http.app, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> TestClient:
    token = csrf_of(client.get("/console/login").text)
    answer = client.post("/console/login", data={"name": name, "password": password,
                                                 "csrf_token": token, "next": "/console"})
    assert answer.status_code == 303, answer.text
    return client


def pending_filing(clerk_token: str, node: Province) -> str:
    answer = node.http.post("/api/v1/filings", headers=bearer(clerk_token), json={
        "psn_no": PSN_NO, "category": "referral", "destination": "310100",
        "channel": "app", "materials": ["referral_proof"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "pending"
    return str(answer.json()["filing_no"])


def audit_lines(node: Province) -> list[tuple[str, str, str]]:
    with node.node.store.tx() as tx:
        return [(r.actor, r.action, r.target) for r in tx.rows("audit_log", order_by="id")]


def test_a_page_asks_to_sign_in_first(node: Province) -> None:
    answer = browser(node).get("/console/filings")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=/console/filings"


def test_a_wrong_password_shows_the_error_and_signs_nobody_in(node: Province,
                                                            tokens: dict[str, str]) -> None:
    client = browser(node)
    token = csrf_of(client.get("/console/login").text)
    answer = client.post("/console/login", data={"name": "clerk", "password": "wrong password",
                                                 "csrf_token": token})
    assert answer.status_code == 401 and "用户名或密码错误" in answer.text
    assert client.get("/console").status_code == 303


def test_the_operator_signs_in_and_sees_the_console_in_chinese_then_english(
        node: Province, tokens: dict[str, str]) -> None:
    client = sign_in(browser(node), "clerk")
    page = client.get("/console").text
    assert "待审备案" in page and "广东 440000" in page or "广东省 440000" in page
    client.get("/console/lang/en?next=/console")
    assert "Pending filings" in client.get("/console").text


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
        node: Province, tokens: dict[str, str]) -> None:
    filing = pending_filing(tokens["clerk"], node)
    client = sign_in(browser(node), "clerk")
    before = node.snapshot()
    answer = client.post(f"/console/filings/{filing}/decide", data={"decision": "approve"})
    assert answer.status_code == 403 and "CSRF" in answer.text
    assert node.snapshot() == before


def test_approving_a_filing_in_the_console_is_audited(node: Province,
                                                      tokens: dict[str, str]) -> None:
    filing = pending_filing(tokens["clerk"], node)
    client = sign_in(browser(node), "clerk")
    token = csrf_of(client.get("/console/filings").text)
    answer = client.post(f"/console/filings/{filing}/decide",
                         data={"decision": "approve", "csrf_token": token})
    assert answer.status_code == 303
    assert "已完成" in client.get("/console/filings").text
    assert ("clerk", "filing.approve", filing) in audit_lines(node)
    with node.node.store.tx() as tx:
        assert tx.one("filings", filing_no=filing).status == "approved"
        line = tx.rows("audit_log", order_by="id")[-1]
    assert line.before["status"] == "pending" and line.after["status"] == "approved"


def test_refusing_without_a_reason_shows_the_error_and_changes_nothing(
        node: Province, tokens: dict[str, str]) -> None:
    filing = pending_filing(tokens["clerk"], node)
    client = sign_in(browser(node), "clerk")
    token = csrf_of(client.get("/console/filings").text)
    before = node.snapshot()
    client.post(f"/console/filings/{filing}/decide",
                data={"decision": "refuse", "reason": " ", "csrf_token": token})
    assert "填写有误：原因（say why the filing is refused）" in client.get("/console/filings").text
    client.get("/console/lang/en?next=/console")  # the same refusal on an English page
    client.post(f"/console/filings/{filing}/decide",
                data={"decision": "refuse", "reason": " ", "csrf_token": token})
    assert "reason: say why the filing is refused" in client.get("/console/filings").text
    assert node.snapshot() == before


def test_an_auditor_reads_but_cannot_act(node: Province, tokens: dict[str, str]) -> None:
    filing = pending_filing(tokens["clerk"], node)
    client = sign_in(browser(node), "audit")
    page = client.get("/console/filings").text
    assert filing in page and "/decide" not in page  # no buttons for an auditor
    before = node.snapshot()
    answer = client.post(f"/console/filings/{filing}/decide",
                         data={"decision": "approve", "csrf_token": csrf_of(page)})
    assert answer.status_code == 403 and "reads only" in answer.text
    assert node.snapshot() == before
    assert node.http.post(f"/api/v1/filings/{filing}/decision", headers=bearer(tokens["audit"]),
                          json={"approve": True}).status_code == 403


def test_an_operator_of_another_province_is_forbidden(node: Province,
                                                      tokens: dict[str, str]) -> None:
    client = browser(node)
    token = csrf_of(client.get("/console/login").text)
    answer = client.post("/console/login", data={"name": "sichuan", "password": PASSWORD,
                                                 "csrf_token": token})
    assert answer.status_code == 401 and "510000" in answer.text


def test_a_clearing_action_for_another_province_is_forbidden(node: Province,
                                                             tokens: dict[str, str]) -> None:
    client = sign_in(browser(node), "clerk")
    token = csrf_of(client.get("/console/institutions").text)
    before = node.snapshot()
    answer = client.post("/console/clearing/2026-10/110000/confirm_insured",
                         data={"csrf_token": token})
    assert answer.status_code == 403 and "not 110000" in answer.text
    assert node.snapshot() == before


def test_a_change_by_token_is_audited_too(node: Province, tokens: dict[str, str]) -> None:
    filing = pending_filing(tokens["clerk"], node)
    assert ("clerk", "filing.create", filing) in audit_lines(node)


def test_the_audit_log_refuses_updates_and_deletes(node: Province,
                                                   tokens: dict[str, str]) -> None:
    pending_filing(tokens["clerk"], node)
    with pytest.raises(StateConflict, match="append-only"), node.node.store.tx() as tx:
        tx.change("audit_log", {"actor": "clerk"}, actor="someone else")
    engine = make_engine(str(node.node.store.engine.url))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM audit_log")
    engine.dispose()


def test_signing_out_ends_the_session(node: Province, tokens: dict[str, str]) -> None:
    client = sign_in(browser(node), "clerk")
    token = csrf_of(client.get("/console").text)
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/console").status_code == 303


def test_docs_work_offline(node: Province) -> None:
    page = node.http.get("/docs").text
    assert "/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert node.http.get("/static/vendor/swagger-ui-5.35.0/swagger-ui-bundle.js"
                         ).status_code == 200


def test_vendored_files_are_where_the_pages_load_them() -> None:
    static = Path(__file__).parents[2] / "src/medsettle/adapters/web/static/vendor"
    assert (static / "htmx-2.0.11.min.js").is_file()
    assert (static / "chart-4.6.1.umd.min.js").is_file()
