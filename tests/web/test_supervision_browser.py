"""The supervision pages in Chromium against the running federation: the hub opens a case on a
settlement of the played day and requests its verification, the treating province answers in its
own console (and raises a ticket about the settlement, whose number must wrap on a phone), the
hub decides and the treating province's credit page shows the deduction; the statistics page
draws its charts; screenshots for docs/screenshots."""

from __future__ import annotations

from typing import Any

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from tests.web.conftest import PHONE, World, shot, sign_in


def _rows(url: str, table: str, **keys: Any) -> list[Any]:
    store = Store(make_engine(url))
    try:
        with store.tx() as tx:
            return list(tx.rows(table, **keys))
    finally:
        store.engine.dispose()


def a_cross_province_settlement(world: World) -> Any:
    """The first (by setl_id) cross-province settlement the funds paid for, whose treating
    province screened some rule hits in real time (its console lists them): the same one
    whatever order the hub's index happens to hold its rows in."""
    world.fed.flush_hub_journal()
    candidates = sorted((r for r in _rows(world.fed.dbs["hub"], "settlement_index", kind="settle")
                         if r.insu_admdvs[:2] != r.mdtrtarea_admvs[:2]
                         and int(r.fund_pay_sumamt) > 0), key=lambda r: r.setl_id)
    screened = {p for p in {r.mdtrtarea_admvs[:2] for r in candidates}
                if any(h.source != "replaced"
                       for h in _rows(world.fed.dbs[p + "0000"], "supervision_hits"))}
    return next(r for r in candidates if r.mdtrtarea_admvs[:2] in screened)


def test_a_case_between_two_provinces_in_their_consoles(world: World, page: Any) -> None:
    row = a_cross_province_settlement(world)
    insured, treating = row.insu_admdvs[:2] + "0000", row.mdtrtarea_admvs[:2] + "0000"
    tab = page.tab
    hub = world.url("hub", "")
    sign_in(tab, hub, "hubops")
    tab.goto(hub + "/console/supervision")
    form = tab.locator("form[action='/console/supervision/cases']")
    form.locator("input[name=insured]").fill(insured)
    form.locator("input[name=treating]").fill(treating)
    form.locator("input[name=settlements]").fill(row.setl_id)
    form.locator("input[name=reason]").fill("R03 同日重复收取床位费")
    form.locator("button[type=submit]").click()
    tab.wait_for_load_state("networkidle")
    assert "已完成" in tab.inner_text(".flash")
    tab.click("#cases a")
    tab.check("input[name=carry_over]")
    tab.click("form[action$='/request'] button")
    tab.wait_for_load_state("networkidle")
    assert "已发起协查" in tab.inner_text("h1")
    shot(tab, "hub-case")
    tab.goto(hub + "/console/supervision")
    shot(tab, "hub-supervision")

    province = world.url(treating, "")
    sign_in(tab, province, f"clerk{treating[:2]}")
    tab.goto(province + "/console/supervision")
    assert "重复参保" in tab.inner_text("#insured-elsewhere")
    assert tab.locator("#hits tbody td[data-label]").count() > 0  # the settlement's R03 hit
    raise_ticket = tab.locator("form[action='/console/supervision/tickets']")
    raise_ticket.locator("input[name=raised_to]").fill(insured)
    raise_ticket.locator("input[name=settlement_id]").fill(row.setl_id)
    raise_ticket.locator("input[name=subject]").fill("请核对该结算的床位费明细")
    raise_ticket.locator("button[type=submit]").click()
    tab.wait_for_load_state("networkidle")
    assert row.setl_id in tab.inner_text("#tickets")
    assert tab.locator("#tickets form[action$='/acknowledge']").count() == 0  # not the raiser's
    hidden = tab.evaluate("""[...document.querySelectorAll('.scroll')]
        .filter(s => s.scrollWidth > s.clientWidth + 1).map(s => s.querySelector('table').id)""")
    assert hidden == []  # no column (the hit's case) hidden past a table's right edge
    shot(tab, "province-supervision")
    desktop = tab.viewport_size
    tab.set_viewport_size(PHONE)
    try:  # the ticket's long settlement number wraps within a phone's screen
        tab.reload()
        tab.wait_for_load_state("networkidle")
        width = tab.evaluate("document.documentElement.clientWidth")
        assert tab.evaluate("document.documentElement.scrollWidth") <= width + 1
        box = tab.locator("#tickets code.hash").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 1
        shot(tab, "phone-province-tickets")
    finally:
        tab.set_viewport_size(desktop)
    receiver = world.url(insured, "")
    sign_in(tab, receiver, f"clerk{insured[:2]}")
    tab.goto(receiver + "/console/supervision")
    tab.click("#tickets form[action$='/acknowledge'] button")  # the receiving province's to do
    tab.wait_for_load_state("networkidle")
    assert tab.locator("#tickets form[action$='/work']").count() == 1
    sign_in(tab, province, f"clerk{treating[:2]}")
    tab.goto(province + "/console/supervision")
    tab.click("#cases a")
    tab.select_option("select[name=outcome]", "partly_refused")
    tab.fill("input[name=refused]", "0.01")
    tab.select_option("select[name=severity]", "serious")
    tab.fill("form[action$='/answer'] input[name=note]", "一天床位费重复收取")
    tab.click("form[action$='/answer'] button")
    tab.wait_for_load_state("networkidle")
    assert "已反馈" in tab.inner_text("h1"), tab.inner_text("main")
    shot(tab, "province-case")

    sign_in(tab, hub, "hubops")
    tab.goto(tab.url.replace(province, hub) if tab.url.startswith(province) else tab.url)
    tab.goto(hub + "/console/supervision")
    tab.click("#cases a")
    tab.click("form[action$='/decide'] button")
    tab.wait_for_load_state("networkidle")
    assert "已决定" in tab.inner_text("h1")
    assert "90" in tab.inner_text("dl.facts")  # the treating province deducted 10 points

    sign_in(tab, province, f"clerk{treating[:2]}")
    tab.goto(province + "/console/credit")
    assert "90" in tab.inner_text("#credit")
    shot(tab, "province-credit")


def test_the_statistics_page_draws_its_charts(world: World, page: Any) -> None:
    tab = page.tab
    hub = world.url("hub", "")
    sign_in(tab, hub, "hubops")
    tab.goto(hub + "/console/statistics")
    tab.click("form[action='/console/statistics/collect'] button")
    tab.wait_for_load_state("networkidle")
    tab.goto(hub + f"/console/statistics?month={world.month}")
    tab.wait_for_function("document.querySelectorAll('canvas').length === 2")
    assert tab.locator("#by-province tbody tr").count() > 0
    shot(tab, "hub-statistics")
