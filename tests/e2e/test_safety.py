"""Who may act on a settlement, and retries that always finish, over real processes.

Guangdong (440000) and Shanghai (310000) treat; Sichuan (510000) insures. Each test runs on
SQLite and on PostgreSQL (see conftest.py). A node killed at a failpoint dies with SIGKILL, as
`kill -9` would, at the exact step named (services/failpoints.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from medsettle.adapters.his.client import HisClient, HisError, VisitFlow
from medsettle.adapters.peers import HubClient
from medsettle.core.errors import Forbidden, MedSettleError, NotFound
from tests.e2e import fixtures as f
from tests.e2e.harness import Federation, query
from tests.e2e.test_federation import patient


def settlements(fed: Federation, region: str, mdtrt_id: str) -> list[dict[str, Any]]:
    return query(fed, region, "SELECT setl_id, role, kind, status FROM settlements "
                              "WHERE mdtrt_id = :m ORDER BY setl_id, role", m=mdtrt_id)


def signed_as(fed: Federation, province: str) -> HubClient:
    """A client of the hub signing with `province`'s own, valid key."""
    keys = json.loads(fed.keys_path.read_text(encoding="utf-8"))
    return HubClient(fed.hub_url, province, keys[province], timeout=5.0)


@pytest.fixture(scope="module")
def shanghai_settlement(federation: Federation) -> dict[str, Any]:
    """周杰 (Chengdu) settled at 上海示例医院 (Shanghai): its msgid, ids and accumulators."""
    his = federation.his("310000", f.SHANGHAI_H, "上海示例医院")
    visit = VisitFlow(his, patient(his, f.ZHOU))
    visit.register()
    visit.fees([(f.DRUG_A, "120.00", "1")])
    msgid = his.msgid()
    out = visit.settle("120.00", msgid=msgid)["setlinfo"]
    acc = his.call("5206", {"data": {"psn_no": f.ZHOU["psn_no"]}}, insuplc="510100")
    return {"msgid": msgid, "setl_id": out["setl_id"], "mdtrt_id": out["mdtrt_id"],
            "accumulators": acc, "his": his}


def test_a_hospital_cannot_reverse_another_provinces_settlement(
        federation: Federation, shanghai_settlement: dict[str, Any]) -> None:
    shenzhen = federation.his("440000", f.SHENZHEN_H)
    for psn_no in (f.ZHOU["psn_no"], f.WANG["psn_no"]):
        answer = shenzhen.send(shenzhen.envelope("2601", {"data": {
            "psn_no": psn_no, "omsgid": shanghai_settlement["msgid"], "oinfno": "2207"}},
            insuplc="510100"))
        assert answer["infcode"] == -1
        assert "[not_found]" in answer["err_msg"]
        assert f.SHENZHEN_H in answer["err_msg"]
    rows = settlements(federation, "510000", shanghai_settlement["mdtrt_id"])
    assert [(r["kind"], r["status"]) for r in rows] == [("settle", "settled")]
    his = shanghai_settlement["his"]
    acc = his.call("5206", {"data": {"psn_no": f.ZHOU["psn_no"]}}, insuplc="510100")
    assert acc == shanghai_settlement["accumulators"]


def _open_zhou_visit_at_shanghai(fed: Federation) -> str:
    his = fed.his("310000", f.SHANGHAI_H, "上海示例医院")
    visit = VisitFlow(his, patient(his, f.ZHOU))
    visit.register()
    visit.fees([(f.DRUG_A, "60.00", "1")])
    return visit.mdtrt_id


Forged = Callable[[dict[str, Any], str], tuple[str, str, dict[str, Any]]]
LINE = {"cls": "A", "price": "9999.00", "count": "9", "selfpay_prop": "0", "cap_price": None,
        "restricted_ok": True, "code": f.DRUG_A}

