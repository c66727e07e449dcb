"""A province operator manages the province's own settings in Chromium against the running
federation of tests/web/conftest.py: suspending and reinstating an institution for
cross-province direct settlement, marking it networked or not."""

from __future__ import annotations

from typing import Any

import pytest

from medsettle.adapters.his.client import HisClient, HisError
from tests.web.conftest import World, shot, sign_in

pytestmark = pytest.mark.browser
REASON = "飞行检查发现串换药品，暂停异地直接结算"


def row(tab: Any, code: str) -> Any:
    return tab.locator(f"#institutions tr[data-institution='{code}']")


def test_the_province_operator_suspends_and_reinstates_an_institution(world: World,
                                                                     page: Any) -> None:
    tab = page.tab
    base = world.fed.urls["440000"]
    sign_in(tab, base, "clerk44")
    tab.click("nav.menu >> text=定点机构")
    assert tab.locator("#institutions tbody tr").count() == 6
    code = tab.locator("#institutions tbody tr").first.get_attribute("data-institution")
    assert code
    # no reason: refused, nothing changes
    row(tab, code).locator("button:has-text('暂停直接结算')").click()
    assert "reason" in tab.inner_text(".flash.error")
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
    tab.click("nav.menu >> text=审计日志")
    log = tab.inner_text("table.audit")
    for action in ("institution.suspend", "institution.reinstate",
                   "institution.not_networked", "institution.networked"):
        assert action in log
    assert REASON in log
