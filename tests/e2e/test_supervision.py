"""Supervision end to end over real HTTP (hub + three provinces), on SQLite and PostgreSQL: a
warning in the HIS answer's warn_msg, R05's hard stop in a second province the same day, a case
from opening to decision between two nodes, the institution's credit and suspension at the
gateway, the refused amount (拒付) in the clearing with the nets summing to zero, the hub's batch
and the public figures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from medsettle.adapters.his.client import HisClient, HisError, VisitFlow
from medsettle.adapters.peers import SignedClient
from medsettle.core.clearing import YearMonth
from tests.e2e import fixtures as f
from tests.e2e.harness import Federation, running
from tests.e2e.test_federation import patient


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Federation]:
    with running(request.param, tmp_path_factory.mktemp(f"supervision-{request.param}"),
                 f.ROWS, call_timeout=2.0, his_timeout=3.0, allow_early_clearing=True) as fed:
        yield fed


def signed(fed: Federation, region: str, method: str, path: str,
           doc: dict[str, Any] | None = None) -> dict[str, Any]:
    key = json.loads(fed.keys_path.read_text(encoding="utf-8"))[region]
    client = SignedClient(region, 30.0, pool=1)
    try:
        return client.request(method, fed.hub_url, path, key, doc, peer="the hub")
    finally:
        client.close()


def settle_answer(his: HisClient, visit: VisitFlow, total: str) -> dict[str, Any]:
    answers: list[dict[str, Any]] = []
    send = his.send
    his.send = lambda env: answers.append(send(env)) or answers[-1]  # type: ignore[method-assign]
    try:
        visit.settle(total)
    finally:
        his.send = send  # type: ignore[method-assign]
    return answers[-1]


def test_supervision_across_the_federation(fed: Federation) -> None:
    shenzhen = fed.his("440000", f.SHENZHEN_H)
    zhou = patient(shenzhen, f.ZHOU)
    visit = VisitFlow(shenzhen, zhou)
    visit.register()
    visit.fees([(f.DRUG_A, "400.00", "6")])  # six boxes: 42 days of one drug (R06)
    answer = settle_answer(shenzhen, visit, "2400.00")
    assert answer["infcode"] == 0
    assert answer["warn_msg"].startswith("R06 超量开药: 42 days of XA01ABD075A0")
    setl_id = answer["output"]["setlinfo"]["setl_id"]

    shanghai = fed.his("310000", f.SHANGHAI_H)
    again = VisitFlow(shanghai, patient(shanghai, f.ZHOU))
    again.register()
    again.fees([(f.DRUG_A, "20.00", "1")])
    with pytest.raises(HisError, match="settled_elsewhere_today"):
        again.settle("20.00")  # R05: the same person in a second province today

    fed.flush_hub_journal()
    opened = signed(fed, "510000", "POST", "/supervision/cases", {
        "kind": "verification", "insured": "510000", "treating": "440000",
        "reason": "R06: six weeks of one drug", "settlements": [setl_id],
        "operator": "cd-ops"})
    assert opened["ok"], opened
    case_id = opened["result"]["case_id"]
    forbidden = signed(fed, "310000", "POST", f"/supervision/cases/{case_id}/request", {})
    assert forbidden["error"]["code"] == "forbidden"
    assert signed(fed, "510000", "POST", f"/supervision/cases/{case_id}/request", {})["ok"]
    amount = opened["result"]["items"][0]["amount"]
    answered = signed(fed, "440000", "POST", f"/supervision/cases/{case_id}/answer", {
        "outcome": "refused", "refused": amount, "severity": "fraud", "note": "no such visit"})
    assert answered["ok"], answered
    decided = signed(fed, "510000", "POST", f"/supervision/cases/{case_id}/decide", {})
    credit = decided["result"]["credit"]
    assert credit["told"] and credit["score"] == 70 and credit["suspended"]

    with pytest.raises(HisError, match="suspended"):
        fed.his("440000", f.SHENZHEN_H)  # the gateway refuses a suspended institution

    month = str(YearMonth.of(datetime.now().astimezone()))
    cleared = fed.clear_month(month, early=True)
    assert cleared["net_sum"] == 0
    assert set(cleared["anchors"]) == {"440000", "510000", "310000"} & set(fed.dbs)
    assert cleared["anchors"]["510000"].startswith("seq ")  # each clearing run anchors
    lines = signed(fed, "510000", "GET", f"/clearing/{month}/statements/510000")
    owed = {line["counterparty"]: line["owes"] for line in lines["lines"]}
    assert owed.get("440000", 0) == 0  # the refused settlement was its only obligation

    run = signed(fed, "440000", "POST", f"/supervision/{month}/run", {})
    assert run["ok"] and "by_rule" in run["result"]
    figures = httpx.get(f"{fed.hub_url}/statistics/{month}", timeout=30).json()
    assert figures["totals"]["settlements"] >= 1
    assert figures["coordination"]["cases"] == 1
    assert "psn_no" not in json.dumps(figures)
    csv = httpx.get(f"{fed.hub_url}/statistics/{month}?format=csv", timeout=30).text
    assert csv.splitlines()[0].startswith("month,insured,treating,visit_type")


def test_a_decision_the_treating_province_missed_reaches_it_when_it_is_back(
        fed: Federation) -> None:
    """The treating province is down when the case is decided ("not yet told"); when it comes
    back (registers again) the hub's courier sends the decision, which it applies once."""
    shanghai = fed.his("310000", f.SHANGHAI_H)
    visit = VisitFlow(shanghai, patient(shanghai, f.WANG))
    visit.register(med_type="13")  # an emergency: settles without a filing
    visit.fees([(f.DRUG_A, "20.00", "1")])
    answer = settle_answer(shanghai, visit, "20.00")
    assert answer["infcode"] == 0, answer
    setl_id = answer["output"]["setlinfo"]["setl_id"]
    fed.flush_hub_journal()
    opened = signed(fed, "510000", "POST", "/supervision/cases", {
        "kind": "verification", "insured": "510000", "treating": "310000",
        "reason": "a second look", "settlements": [setl_id], "operator": "cd-ops"})
    assert opened.get("ok"), opened
    case_id = opened["result"]["case_id"]
    assert signed(fed, "510000", "POST", f"/supervision/cases/{case_id}/request", {})["ok"]
    assert signed(fed, "310000", "POST", f"/supervision/cases/{case_id}/answer", {
        "outcome": "refused", "refused": opened["result"]["items"][0]["amount"],
        "severity": "minor", "note": "billed twice"})["ok"]
    fed.kill("310000")
    decided = signed(fed, "510000", "POST", f"/supervision/cases/{case_id}/decide", {})
    assert decided["result"]["credit"]["told"] is False
    fed.restart("310000")
    deadline, credit = time.monotonic() + 30, None
    while time.monotonic() < deadline:
        credit = signed(fed, "510000", "GET", f"/supervision/cases/{case_id}")["result"].get(
            "credit")
        if credit and credit.get("told"):
            break
        time.sleep(0.3)
    assert credit and credit["told"] and credit["institution"] == f.SHANGHAI_H, credit
    assert not credit.get("already")  # applied by this delivery, once