#: Calls Guangdong signs with its own key about what Shanghai owns: (why, forge, error).
FORGED: list[tuple[str, Forged, type[MedSettleError]]] = [
    ("cancel another province's settlement",
     lambda s, open_id: ("510000", "cancel_settlement", {
         "settlement_id": s["setl_id"], "cancel_id": "440000" + "1" * 24}), Forbidden),
    ("settle another province's visit with made-up lines",
     lambda s, open_id: ("510000", "settle", {
         "visit_id": open_id, "settlement_id": "440000" + "2" * 24,
         "person_id": f.ZHOU["psn_no"], "insutype": "310", "visit_type": "outpatient",
         "med_type": "11", "level": "L3", "lines": [LINE], "institution": f.SHENZHEN_H,
         "treating_region": "440300", "insured_region": "510100"}), Forbidden),
    ("cancel another province's registration",
     lambda s, open_id: ("510000", "cancel_visit", {"visit_id": open_id,
                                                     "institution": f.SHANGHAI_H}), Forbidden),
    ("reverse another province's settlement by its msgid",
     lambda s, open_id: ("510000", "reverse", {
         "original": s["msgid"], "original_infno": "2207", "cancel_id": "440000" + "3" * 24,
         "institution": f.SHANGHAI_H}), NotFound),
    ("read the accumulators of a person with no visit in the province",
     lambda s, open_id: ("510000", "accumulations", {"person_id": f.LI["psn_no"]}),
     Forbidden),
]


@pytest.mark.parametrize(("forge", "error"), [pytest.param(g, e, id=why)
                                              for why, g, e in FORGED])
def test_one_provinces_key_cannot_act_for_another_province(
        federation: Federation, shanghai_settlement: dict[str, Any], forge: Forged,
        error: type[MedSettleError]) -> None:
    open_id = _open_zhou_visit_at_shanghai(federation)
    before = query(federation, "510000", "SELECT setl_id, status FROM settlements "
                                         "ORDER BY setl_id, role")
    visits = query(federation, "510000", "SELECT mdtrt_id, status FROM insured_visits "
                                         "ORDER BY mdtrt_id")
    to, op, payload = forge(shanghai_settlement, open_id)
    client = signed_as(federation, "440000")
    try:
        with pytest.raises(error):
            client.call(to, op, "H44030400123209912310000000001", payload)
    finally:
        client.close()
    assert query(federation, "510000", "SELECT setl_id, status FROM settlements "
                                       "ORDER BY setl_id, role") == before
    assert query(federation, "510000", "SELECT mdtrt_id, status FROM insured_visits "
                                       "ORDER BY mdtrt_id") == visits


def _crash_at(fed: Federation, point: str) -> None:
    fed.stop_province("440000")
    fed.start_province("440000", env={"MEDSETTLE_CRASH_AT": point})
    fed.wait_all_up()


def _restart(fed: Federation) -> None:
    proc = fed.procs["440000"]
    proc.wait(15)  # it killed itself at the failpoint
    fed.stop_province("440000")
    fed.start_province("440000")
    fed.wait_all_up()


@pytest.mark.parametrize("point", ["settle.before_insured", "settle.after_insured",
                                   "settle.after_commit"])
def test_a_retry_after_the_treating_node_is_killed_gets_exactly_one_settlement(
        federation: Federation, point: str) -> None:
    _crash_at(federation, point)
    try:
        his = federation.his("440000", f.SHENZHEN_H)
        visit = VisitFlow(his, patient(his, f.WU))
        visit.register()
        visit.fees([(f.DRUG_A, "50.00", "1")])
        envelope = his.envelope("2207", {"data": {
            "psn_no": f.WU["psn_no"], "mdtrt_cert_type": "01", "mdtrt_cert_no": f.WU["evoucher"],
            "med_type": "11", "medfee_sumamt": "50.00", "psn_setlway": "01",
            "mdtrt_id": visit.mdtrt_id, "chrg_bchno": "0000", "insutype": "310",
            "acct_used_flag": "0", "invono": ""}}, insuplc="510100")
        with pytest.raises(httpx.HTTPError):
            his.send(envelope)
    finally:
        _restart(federation)
    retried = HisClient(federation.urls["440000"], f.SHENZHEN_H, "示例医院")
    answer = retried.send(envelope | {"inf_time": envelope["inf_time"]})
    assert answer["infcode"] == 0, answer["err_msg"]
    setl_id = answer["output"]["setlinfo"]["setl_id"]
    assert settlements(federation, "440000", visit.mdtrt_id) == [
        {"setl_id": setl_id, "role": "treating", "kind": "settle", "status": "settled"}]
    assert settlements(federation, "510000", visit.mdtrt_id) == [
        {"setl_id": setl_id, "role": "insured", "kind": "settle", "status": "settled"}]
    assert retried.send(envelope) == answer  # and again: the stored answer


