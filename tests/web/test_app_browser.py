"""The insured person's app clicked through in headless Chromium at phone width, against the
browser tests' running federation (hub + 440000, 110000, 510000): a Guangdong employee signs in
with the one-time code from the node's log, files by commitment for Sichuan and sees it
approved, estimates a stay, finds a Sichuan hospital through the hub, is treated there (the
test drives that hospital's HIS with the e-voucher the app shows), sees the settlement with the
amounts the hospital got and its bill, files and cancels a temporary filing; a second person
cannot see any of it. Screenshots at phone width into docs/screenshots/phone-app-*.png."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from medsettle.adapters.cli_demo import today_in_china
from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.his.client import Patient, VisitFlow
from medsettle.core.privacy import mask_id
from tests.web.conftest import World, shot

pytestmark = pytest.mark.browser


@dataclass
class Persons:
    """Three employees of Guangdong with no filing yet, and what the flow leaves for later steps."""

    first: dict[str, Any]
    second: dict[str, Any]
    third: dict[str, Any]
    seen: dict[str, Any] = field(default_factory=dict)


def _persons_without_filings(world: World) -> list[dict[str, Any]]:
    engine = make_engine(world.fed.dbs["440000"])
    with engine.connect() as conn:
        numbers = conn.execute(text(
            "SELECT psn_no FROM persons WHERE insutype = '310' "
            "AND psn_type IN ('11', '1101', '12') AND insurance_active "
            "AND psn_no NOT IN (SELECT psn_no FROM filings) "
            "AND psn_no NOT IN (SELECT psn_no FROM insured_visits) ORDER BY psn_no")).scalars()
        numbers = list(numbers)
    with Store(engine).tx() as tx:  # ID numbers and names are sealed: read them through the app
        rows = [tx.one("persons", psn_no=n) for n in numbers]
    engine.dispose()
    return [{"psn_no": r.psn_no, "certno": r.certno, "psn_name": r.psn_name} for r in rows if r]


@pytest.fixture(scope="module")
def persons(world: World) -> Persons:
    found = _persons_without_filings(world)
    assert len(found) >= 3, "the population has no three employees without filings"
    return Persons(found[0], found[1], found[2])


def code_from_log(world: World, certno: str) -> str:
    """The last one-time code the node wrote to its log for this ID number."""
    log = world.fed.workdir / "440000.log"
    codes = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if "one-time sign-in code" in line:
            doc = json.loads(line)
            if doc.get("certno") == mask_id(certno):
                codes.append(str(doc["code"]))
    assert codes, "no code in the node's log"
    return codes[-1]


def sign_in(tab: Any, world: World, person: dict[str, Any]) -> None:
    tab.goto(world.url("440000", "/app/login"))
    tab.fill("input[name=certno]", person["certno"])
    tab.click("button:has-text('获取验证码')")
    tab.wait_for_selector("input[name=code]")
    tab.fill("input[name=code]", code_from_log(world, person["certno"]))
    tab.click("button:has-text('登录')")
    tab.wait_for_url(re.compile(r".*/app$"))


def no_sideways_scroll(tab: Any) -> None:
    width = tab.evaluate("document.documentElement.scrollWidth")
    assert width <= tab.viewport_size["width"] + 1, f"page is {width}px wide"


def fen(yuan: Any) -> int:
    return int((Decimal(str(yuan)) * 100).to_integral_value())


def test_a_person_files_estimates_finds_a_hospital_is_treated_and_sees_the_settlement(
        world: World, persons: Persons, phone: Any) -> None:
    tab = phone.tab
    person = persons.first
    tab.goto(world.url("440000", "/app"))
    assert "/app/login" in tab.url  # sign in first
    tab.fill("input[name=certno]", "123")
    tab.click("button:has-text('获取验证码')")
    assert "身份证号" in tab.inner_text("#error")
    shot(tab, "phone-app-sign-in")
    sign_in(tab, world, person)
    assert person["psn_name"][0] + "*" in tab.inner_text("#person")
    assert person["certno"] not in tab.content()  # masked where the full number is not needed
    shot(tab, "phone-app-home")
    no_sideways_scroll(tab)

    # file with commitment: approved at once
    tab.click("nav.tabs >> text=异地备案")
    form = tab.locator("#new-filing form")
    form.locator("select[name=category]").select_option("posted_worker")
    form.locator("select[name=destination]").select_option("510000")
    form.locator("input[name=commitment]").check()
    form.locator("button[type=submit]").click()
    assert "已完成" in tab.inner_text(".flash")
    assert "已生效" in tab.inner_text("#status")
    assert "承诺制" in tab.inner_text("#filing")
    filing_no = tab.inner_text("#filing-no").strip()
    assert re.fullmatch(r"BA440\d{3}\d{8}\d{6}", filing_no)
    shot(tab, "phone-app-filing")
    no_sideways_scroll(tab)

    # find a hospital in Sichuan: the 510000 node answers through the hub
    tab.goto(world.url("440000", "/app/institutions"))
    tab.select_option("#search select[name=region]", "510000")
    tab.select_option("#search select[name=service]", "inpatient")
    tab.click("#search button[type=submit]")
    tab.wait_for_selector("#institutions li[data-code]")
    first = tab.locator("#institutions li[data-code]").first
    code = first.get_attribute("data-code")
    level = {"三级": "L3", "二级": "L2", "一级": "L1", "基层": "L0"}[
        first.locator(".badge").inner_text().strip()]
    assert int(tab.inner_text("#found-count b")) >= 1
    shot(tab, "phone-app-institutions")
    no_sideways_scroll(tab)

    # estimate a stay there
    tab.goto(world.url("440000", "/app/estimate"))
    tab.select_option("#estimate-form select[name=region]", "510000")
    tab.select_option("#estimate-form select[name=level]", level)
    tab.fill("#estimate-form input[name=amount]", "abc")
    tab.click("#estimate-form button[type=submit]")
    assert "金额" in tab.inner_text("#error")  # the error names the field, in Chinese
    tab.fill("#estimate-form input[name=amount]", "8000")
    tab.click("#estimate-form button[type=submit]")
    assert "按您现在的备案" in tab.inner_text("#estimate h2")
    steps = tab.locator("#steps li")
    assert steps.count() >= 5
    assert tab.locator("#steps li[data-code='deductible.per_visit']").count() == 1
    assert "起付线" in tab.inner_text("#steps")
    assert tab.locator("#differences li").count() >= 1
    shot(tab, "phone-app-estimate")
    no_sideways_scroll(tab)

    # the e-voucher the hospital reads
    tab.goto(world.url("440000", "/app/voucher"))
    tab.wait_for_selector("#qr svg")
    token = tab.inner_text("#token").strip()
    assert re.fullmatch(r"EC440\d{3}[0-9A-Za-z]{24}", token)
    shot(tab, "phone-app-voucher")

    # be treated there: the hospital's HIS reads the e-voucher, admits, bills, settles
    his = world.fed.his("510000", str(code))
    out = his.person("01", token)
    patient = Patient.from_1101(out, "01", token)
    assert patient.psn_no == person["psn_no"]
    flow = VisitFlow(his, patient)
    flow.admit()
    lines = _catalogue_lines(world)
    flow.fees(lines, inpatient=True)
    flow.discharge()
    total = sum(Decimal(p) * Decimal(c) for _, p, c in lines)
    setlinfo = flow.settle(f"{total:.2f}", inpatient=True)["setlinfo"]
    persons.seen["setl_id"] = setlinfo["setl_id"]

    # the settlement appears with the amounts the hospital got
    tab.goto(world.url("440000", "/app/settlements"))
    row = tab.locator(f"#settlements li[data-setl='{setlinfo['setl_id']}']")
    assert row.count() == 1
    shot(tab, "phone-app-settlements")
    row.locator("a").click()
    for name in ("medfee_sumamt", "fund_pay_sumamt", "psn_part_amt", "hifp_pay",
                 "psn_cash_pay"):
        shown = tab.inner_text(f"#amounts dd[data-field='{name}']")
        assert fen(shown.replace("¥", "").replace(",", "")) == fen(setlinfo[name]), name
    assert tab.locator("#lines li[data-serial]").count() == len(lines)
    assert tab.inner_text("#hospital").strip() not in ("", code)
    shot(tab, "phone-app-settlement")
    no_sideways_scroll(tab)
    tab.emulate_media(media="print")
    shot(tab, "phone-app-settlement-print")
    tab.emulate_media(media="screen")

    # my year shows what the stay used
    tab.goto(world.url("440000", "/app/year"))
    assert tab.locator("#deductibles .deductible[data-type='inpatient']").count() == 1
    shot(tab, "phone-app-year")

    # a temporary filing, then cancelled
    tab.goto(world.url("440000", "/app/filings"))
    form = tab.locator("#new-filing form")
    form.locator("select[name=category]").select_option("other_temp")
    form.locator("select[name=destination]").select_option("110100")
    form.locator("button[type=submit]").click()
    temp_no = tab.inner_text("#filing-no").strip()
    tab.click("#cancel button")
    assert "已完成" in tab.inner_text(".flash")
    assert "已取消" in tab.inner_text("#status")
    persons.seen["filing_no"] = filing_no
    persons.seen["temp_no"] = temp_no
    # bad input changes nothing: a filing to the insured province itself
    tab.goto(world.url("440000", "/app/filings"))
    before = tab.locator("#filings li").count()
    tab.evaluate("""() => { const s = document.querySelector('#new-filing select[name=destination]');
                            const o = document.createElement('option'); o.value = '440300';
                            o.textContent = 'x'; s.appendChild(o); s.value = '440300'; }""")
    tab.locator("#new-filing button[type=submit]").click()
    assert "就医地" in tab.inner_text(".flash.error")
    assert tab.locator("#filings li").count() == before
    shot(tab, "phone-app-filings")
    no_sideways_scroll(tab)


def _catalogue_lines(world: World) -> list[tuple[str, str, str]]:
    """Three lines from the treating province's catalogue: 甲, 乙 and 丙 if it has them."""
    engine = make_engine(world.fed.dbs["510000"])
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT code, chrgitm_lv FROM catalogue WHERE valid_until IS NULL "
            "AND (restriction IS NULL OR restriction = 'null') AND lmt_pric IS NULL ORDER BY code")).all()
    engine.dispose()
    picked: dict[str, str] = {}
    for code, lv in rows:
        picked.setdefault(lv, code)
    prices = {"01": ("1200.00", "3"), "02": ("268.00", "5"), "03": ("150.00", "1")}
    return [(picked[lv], *prices[lv]) for lv in ("01", "02", "03") if lv in picked]


