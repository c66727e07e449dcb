"""The console clicked through in headless Chromium against a running federation (hub + 3
provinces): every flow of the hub and a province operator, what an auditor and another
province's operator may not do, bad input that changes nothing, phone width, screenshots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.services import refusals
from tests.web.conftest import DESKTOP, PHONE, World, open_menu, shot, sign_in

pytestmark = pytest.mark.browser


def no_sideways_scroll(tab: Any) -> None:
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= tab.viewport_size["width"] + 1, f"page is {width}px wide"


def statement_row(tab: Any, province: str) -> Any:
    return tab.locator(f"#statements tr[data-province='{province}']")


def test_the_hub_dashboard_draws_its_charts_and_the_board_shows_every_node(
        world: World, page: Any) -> None:
    tab = page.tab
    sign_in(tab, world.fed.hub_url, "hubops")
    assert "总览" in tab.inner_text("h1")
    tab.wait_for_function("document.querySelectorAll('canvas').length === 3 && "
                          "Chart.getChart('hourly') !== undefined")
    assert tab.locator("#heatmap td").count() >= 4
    assert "广东" in tab.inner_text("#heatmap")
    shot(tab, "hub-dashboard")
    open_menu(tab, "节点")
    assert tab.locator("#nodes tbody tr").count() == 3
    assert tab.locator("#nodes .badge.up").count() == 3
    assert "北京" in tab.inner_text("#nodes")
    with tab.expect_response(lambda r: r.url.endswith("/console/nodes/board")):
        pass  # the board refreshes itself (htmx, every 5 s)
    shot(tab, "hub-nodes")


def test_the_hub_operator_confirms_pays_and_disputes_statements(world: World,
                                                                page: Any) -> None:
    tab = page.tab
    sign_in(tab, world.fed.hub_url, "hubops")
    tab.goto(world.url("hub", "/console/clearing"))
    tab.click(f"#months >> text={world.month}")
    row = statement_row(tab, "440000")
    row.locator("text=以参保地确认").click()
    assert "已完成" in tab.inner_text(".flash")
    statement_row(tab, "440000").locator("text=以就医地确认").click()
    assert "已确认" in statement_row(tab, "440000").inner_text()
    statement_row(tab, "440000").locator("text=标记已拨付").click()
    assert "已拨付" in statement_row(tab, "440000").inner_text()
    # a dispute without a reason shows the error and changes nothing
    before = statement_row(tab, "110000").inner_text()
    statement_row(tab, "110000").locator("button:has-text('提出异议')").click()
    assert "填写有误：原因" in tab.inner_text(".flash.error")
    assert statement_row(tab, "110000").inner_text() == before
    statement_row(tab, "110000").locator("input[name=reason]").fill("协查中：3 笔费用待核实")
    statement_row(tab, "110000").locator("button:has-text('提出异议')").click()
    assert "有异议" in statement_row(tab, "110000").inner_text()
    assert "协查中" in statement_row(tab, "110000").inner_text()
    shot(tab, "hub-clearing")
    open_menu(tab, "审计日志")
    log = tab.inner_text("table.audit")
    assert "clearing.confirm_insured" in log and "clearing.paid" in log and "hubops" in log
    shot(tab, "hub-audit")


def test_the_hub_lists_the_adjustments_waiting_for_the_next_clearing(world: World,
                                                                     page: Any) -> None:
    """A settlement indexed after its month was cleared waits as a late adjustment."""
    setl_id = f"S{uuid.uuid4().int % 10**29:029d}"  # the world may hold others already
    engine = make_engine(world.fed.dbs["hub"])
    try:
        with Store(engine).tx() as tx:
            refusals.add(tx, setl_id, "510100", "440100", "late", 12_345, datetime.now(UTC))
    finally:
        engine.dispose()
    tab = page.tab
    sign_in(tab, world.fed.hub_url, "hubops")
    tab.goto(world.url("hub", "/console/clearing"))
    late = tab.locator("#adjustments tr[data-kind=late]", has_text=setl_id)
    assert late.count() == 1
    assert "清算后补记" in late.inner_text() and "¥123.45" in late.inner_text()
    assert "四川" in late.inner_text() and "广东" in late.inner_text()
    assert "待下次清算的调整" in tab.inner_text("main")
    shot(tab, "hub-clearing-months")


def test_the_hub_shows_prepayment_and_refuses_a_bad_top_up(world: World, page: Any) -> None:
    tab = page.tab
    sign_in(tab, world.fed.hub_url, "hubops")
    tab.goto(world.url("hub", "/console/prepayment"))
    rows = tab.locator("#accounts tbody tr")
    assert rows.count() >= 1
    first = rows.first
    before = first.inner_text()
    first.locator("input[name=amount]").fill("-5")
    first.locator("button").click()
    assert "金额" in tab.inner_text(".flash.error")
    assert tab.locator("#accounts tbody tr").first.inner_text() == before
    tab.locator("#accounts tbody tr").first.locator("input[name=amount]").fill("1,000,000")
    tab.locator("#accounts tbody tr").first.locator("input[name=reference]").fill("BANK-0001")
    tab.locator("#accounts tbody tr").first.locator("button").click()
    assert "已完成" in tab.inner_text(".flash")
    assert "¥" in tab.inner_text("#accounts") and "," in tab.inner_text("#accounts")
    shot(tab, "hub-prepayment")
    tab.set_viewport_size(PHONE)  # the top-up form (amount, transfer number) on a phone
    tab.reload()
    form = tab.locator("#accounts tbody tr").first.locator("form")
    assert form.locator("input[name=reference]").is_visible()
    assert form.bounding_box()["x"] + form.bounding_box()["width"] <= PHONE["width"]
    shot(tab, "phone-hub-prepayment")
    tab.set_viewport_size(DESKTOP)


def test_the_hub_finds_a_settlement_and_proves_its_ledger_entries_on_both_nodes(
        world: World, page: Any) -> None:
    tab = page.tab
    sign_in(tab, world.fed.hub_url, "hubops")
    tab.goto(world.url("hub", "/console/search"))
    first = tab.locator("#results tbody tr a").first
    setl_id = first.inner_text().strip()
    tab.fill("input[name=q]", setl_id)
    tab.click("form.search button")
    assert tab.locator("#results tbody tr").count() >= 1
    with tab.expect_navigation():  # the page asks both nodes before it answers
        tab.locator("#results tbody tr a").first.click()
    nodes = tab.locator("section.node")
    assert nodes.count() == 2
    for k in range(2):
        text = nodes.nth(k).inner_text()
        assert "账本分录" in text and "完整" in text and "被篡改" not in text
    assert "line." in tab.inner_text("main")  # reason codes of the fee lines
    shot(tab, "hub-settlement")


def test_the_province_operator_reviews_filings_and_pays_a_claim(world: World,
                                                                page: Any) -> None:
    tab = page.tab
    base = world.fed.urls["440000"]
    sign_in(tab, base, "clerk44")
    assert "待审备案" in tab.inner_text("main")
    shot(tab, "province-dashboard")
    open_menu(tab, "备案审核")
    row = tab.locator(f"#waiting tr[data-filing='{world.pending_filing}']")
    row.locator("button:has-text('不予通过')").click()  # no reason: refused, nothing changes
    assert "填写有误：原因" in tab.inner_text(".flash.error")
    row = tab.locator(f"#waiting tr[data-filing='{world.pending_filing}']")
    assert row.count() == 1
    shot(tab, "province-filings")
    row.locator("button:has-text('通过')").first.click()
    assert tab.locator(f"#waiting tr[data-filing='{world.pending_filing}']").count() == 0
    assert world.pending_filing in tab.inner_text("#decided")
    open_menu(tab, "手工报销")
    claim = tab.locator(f"tr[data-claim='{world.claim_id}']")
    claim.locator("button:has-text('审核通过')").click()
    claim = tab.locator(f"tr[data-claim='{world.claim_id}']")
    assert "已审核" in claim.inner_text()
    claim.locator("button:has-text('支付')").click()
    assert "已拨付" in tab.locator(f"tr[data-claim='{world.claim_id}']").inner_text() or \
        "paid" in tab.locator(f"tr[data-claim='{world.claim_id}']").inner_text()
    shot(tab, "province-reimbursements")
    open_menu(tab, "定点机构")
    assert tab.locator("#institutions tbody tr").count() == 6
    open_menu(tab, "审计日志")
    log = tab.inner_text("table.audit")
    assert "filing.approve" in log and "reimbursement.pay" in log and "clerk44" in log


def test_the_province_operator_confirms_their_side_of_clearing(world: World,
                                                               page: Any) -> None:
    tab = page.tab
    sign_in(tab, world.fed.urls["510000"], "clerk51")
    open_menu(tab, "清算")
    row = tab.locator(f"#statements tr[data-month='{world.month}']")
    assert row.count() == 1
    row.locator("text=以参保地确认").click()
    assert "已完成" in tab.inner_text(".flash")
    assert "是" in tab.locator(f"#statements tr[data-month='{world.month}']").inner_text()
    shot(tab, "province-clearing")
    sign_in(tab, world.fed.hub_url, "hubops")
    tab.goto(world.url("hub", f"/console/clearing/{world.month}"))
    assert "是" in statement_row(tab, "510000").locator("td").nth(5).inner_text()
    tab.goto(world.url("hub", "/console/audit"))
    assert "node:510000 (clerk51)" in tab.inner_text("table.audit")


def test_a_province_operator_cannot_act_for_or_see_another_province(world: World,
                                                                    page: Any) -> None:
    tab = page.tab
    sign_in(tab, world.fed.urls["440000"], "clerk44")
    tab.goto(world.url("440000", "/console/clearing"))
    token = tab.get_attribute("form.who input[name=csrf_token]", "value")
    answer = tab.request.post(world.url("440000", f"/console/clearing/{world.month}/110000/"
                                        "confirm_insured"),
                              form={"csrf_token": str(token)}, max_redirects=0)
    assert answer.status == 403 and "110000" in answer.text()
    sign_in(tab, world.fed.urls["110000"], "clerk44")
    assert "用户名或密码错误" in tab.inner_text("main")
    tab.goto(world.url("110000", "/console/filings"))
    assert "/console/login" in tab.url


def test_an_auditor_reads_everything_and_has_no_buttons(world: World, page: Any) -> None:
    tab = page.tab
    sign_in(tab, world.fed.hub_url, "inspector")
    tab.goto(world.url("hub", f"/console/clearing/{world.month}"))
    assert tab.locator("#statements tbody tr").count() >= 3
    assert tab.locator("#statements button").count() == 0
    sign_in(tab, world.fed.urls["440000"], "audit44")
    tab.goto(world.url("440000", "/console/reimbursements"))
    assert tab.locator("#claims button").count() == 0


def test_english_switch(world: World, page: Any) -> None:
    tab = page.tab
    sign_in(tab, world.fed.hub_url, "hubops")
    tab.click("text=English")
    assert tab.inner_text("h1") == "Dashboard"
    open_menu(tab, "Clearing")
    assert "Run clearing" in tab.inner_text("main")
    tab.click("text=中文")


@pytest.mark.parametrize("node,path,name", [
    ("hub", "/console", "phone-hub-dashboard"),
    ("hub", "/console/nodes", "phone-hub-nodes"),
    ("440000", "/console/filings", "phone-province-filings"),
    ("440000", "/console/reimbursements", "phone-province-reimbursements"),
    ("440000", "/console/institutions", "phone-province-institutions"),
    ("440000", "/console/policies", "phone-province-policies"),
    ("440000", "/console/supervision", "phone-province-supervision"),
])
def test_pages_work_at_phone_width(world: World, phone: Any, node: str, path: str,
                                   name: str) -> None:
    tab = phone.tab
    sign_in(tab, world.url(node, ""), "hubops" if node == "hub" else "clerk44")
    tab.goto(world.url(node, path))
    tab.wait_for_load_state("networkidle")
    no_sideways_scroll(tab)
    table = CARD_TABLES.get(path)
    if table:  # each row a card: every field and action within the screen
        width = tab.evaluate("document.documentElement.clientWidth")
        cells = tab.locator(f"{table} tbody td:visible").all()[:40]  # an empty one is hidden
        assert cells
        for cell in [*cells, *tab.locator(f"{table} td.actions button").all()[:6]]:
            box = cell.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1
        overflowing = tab.evaluate(f"""[...document.querySelectorAll('{table} tbody td')]
            .filter(td => td.scrollWidth > td.clientWidth + 1).map(td => td.dataset.label)""")
        assert overflowing == []  # nothing in a card runs past its edge
    shot(tab, name)


#: The tables that become one card per row at phone width.
CARD_TABLES = {"/console/institutions": "#institutions", "/console/filings": "#waiting",
               "/console/reimbursements": "#claims", "/console/nodes": "#nodes",
               "/console/policies": "#served", "/console/supervision": "table.stack"}


def test_docs_load_without_internet(world: World, page: Any) -> None:
    tab = page.tab
    outside: list[str] = []
    tab.on("request", lambda r: outside.append(r.url)
           if not r.url.startswith(("http://127.0.0.1", "data:")) else None)
    tab.goto(world.url("440000", "/docs"))
    tab.wait_for_selector(".swagger-ui .info .title")
    assert outside == []
    assert DESKTOP != PHONE
