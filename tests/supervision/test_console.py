"""The supervision pages of the console, in process: the hub's Supervision and Statistics
(open a case, move it, auditors read only), a province's Credit (reinstate a suspended
institution, terminate a person), every action audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.cli_nodes import new_keys
from medsettle.services import credit
from medsettle.services.operators import create_operator
from tests.api.conftest import REGION, Province, start_province
from tests.api.test_console_pages import PASSWORD, csrf_of, sign_in
from tests.e2e import fixtures as f
from tests.supervision.test_statistics import row


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("hub") / "hub.db"
    app = create_hub_app(HubConfig(f"sqlite:///{db}", new_keys()))
    store = app.state.store
    with store.tx() as tx:
        for name, role in (("hub-ops", "hub"), ("inspector", "auditor")):
            create_operator(tx, name, role, None, datetime.now(UTC), PASSWORD)
        now = datetime.now(UTC)
        tx.add_many("settlement_index", [row("S1", "620100", "310100", "inpatient", 100_000,
                                             60_000, when=now)])
    with TestClient(app, follow_redirects=False) as client:
        yield client


def test_the_hub_opens_and_moves_a_case_in_the_console(hub: TestClient) -> None:
    sign_in(hub, "hub-ops")
    page = hub.get("/console/supervision")
    assert page.status_code == 200 and "立案" in page.text
    answer = hub.post("/console/supervision/cases", data={
        "csrf_token": csrf_of(page.text), "kind": "verification", "insured": "620000",
        "treating": "310000", "settlements": "S1", "reason": "R03 重复收费"})
    assert answer.status_code == 303
    listing = hub.get("/console/supervision").text
    case_id = listing.split('/console/supervision/cases/')[1].split('"')[0]
    case_page = hub.get(f"/console/supervision/cases/{case_id}").text
    assert "发起费用协查" in case_page and "¥600.00" in case_page
    hub.post(f"/console/supervision/cases/{case_id}/request",
             data={"csrf_token": csrf_of(case_page), "carry_over": "on"})
    case_page = hub.get(f"/console/supervision/cases/{case_id}").text
    assert "暂缓清算" in case_page and "反馈" in case_page
    hub.post(f"/console/supervision/cases/{case_id}/answer", data={
        "csrf_token": csrf_of(case_page), "outcome": "partly_refused", "refused": "100.50",
        "severity": "minor", "note": "one bed day twice"})
    case_page = hub.get(f"/console/supervision/cases/{case_id}").text
    assert "¥100.50" in case_page and "部分拒付" in case_page
    stats = hub.get("/console/statistics")
    assert stats.status_code == 200 and 'id="direct"' in stats.text
    hub.post("/console/logout", data={"csrf_token": csrf_of(stats.text)})


def test_an_auditor_reads_supervision_but_cannot_act(hub: TestClient) -> None:
    sign_in(hub, "inspector")
    page = hub.get("/console/supervision")
    assert page.status_code == 200 and "立案</button>" not in page.text
    refused = hub.post("/console/supervision/run", data={"csrf_token": csrf_of(page.text),
                                                          "month": "2026-10"})
    assert refused.status_code == 403
    hub.post("/console/logout", data={"csrf_token": csrf_of(page.text)})


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory, book: object) -> Iterator[Province]:
    yield from start_province(tmp_path_factory.mktemp("credit"), f.ROWS[REGION], book)  # type: ignore[arg-type]


def test_a_province_reinstates_a_suspended_institution_and_terminates_a_person(
        province: Province) -> None:
    store = province.node.store
    with store.tx() as tx:
        create_operator(tx, "gd-ops", "province", REGION, datetime.now(UTC), PASSWORD)
        credit.apply_decision(tx, case_id="C1", institution=f.SHENZHEN_H, insured="510000",
                              severity="fraud", refused=1000, now=datetime.now(UTC),
                              actor="node:hub")
    client = TestClient(province.http.app, follow_redirects=False)
    sign_in(client, "gd-ops")
    page = client.get("/console/credit").text
    assert "整改后恢复结算" in page and ">70<" in page
    client.post(f"/console/credit/{f.SHENZHEN_H}/reinstate",
                data={"csrf_token": csrf_of(page), "note": "整改完成"})
    client.post("/console/persons/direct-settlement", data={
        "csrf_token": csrf_of(page), "psn_no": f.CHEN["psn_no"], "barred": "yes",
        "reason": "冒名就医"})
    with store.tx() as tx:
        assert tx.one("institutions", fixmedins_code=f.SHENZHEN_H).suspended is False
        assert tx.one("persons", psn_no=f.CHEN["psn_no"]).direct_settlement_barred is True
        actions = [r.action for r in tx.rows("audit_log", order_by="id")]
    assert actions[-2:] == ["credit.reinstate", "person.terminate"]
    page = client.get("/console/supervision")
    assert page.status_code == 200 and "无法询问国家平台" in page.text  # no hub configured
