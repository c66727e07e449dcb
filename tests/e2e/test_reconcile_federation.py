"""Daily reconciliation (对账) over a real federation: hub and three provinces as processes on
SQLite. Guangdong treats three Chengdu employees; then one settlement loses its treating-side
record, one its hub index row and one gets a different amount at the treating node. The daily
run reverses the first at the insured node (accumulators back to what they were), indexes the
second at the hub, lists the third for manual review, and saves its report at Guangdong.

The province processes are started with the money routes added (`add_money_routes`), as the
node will once they are wired into `create_province_app`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer import Typer
from typer.testing import CliRunner

from medsettle.adapters.cli_reconcile import reconcile_command, run_reconciliation
from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import TABLES, Store
from medsettle.adapters.federation import load_keys
from medsettle.adapters.his.client import HisClient, Patient, VisitFlow
from medsettle.adapters.launcher import Federation
from medsettle.services.reconcile import DayReport
from tests.e2e import fixtures as f


@pytest.fixture(scope="module")
def fed(federation: Federation) -> Federation:
    """The module's real federation (tests/e2e/conftest.py: SQLite and PostgreSQL)."""
    return federation


def settle_once(his: HisClient, person: dict[str, Any]) -> str:
    """Register, upload ¥281.00 of fees and settle; returns the setl_id."""
    out = his.person("01", person["evoucher"])
    visit = VisitFlow(his, Patient.from_1101(out, "01", person["evoucher"]))
    visit.register()
    visit.fees([(f.DRUG_A, "80.00", "1"), (f.DRUG_B, "52.00", "3"), (f.SERVICE_C, "45.00", "1")])
    setl_id: str = visit.settle("281.00", acct=True)["setlinfo"]["setl_id"]
    return setl_id


def store(fed: Federation, name: str) -> Store:
    return Store(make_engine(fed.dbs[name]))


def accumulators(fed: Federation, psn_no: str) -> set[tuple[str, str, int]]:
    with store(fed, "510000").tx() as tx:
        return {(r.year, r.path, r.value) for r in tx.rows("accumulators", psn_no=psn_no)
                if r.value}


def wait_caught_up(fed: Federation, region: str, seconds: float = 90) -> None:
    """Until the node owes the hub no index catch-up: its start's catch-up and the repeat 15 s
    later would put back an index row deleted before them."""
    deadline = time.monotonic() + seconds
    while "medsettle_index_catch_up_owed 0.0" not in httpx.get(f"{fed.urls[region]}/metrics").text:
        assert time.monotonic() < deadline, f"{region} still owes the hub a catch-up"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def tampered(fed: Federation) -> dict[str, Any]:
    """Three settlements, each then made one-sided or different in its own way."""
    his = fed.his("440000", f.SHENZHEN_H)
    before_lost = accumulators(fed, f.WANG["psn_no"])
    lost = settle_once(his, f.WANG)
    unindexed = settle_once(his, f.ZHAO)
    differing = settle_once(his, f.QIAN)
    fed.flush_hub_journal()
    wait_caught_up(fed, "510000")
    with store(fed, "440000").tx() as tx:
        tx.conn.execute(_delete("settlements", lost, role="treating"))
        tx.change("settlements", {"setl_id": differing, "role": "treating"},
                  fund_pay_sumamt=1)
    with store(fed, "hub").tx() as tx:
        tx.conn.execute(_delete("settlement_index", unindexed))
    return {"lost": lost, "unindexed": unindexed, "differing": differing,
            "before_lost": before_lost, "after_lost": accumulators(fed, f.WANG["psn_no"])}


def _delete(table: str, setl_id: str, **keys: str) -> Any:
    t = TABLES[table]
    return t.delete().where(t.c.setl_id == setl_id,
                            *(t.c[k] == v for k, v in keys.items()))


def today() -> Any:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


@pytest.fixture(scope="module")
def first_run(fed: Federation, tampered: dict[str, Any]) -> list[DayReport]:
    """The day's first reconciliation, after the tampering (each test may run alone)."""
    return run_reconciliation(today(), fed.hub_url, load_keys(fed.keys_path))


def test_daily_reconciliation_finds_and_resolves_one_sided_settlements(
        fed: Federation, tampered: dict[str, Any], first_run: list[DayReport]) -> None:
    assert tampered["after_lost"] != tampered["before_lost"]
    reports = first_run
    guangdong = next(r for r in reports if r.treating_province == "440000")
    found = {x.setl_id: (x.problem, x.action, x.outcome) for x in guangdong.findings}
    assert found == {
        tampered["lost"]: ("insured_only", "reverse", "reversed"),
        tampered["unindexed"]: ("missing_at_hub", "index", "indexed"),
        tampered["differing"]: ("amounts_differ", "manual_review", "listed")}
    assert all(r.balanced for r in reports if r.treating_province != "440000")
    assert accumulators(fed, f.WANG["psn_no"]) == tampered["before_lost"]
    with store(fed, "510000").tx() as tx:
        original = tx.one("settlements", setl_id=tampered["lost"], role="insured")
        cancel = tx.one("settlements", ref_setl_id=tampered["lost"], role="insured")
    assert original.status == "cancelled" and cancel.medfee_sumamt == -28100
    fed.flush_hub_journal()
    with store(fed, "hub").tx() as tx:
        assert tx.one("settlement_index", setl_id=tampered["unindexed"]) is not None
        indexed_cancel = tx.one("settlement_index", setl_id=cancel.setl_id)
    assert indexed_cancel is not None and indexed_cancel.kind == "cancel"
    with store(fed, "440000").tx() as tx:
        saved = tx.rows("reconciliation_reports", scope="hub", day=today())
    assert saved and saved[-1].balanced is False
    assert {x["setl_id"] for x in saved[-1].report["findings"]} == set(found)


def test_a_second_run_changes_nothing_and_prints_a_table(
        fed: Federation, tampered: dict[str, Any], first_run: list[DayReport]) -> None:
    app = Typer()
    app.command()(reconcile_command)
    result = CliRunner().invoke(app, ["--day", today().isoformat(), "--hub", fed.hub_url,
                                      "--keys", str(fed.keys_path)],
                                env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "already_reversed" in result.output and "reversed" in result.output
    assert "listed" in result.output and "indexed" not in result.output
    assert accumulators(fed, f.WANG["psn_no"]) == tampered["before_lost"]