def test_a_second_person_cannot_see_the_first_ones_data(world: World, persons: Persons,
                                                        phone: Any) -> None:
    if "setl_id" not in persons.seen:
        pytest.skip("the first person's flow did not run")
    tab = phone.tab
    sign_in(tab, world, persons.second)
    tab.goto(world.url("440000", f"/app/settlements/{persons.seen['setl_id']}"))
    assert "没有找到" in tab.inner_text("h1")
    tab.goto(world.url("440000", f"/app/filings/{persons.seen['filing_no']}"))
    assert "没有找到" in tab.inner_text("h1")
    tab.goto(world.url("440000", f"/app/filings?for={persons.first['psn_no']}"))
    assert "无权" in tab.inner_text("h1")
    tab.goto(world.url("440000", "/app/settlements"))
    assert tab.locator(f"#settlements li[data-setl='{persons.seen['setl_id']}']").count() == 0
    tab.goto(world.url("440000", "/app/filings"))
    assert persons.seen["filing_no"] not in tab.content()


def test_family_claims_and_english_pages_at_phone_width(world: World, persons: Persons,
                                                        phone: Any) -> None:
    tab = phone.tab
    sign_in(tab, world, persons.third)
    tab.goto(world.url("440000", "/app/family"))
    tab.fill("#ask input[name=certno]", persons.first["certno"])
    tab.fill("#ask input[name=name]", "不对")
    tab.click("#ask button[type=submit]")
    assert "身份证号" in tab.inner_text(".flash.error")
    tab.fill("#ask input[name=name]", persons.first["psn_name"])
    tab.click("#ask button[type=submit]")
    assert "待对方同意" in tab.inner_text("#links")
    shot(tab, "phone-app-family")
    no_sideways_scroll(tab)
    tab.goto(world.url("440000", "/app/claims"))
    form = tab.locator("#new-claim form")
    form.locator("select[name=region]").select_option("110100")
    form.locator("input[name=institution]").fill("H11010400001")
    form.locator("input[name=treated_on]").fill(today_in_china().isoformat())
    form.locator("input[name=amount]").fill("600")
    form.locator("button[type=submit]").click()
    assert "已完成" in tab.inner_text(".flash")
    assert tab.locator("#claims li[data-claim]").count() == 1
    assert "已受理" in tab.inner_text("#claims")
    shot(tab, "phone-app-claims")
    tab.click("text=EN")
    assert "Claim manual reimbursement" in tab.inner_text("#new-claim")
    tab.goto(world.url("440000", "/app"))
    assert "Where to settle" in tab.inner_text(".tiles")
    no_sideways_scroll(tab)
    tab.click("text=中文")
