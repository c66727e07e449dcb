"""The national figures against hand-computed ones on a small month: direct settlement rate with
manual reimbursements in the denominator, fund payment ratio, funds by tier and filings from the
provinces' reports, response-time percentiles, failures, coordination turnaround; and the CLI
(`medsettle stats`, `medsettle supervise`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from medsettle.adapters.api.hub_supervision import figures
from medsettle.adapters.cli import app
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.clearing import YearMonth
from medsettle.services import supervision_cases as cases
from medsettle.services.audit import Actor
from medsettle.services.statistics import to_csv

OCT = YearMonth(2026, 10)
T0 = datetime(2026, 10, 12, 2, tzinfo=UTC)


def row(sid: str, insured: str, treating: str, visit_type: str, medfee: int, fund: int,
        acct: int = 0, kind: str = "settle", ref: str | None = None, mdtrt: str = "",
        when: datetime = T0) -> dict[str, Any]:
    sign = -1 if kind == "cancel" else 1
    return {"setl_id": sid, "kind": kind, "ref_setl_id": ref, "mdtrt_id": mdtrt or "M" + sid,
            "psn_no": "P" + sid, "insu_admdvs": insured, "mdtrtarea_admvs": treating,
            "fixmedins_code": "H" + treating + "00001", "visit_type": visit_type,
            "setl_time": when, "medfee_sumamt": sign * medfee, "fund_pay_sumamt": sign * fund,
            "acct_pay": sign * acct, "psn_cash_pay": sign * (medfee - fund - acct),
            "msgid": "X" + sid}


@pytest.fixture
def hub(tmp_path: Any) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    migrate(engine, "hub")
    store = Store(engine)
    with store.tx() as tx:
        tx.add_many("settlement_index", [
            row("S1", "620100", "310100", "inpatient", 1_000_000, 600_000),
            row("S2", "620100", "310100", "inpatient", 500_000, 300_000, 20_000),
            row("S3", "620100", "310100", "outpatient", 20_000, 10_000),
            row("S4", "510100", "440300", "outpatient", 30_000, 15_000),
            row("C4", "510100", "440300", "outpatient", 30_000, 15_000, kind="cancel",
                ref="S4", mdtrt="MS4"),
            row("S5", "510100", "440300", "outpatient", 40_000, 20_000),
            row("SEP", "620100", "310100", "inpatient", 9, 9, when=T0 - timedelta(days=30))])
        tx.add_many("hub_messages", [
            {"id": k + 1, "msgid": f"m{k}", "op": "settle", "from_region": "310000",
             "to_region": "620000", "outcome": "ok" if k < 18 else "timeout",
             "latency_ms": (k + 1) * 10, "at": T0, "prev_hash": "", "hash": ""}
            for k in range(20)])
        tx.add("node_reports", {"province": "620000", "month": "2026-10", "kind": "node",
                                "received_at": T0, "document": {
            "manual": [{"treating_region": "310100", "visit_type": "inpatient", "claims": 2,
                        "medfee": 0}],
            "tiers": {"hifp": 800_000, "hifmi": 100_000, "acct": 20_000},
            "filings": [{"category": "other_temp", "channel": "app", "count": 3},
                        {"category": "resettled_retiree", "channel": "counter", "count": 1}]}})
    return store


def test_figures_equal_the_hand_computed_ones(hub: Store) -> None:
    case = cases.create_case(hub, kind="verification", insured="620000", treating="310000",
                             institution="", reason="test", settlement_ids=["S1"],
                             actor=Actor("gs", "province", "620000"), now=T0)
    cases.act(hub, case.case_id, "request", Actor("gs", "province", "620000"), T0, {})
    cases.act(hub, case.case_id, "answer", Actor("sh", "province", "310000"),
              T0 + timedelta(days=6), {"outcome": "confirmed"})
    ticket = cases.create_ticket(hub, raised_by="440000", raised_to="510000", subject="x",
                                 settlement_id="S4", actor=Actor("gd", "province", "440000"),
                                 now=T0)
    cases.act_on_ticket(hub, ticket.ticket_id, "close", Actor("gd", "province", "440000"),
                        T0 + timedelta(hours=30), "fixed")
    f = figures(hub, OCT, T0 + timedelta(days=7))
    gansu = {(r["treating"], r["visit_type"]): r for r in f["by_province"]
             if r["insured"] == "620000"}
    inpatient = gansu[("310000", "inpatient")]
    # 2 direct inpatient settlements and 2 manual claims: 2 ÷ (2 + 2) = 0.5
    assert (inpatient["settlements"], inpatient["manual"], inpatient["direct_rate"]) == (
        2, 2, "0.5000")
    assert (inpatient["medfee"], inpatient["fund"], inpatient["fund_ratio"]) == (
        1_500_000, 900_000, "0.6000")
    sichuan = [r for r in f["by_province"] if r["insured"] == "510000"][0]
    assert (sichuan["settlements"], sichuan["visits"], sichuan["fund"]) == (1, 2, 20_000)
    t = f["totals"]
    # settlements 2 + 1 + 1 = 4; direct rate 4 ÷ (4 + 2); fund 930,000 ÷ medfee 1,560,000
    assert (t["settlements"], t["manual"], t["direct_rate"]) == (4, 2, "0.6667")
    assert (t["medfee"], t["fund"], t["fund_ratio"]) == (1_560_000, 930_000, "0.5962")
    assert f["funds_by_tier"]["hifmi"] == 100_000
    assert f["filings"][-1] == {"category": "*", "channel": "online share", "count": 4,
                                "share": "0.7500"}
    assert f["response_ms"] == {"count": 20, "p50": 100, "p95": 190, "p99": 200}
    assert f["failures"] == [{"op": "settle", "reason": "timeout", "count": 2}]
    c = f["coordination"]
    assert (c["case_answer_days_median"], c["tickets_closed"], c["ticket_close_hours_median"]
            ) == (6, 1, 30)
    assert "psn_no" not in json.dumps(f, default=str) and "P" + "S1" not in json.dumps(
        f, default=str)
    assert to_csv(f).splitlines()[1].startswith("2026-10,510000,440000,outpatient,2,1,0,")


def test_cli_stats_and_supervise(hub: Store, tmp_path: Any) -> None:
    url = str(hub.engine.url)
    runner = CliRunner()
    out = runner.invoke(app, ["stats", "--month", "2026-10", "--hub-db", url,
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["totals"]["settlements"] == 4
    table = runner.invoke(app, ["stats", "--month", "2026-10", "--hub-db", url])
    assert "direct rate 0.6667" in table.output
    bad = runner.invoke(app, ["stats", "--month", "2026-13", "--hub-db", url])
    assert bad.exit_code == 2 and "--month" in bad.output
    run = runner.invoke(app, ["supervise", "--month", "2026-10", "--db", url])
    assert run.exit_code == 0, run.output
    assert "Supervision 2026-10 at the hub" in run.output
