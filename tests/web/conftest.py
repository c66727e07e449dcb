"""One running federation (hub + 3 provinces, SQLite files) with a played day, a cleared month,
a pending filing, a claim and operators of every role, shared by all browser tests; and one
headless Chromium from Debian's `chromium` package (never a downloaded browser).

Every page a test opens fails the test on any JavaScript error or console error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from medsettle.adapters.cli_demo import rows_of, today_in_china
from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.launcher import Federation
from medsettle.adapters.player import Player
from medsettle.core.clearing import YearMonth
from medsettle.services.operators import create_operator
from medsettle.sim.population import generate_province
from medsettle.sim.traffic import plan_day

SHIPPED = load_policy_book()  # the shipped policy parameters

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PROVINCES = ["440000", "110000", "510000"]
PASSWORD = "console-demo-2026"
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@dataclass
class World:
    """The running federation and what the tests act on."""

    fed: Federation
    month: str
    tokens: dict[str, str] = field(default_factory=dict)
    pending_filing: str = ""
    claim_id: str = ""
    setl_id: str = ""

    def url(self, node: str, path: str = "/console") -> str:
        return (self.fed.hub_url if node == "hub" else self.fed.urls[node]) + path


def add_operator(db: str, name: str, role: str, region: str | None) -> str:
    store = Store(make_engine(db))
    with store.tx() as tx:
        _, token = create_operator(tx, name, role, region, datetime.now(UTC), PASSWORD)
    store.engine.dispose()
    return token


def claim(psn_no: str, claim_id: str) -> dict[str, Any]:
    return {"claim_id": claim_id, "psn_no": psn_no,
            "treating": {"admdvs": "510100", "fixmedins_code": "H51010400001", "level": "L3"},
            "visit_type": "inpatient", "begntime": f"{today_in_china()}T09:00:00",
            "emergency": False, "acct_used": False,
            "lines": [{"cls": "A", "pric": "1280.00", "cnt": "3", "selfpay_prop": "0",
                       "restricted_ok": True, "code": "X"}]}


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    day = today_in_china()
    seeds = {p: generate_province(p, persons=60, institutions=6, on=day, seed=11,
                              book=SHIPPED)
             for p in PROVINCES}
    fed = Federation(tmp_path_factory.mktemp("console-fed"),
                     {p: rows_of(seeds[p]) for p in PROVINCES}, call_timeout=10.0,
                     his_timeout=12.0, anchor_seconds=2.0, allow_early_clearing=True)
    try:
        fed.start()
        world = World(fed, str(YearMonth.of(datetime.now(UTC))))
        for p in PROVINCES:
            world.tokens[p] = add_operator(fed.dbs[p], f"clerk{p[:2]}", "province", p)
        add_operator(fed.dbs["440000"], "audit44", "auditor", "440000")
        world.tokens["hub"] = add_operator(fed.dbs["hub"], "hubops", "hub", None)
        add_operator(fed.dbs["hub"], "inspector", "auditor", None)
        tally = Player(fed.urls).play(plan_day(seeds, day=day, visits=40, seed=11), 8)
        assert sum(tally.settled.values()) > 0, tally
        fed.flush_hub_journal()
        fed.clear_month(world.month, early=True)
        gd = fed.urls["440000"]
        person = seeds["440000"].persons[0]["psn_no"]
        headers = {"Authorization": f"Bearer {world.tokens['440000']}"}
        filed = httpx.post(f"{gd}/api/v1/filings", headers=headers, timeout=10, json={
            "psn_no": person, "category": "referral", "destination": "310100",
            "channel": "counter", "materials": ["referral_proof"]})
        assert filed.status_code == 200, filed.text
        world.pending_filing = filed.json()["filing_no"]
        world.claim_id = "RBDEMO0001"
        made = httpx.post(f"{gd}/api/v1/reimbursements", headers=headers, timeout=10,
                          json=claim(person, world.claim_id))
        assert made.status_code == 200, made.text
        index = fed.status()  # the hub answers
        assert index["up"] == len(PROVINCES)
        yield world
    finally:
        fed.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Page:
    """A browser tab that records JavaScript and console errors (the test fails on any)."""

    def __init__(self, browser: Any, viewport: dict[str, int]) -> None:
        self.context = browser.new_context(viewport=viewport, locale="zh-CN",
                                           timezone_id="Asia/Shanghai")
        self.tab = self.context.new_page()
        self.errors: list[str] = []
        self.tab.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.tab.on("console", lambda msg: self.errors.append(f"console {msg.type}: {msg.text}")
                    if msg.type == "error" and not _expected(msg.text) else None)

    def close(self) -> None:
        self.context.close()


def _expected(text: str) -> bool:
    """Console errors the browser itself logs for statuses a test provokes on purpose."""
    return bool(re.search(r"status of (400|401|403|404)", text))


def _tab(chromium: Any, viewport: dict[str, int]) -> Iterator[Any]:
    """A tab for one test; the test fails if the page logged any error."""
    tab = Page(chromium, viewport)
    yield tab
    errors = tab.errors
    tab.close()
    assert errors == [], errors


@pytest.fixture()
def page(chromium: Any) -> Iterator[Any]:
    yield from _tab(chromium, DESKTOP)


@pytest.fixture()
def phone(chromium: Any) -> Iterator[Any]:
    yield from _tab(chromium, PHONE)


def sign_in(tab: Any, base: str, name: str, password: str = PASSWORD) -> None:
    tab.goto(base + "/console/login")
    tab.fill("input[name=name]", name)
    tab.fill("input[name=password]", password)
    tab.click("button[type=submit]")
    tab.wait_for_load_state("networkidle")


def open_menu(tab: Any, label: str) -> None:
    """Follow a console menu link and wait for the page it opens (a count of rows read at
    once could still read the page before)."""
    with tab.expect_navigation():
        tab.click(f"nav.menu >> text={label}")


def shot(tab: Any, name: str) -> None:
    """The whole page as one image. The window is made as tall as the page first, so a bar
    fixed to the bottom of the window (the app's tab bar) is drawn at the page's end, where a
    reader of the page meets it, not across the middle of a long page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    window = tab.viewport_size
    height = tab.evaluate("document.documentElement.scrollHeight")
    if not window or height <= window["height"]:
        tab.screenshot(path=path, full_page=True)
        return
    tab.set_viewport_size({"width": window["width"], "height": height})
    try:
        tab.screenshot(path=path, full_page=True)
    finally:
        tab.set_viewport_size(window)
