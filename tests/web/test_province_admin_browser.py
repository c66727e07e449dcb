"""A province operator manages the province's own settings in Chromium against the running
federation of tests/web/conftest.py: suspending and reinstating an institution for
cross-province direct settlement, marking it networked or not; loading a parameter set that a
second operator approves (four eyes)."""

from __future__ import annotations

from typing import Any

import pytest

from medsettle.adapters.cli_demo import today_in_china
from medsettle.adapters.his.client import HisClient, HisError
from tests.api.test_policy_sets import as_yaml, guangzhou_employees
from tests.web.conftest import World, add_operator, open_menu, shot, sign_in

pytestmark = pytest.mark.browser
REASON = "飞行检查发现串换药品，暂停异地直接结算"


def row(tab: Any, code: str) -> Any:
    return tab.locator(f"#institutions tr[data-institution='{code}']")


def test_the_province_operator_suspends_and_reinstates_an_institution(world: World,
                                                                     page: Any) -> None:
    tab = page.tab
    base = world.fed.urls["440000"]
    sign_in(tab, base, "clerk44")
    open_menu(tab, "定点机构")
    assert tab.locator("#institutions tbody tr").count() == 6
    code = tab.locator("#institutions tbody tr").first.get_attribute("data-institution")
    assert code
    # no reason: refused, nothing changes
    row(tab, code).locator("button:has-text('暂停直接结算')").click()
    assert "填写有误：原因" in tab.inner_text(".flash.error")
    assert "正常" in row(tab, code).inner_text()
    row(tab, code).locator("input[name=reason]").fill(REASON)
    row(tab, code).locator("button:has-text('暂停直接结算')").click()
    assert "已完成" in tab.inner_text(".flash")
    assert "已暂停" in row(tab, code).inner_text() and REASON in row(tab, code).inner_text()
    shot(tab, "province-institutions")
    with pytest.raises(HisError, match="suspended"):  # the gateway refuses its HIS now
        HisClient(base, code, "示例医院").sign_in()
    row(tab, code).locator("input[name=reason]").fill("整改完成")
    row(tab, code).locator("button:has-text('恢复直接结算')").click()
    assert "正常" in row(tab, code).inner_text()
    assert HisClient(base, code, "示例医院").sign_in()
    row(tab, code).locator("button:has-text('标记未联网')").click()
    assert "否" in row(tab, code).locator("td").nth(4).inner_text()
    row(tab, code).locator("button:has-text('标记已联网')").click()
    assert "是" in row(tab, code).locator("td").nth(4).inner_text()
    open_menu(tab, "审计日志")
    log = tab.inner_text("table.audit")
    for action in ("institution.suspend", "institution.reinstate",
                   "institution.not_networked", "institution.networked"):
        assert action in log
    assert REASON in log


def test_a_parameter_set_is_uploaded_by_one_operator_and_approved_by_another(
        world: World, page: Any) -> None:
    add_operator(world.fed.dbs["440000"], "checker44", "province", "440000")
    tab = page.tab
    base = world.fed.urls["440000"]
    sign_in(tab, base, "clerk44")
    open_menu(tab, "待遇参数")
    served = tab.locator("#served tr[data-region='440100'][data-scheme='employee']")
    assert "440100-employee-2025" in served.inner_text() and "内置种子参数" in served.inner_text()
    assert "示例参数，非正式政策" in served.inner_text()

    bad = guangzhou_employees("440100-employee-bad", "1.50", "2027-01-01")
    bad["caps"]["main"] = 1.5
    tab.set_input_files("input[name=document]", files=[{
        "name": "bad.yaml", "mimeType": "application/yaml", "buffer": as_yaml(bad)}])
    tab.click("form.upload button")
    errors = tab.inner_text("#upload-errors")
    assert "benefits.outpatient.ratio.active.L3" in errors and "caps.main" in errors

    day = today_in_china().isoformat()
    doc = guangzhou_employees("440100-employee-2026", "0.80", day)
    tab.set_input_files("input[name=document]", files=[{
        "name": "440100-employee-2026.yaml", "mimeType": "application/yaml",
        "buffer": as_yaml(doc)}])
    tab.click("form.upload button")
    assert "已提交" in tab.inner_text(".flash")
    assert "示例参数，非正式政策：440100-employee-2026" in tab.inner_text(
        "#notice")
    differences = tab.inner_text("#differences")
    assert "outpatient pool ratio, active" in differences and "80%" in differences
    assert tab.locator("#decision button:has-text('批准')").count() == 0  # not the proposer
    shot(tab, "province-policy-review")
    review = tab.url

    sign_in(tab, base, "checker44")
    tab.goto(review)
    tab.click("#decision button:has-text('批准')")
    assert "已完成" in tab.inner_text(".flash")
    assert "已批准" in tab.inner_text("h1")
    tab.click("text=← 待遇参数")
    served = tab.locator("#served tr[data-region='440100'][data-scheme='employee']")
    assert "440100-employee-2026" in served.inner_text() and "本节点已审批" in served.inner_text()
    shot(tab, "province-policies")
    open_menu(tab, "审计日志")
    log = tab.inner_text("table.audit")
    assert "policy.propose" in log and "policy.approve" in log and "checker44" in log