def test_a_retry_after_a_kill_between_admission_steps_gets_one_visit(
        federation: Federation) -> None:
    _crash_at(federation, "visit.after_insured")
    try:
        his = federation.his("440000", f.SHENZHEN_H)
        who = patient(his, f.QIAN)
        envelope = his.envelope("2201", {"data": {
            "psn_no": who.psn_no, "insutype": who.insutype, "begntime": "2026-11-29 09:00:00",
            "mdtrt_cert_type": who.cert_type, "mdtrt_cert_no": who.cert_no, "card_sn": "",
            "ipt_otp_no": "MZCRASH0000001", "atddr_no": "D001", "dr_name": "李医生",
            "dept_code": "A03", "dept_name": "内科", "caty": "A03", "med_type": "11",
            "dise_codg": "", "dise_name": ""}}, insuplc=who.insuplc)
        with pytest.raises(httpx.HTTPError):
            his.send(envelope)
    finally:
        _restart(federation)
    answer = HisClient(federation.urls["440000"], f.SHENZHEN_H, "示例医院").send(envelope)
    assert answer["infcode"] == 0, answer["err_msg"]
    mdtrt_id = answer["output"]["data"]["mdtrt_id"]
    assert query(federation, "510000", "SELECT mdtrt_id, status FROM insured_visits "
                                       "WHERE psn_no = :p AND mdtrt_id = :m",
                 p=f.QIAN["psn_no"], m=mdtrt_id) == [{"mdtrt_id": mdtrt_id, "status": "open"}]
    assert len(query(federation, "440000", "SELECT mdtrt_id FROM visits WHERE msgid = :m",
                     m=envelope["msgid"])) == 1


def test_a_frozen_insured_province_gets_the_peer_code_and_the_manual_hint_and_ends_even(
        federation: Federation) -> None:
    """The settle times out while Sichuan is frozen; once it thaws, the treating node's reversal
    and the late settle meet in either order, and every node ends with nothing settled."""
    his = federation.his("440000", f.SHENZHEN_H)
    visit = VisitFlow(his, patient(his, f.ZHENG))
    visit.register()
    visit.fees([(f.DRUG_A, "70.00", "1")])
    federation.pause_province("510000")
    try:
        with pytest.raises(HisError) as refused:
            visit.settle("70.00")
    finally:
        federation.resume_province("510000")
    err_msg = refused.value.answer["err_msg"]
    assert "[peer_unavailable]" in err_msg and "手工报销" in err_msg
    assert len(err_msg) <= 200
    deadline = time.monotonic() + 30
    pending = [{"reversal_pending": "?"}]
    while time.monotonic() < deadline:
        pending = query(federation, "440000", "SELECT reversal_pending FROM visits "
                                              "WHERE mdtrt_id = :m", m=visit.mdtrt_id)
        if pending[0]["reversal_pending"] is None:
            break
        time.sleep(0.3)
    assert pending == [{"reversal_pending": None}]
    insured = query(federation, "510000", "SELECT setl_id, kind, ref_setl_id, status, "
                                          "fund_pay_sumamt FROM settlements WHERE mdtrt_id = :m",
                    m=visit.mdtrt_id)
    assert sum(r["fund_pay_sumamt"] for r in insured) == 0
    assert all(r["status"] == "cancelled" for r in insured if r["kind"] == "settle")
    assert settlements(federation, "440000", visit.mdtrt_id) == []
    federation.flush_hub_journal()
    index = query(federation, "hub", "SELECT setl_id, kind, ref_setl_id, fund_pay_sumamt "
                                     "FROM settlement_index WHERE mdtrt_id = :m",
                  m=visit.mdtrt_id)
    indexed = {r["setl_id"] for r in index}
    assert all(r["ref_setl_id"] in indexed for r in index if r["kind"] == "cancel")
    assert sum(r["fund_pay_sumamt"] for r in index) == 0
    assert {r["setl_id"] for r in index} <= {r["setl_id"] for r in insured}


def test_provinces_register_again_with_a_hub_that_lost_its_database(
        federation: Federation) -> None:
    federation.replace_hub_database()
    federation.wait_all_up(seconds=30)  # each province's next heartbeat is refused: it re-joins
    his = federation.his("440000", f.SHENZHEN_H)
    visit = VisitFlow(his, patient(his, f.WANG))
    visit.register()
    visit.fees([(f.DRUG_A, "30.00", "1")])
    assert visit.settle("30.00")["setlinfo"]["medfee_sumamt"] == 30.0
