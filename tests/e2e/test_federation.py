"""End to end over real HTTP: the hub and three province nodes as separate processes.

Guangdong (440000) treats; Sichuan (510000) and Shanghai (310000) insure. Every test runs on
SQLite and on PostgreSQL (see conftest.py).
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import signed_headers
from medsettle.adapters.his.client import HisClient, HisError, Patient, VisitFlow, cumulative
from medsettle.adapters.locator_key import locator_hash
from medsettle.core.codes import make_id_card
from tests.e2e import fixtures as f
from tests.e2e.harness import Federation


def patient(his: HisClient, person: dict, cert: str = "01") -> Patient:
    number = {"01": person["evoucher"], "02": person["certno"], "03": person["card_no"]}[cert]
    insuplc = "" if cert == "01" else person["insu_admdvs"]
    out = his.person(cert, number, card_sn=person["card_sn"] if cert == "03" else "",
                     insuplc=insuplc)
    return Patient.from_1101(out, cert, number, person["card_sn"] if cert == "03" else "")


def amounts(setlinfo: dict) -> dict:
    keys = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
            "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "fund_pay_sumamt",
            "psn_part_amt", "acct_pay", "psn_cash_pay")
    return {k: setlinfo[k] for k in keys}


def one_line_visit(his: HisClient, who: Patient, price: str, *, settle: bool = True
                   ) -> VisitFlow:
    """Register an outpatient visit with one 甲 drug line and, unless told not to, settle it."""
    visit = VisitFlow(his, who)
    visit.register()
    visit.fees([(f.DRUG_A, price, "1")])
    if settle:
        visit.settle(price)
    return visit


def own_anchors(federation: Federation, province: str) -> list[dict[str, Any]]:
    """The chain heads the hub keeps for `province`, asked with that province's signature."""
    path = f"/fed/v1/anchors/{province}"
    key = json.loads(federation.keys_path.read_text(encoding="utf-8"))[province]
    answer = httpx.get(f"{federation.hub_url}{path}",
                       headers=signed_headers(key, province, path, b"")).json()
    anchors: list[dict[str, Any]] = answer["result"]["anchors"]
    return anchors


OUTPATIENT = [(f.DRUG_A, "80.00", "1"), (f.DRUG_B, "52.00", "3"), (f.SERVICE_C, "45.00", "1")]


def test_outpatient_visit_settles_across_provinces_to_the_fen(federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    visit = VisitFlow(his, patient(his, f.WANG))
    visit.register()
    visit.fees(OUTPATIENT)
    pre = visit.settle("281.00", pre=True, acct=True)["setlinfo"]
    out = visit.settle("281.00", acct=True)
    info = out["setlinfo"]
    # Chengdu employee, tier 3 outpatient: annual deductible ¥200, 50%; 乙 10% self-pay first;
    # account pays the in-scope personal share, cash pays the 丙 item.
    assert amounts(info) == {"medfee_sumamt": 281.0, "fulamt_ownpay_amt": 45.0,
                             "overlmt_selfpay": 0.0, "preselfpay_amt": 15.6,
                             "inscp_scp_amt": 220.4, "act_pay_dedc": 200.0, "hifp_pay": 10.2,
                             "pool_prop_selfpay": 10.2, "fund_pay_sumamt": 10.2,
                             "psn_part_amt": 270.8, "acct_pay": 225.8, "psn_cash_pay": 45.0}
    assert amounts(pre) == amounts(info) and pre["setl_id"] == ""
    assert info["balc"] == 774.2 and len(info["setl_id"]) == 30
    assert sum(d["fund_payamt"] for d in out["setldetail"]) == info["fund_pay_sumamt"]


def test_a_second_settlement_of_the_same_visit_is_refused(federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    visit = one_line_visit(his, patient(his, f.WANG, "02"), "10.00")
    with pytest.raises(HisError, match="不能重复结算"):
        visit.settle("10.00")


def test_an_id_number_is_located_through_a_keyed_hash_the_hub_cannot_reverse(
        federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    out = his.person("02", f.WANG["certno"])  # no insuplc_admdvs: the hub's locator finds it
    assert out["insuinfo"][0]["insuplc_admdvs"] == f.WANG["insu_admdvs"]
    with Store(make_engine(federation.dbs["hub"])).tx() as tx:
        kept = {str(r.certno_hash) for r in tx.rows("locator")}
    assert locator_hash(f.WANG["certno"]) in kept
    assert hashlib.sha256(f.WANG["certno"].encode()).hexdigest() not in kept


def test_inpatient_stay_is_admitted_discharged_and_settled(federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    visit = VisitFlow(his, patient(his, f.ZHAO, "03"))
    admitted = datetime.now() - timedelta(days=5)
    visit.admit(begntime=admitted)
    visit.fees([(f.SERVICE_BED, "100.00", "5"), (f.DRUG_B, "268.00", "15"),
                (f.DRUG_B_CAPPED, "12800.00", "1"), (f.SERVICE_C, "1500.00", "1")],
               inpatient=True, when=admitted + timedelta(days=1))
    with pytest.raises(HisError, match="2402"):
        visit.settle("18820.00", inpatient=True)
    visit.discharge()
    info = visit.settle("18820.00", inpatient=True)["setlinfo"]
    # deductible ¥800 (L3), 85%: E = 12118.00 − 800.00 = 11318.00 → pool 9620.30
    assert amounts(info) == {"medfee_sumamt": 18820.0, "fulamt_ownpay_amt": 1500.0,
                             "overlmt_selfpay": 2800.0, "preselfpay_amt": 2402.0,
                             "inscp_scp_amt": 12118.0, "act_pay_dedc": 800.0,
                             "hifp_pay": 9620.3, "pool_prop_selfpay": 1697.7,
                             "fund_pay_sumamt": 9620.3, "psn_part_amt": 9199.7, "acct_pay": 0.0,
                             "psn_cash_pay": 9199.7}
    assert info["clr_type"] == "21"


def test_chronic_visit_uses_the_insured_place_chronic_policy(federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    visit = VisitFlow(his, patient(his, f.ZHANG))
    visit.register(med_type="14", disease="M03900")
    visit.fees([(f.DRUG_A, "50.00", "10")])
    info = visit.settle("500.00")["setlinfo"]
    # Shanghai retiree, 门诊慢特病 hypertension: no deductible, 90%
    assert (info["hifp_pay"], info["psn_cash_pay"]) == (450.0, 50.0)


def test_cancel_restores_every_accumulator(federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    who = patient(his, f.QIAN)
    first = VisitFlow(his, who)
    first.register()
    first.fees(OUTPATIENT)
    settled = first.settle("281.00", acct=True)["setlinfo"]
    cancelled = first.cancel(settled["setl_id"])["setlinfo"]
    assert cancelled["medfee_sumamt"] == -281.0 and cancelled["hifp_pay"] == -10.2
    assert cancelled["acct_pay"] == -225.8 and cancelled["balc"] == 1000.0
    again = first.settle("281.00", acct=True)["setlinfo"]
    assert amounts(again) == amounts(settled)  # the deductible was restored, so it applies again


def test_a_retry_with_the_same_msgid_gets_the_stored_answer(federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    visit = one_line_visit(his, patient(his, f.WU), "100.00", settle=False)
    envelope = his.envelope("2207", {"data": {
        "psn_no": visit.p.psn_no, "mdtrt_cert_type": "01", "mdtrt_cert_no": visit.p.cert_no,
        "med_type": "11", "medfee_sumamt": 100.00, "psn_setlway": "01",
        "mdtrt_id": visit.mdtrt_id, "chrg_bchno": "0000", "insutype": "310",
        "acct_used_flag": "0"}}, insuplc=visit.p.insuplc)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(his.send, [envelope] * 4))
    ok = [a for a in answers if a["infcode"] == 0]
    assert ok and all(a == ok[0] for a in ok)
    assert all(a["infcode"] == 0 or "processed" in a["err_msg"] for a in answers)
    assert his.send(envelope) == ok[0]
    changed = envelope | {"input": {"data": envelope["input"]["data"] | {"acct_used_flag": "1"}}}
    refused = his.send(changed)
    assert refused["infcode"] == -1 and "msgid" in refused["err_msg"]


def test_unfiled_patients_are_refused_unless_it_is_an_emergency(federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    who = patient(his, f.LI)
    with pytest.raises(HisError, match="not_filed"):
        VisitFlow(his, who).register(med_type="11")
    emergency = VisitFlow(his, who)
    emergency.register(med_type="13")
    emergency.fees([(f.DRUG_A, "100.00", "1")])
    info = emergency.settle("100.00")["setlinfo"]
    assert info["fund_pay_sumamt"] >= 0 and info["psn_part_amt"] + info["fund_pay_sumamt"] == 100.0


def test_a_suspended_institution_cannot_settle(federation: Federation) -> None:
    his = HisClient(federation.urls["440000"], f.SUSPENDED_H, "深圳停用医院")
    with pytest.raises(HisError, match="suspended"):
        his.sign_in()


def test_concurrent_settlements_in_two_provinces_never_lose_an_update(
        federation: Federation) -> None:
    """Twelve settlements of one person at once, six in each of two provinces: they serialise
    on the person, the first province's pass and the other's are refused (R05: one person in
    two provinces the same day), and no accumulator update is lost."""
    shenzhen = federation.his("440000", f.SHENZHEN_H)
    shanghai = federation.his("310000", f.SHANGHAI_H)
    visits = []
    for his in (shenzhen, shanghai):
        who = patient(his, f.ZHOU)
        for _ in range(6):
            visits.append(one_line_visit(his, who, "100.00", settle=False))

    def settle(v: VisitFlow) -> tuple[str, dict | None]:
        try:
            return v.his.admdvs[:2], v.settle("100.00", acct=True)["setlinfo"]
        except HisError as exc:
            assert "settled_elsewhere_today" in str(exc)
            return v.his.admdvs[:2], None
    with ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(settle, visits))
    infos = [info for _, info in outcomes if info is not None]
    assert len({province for province, info in outcomes if info is not None}) == 1
    acc = cumulative(shenzhen.call("5206", {"data": {"psn_no": f.ZHOU["psn_no"]}},
                                    insuplc="510100"))
    assert acc["C0101-11"] == len(infos) >= 6  # visits.outpatient
    assert round(acc["C0301-11"] * 100) == round(  # pool_paid.outpatient
        sum(i["hifp_pay"] for i in infos) * 100)
    assert round(acc["C0601"] * 100) == 100000 - round(sum(i["acct_pay"] for i in infos)
                                                       * 100)  # acct_balance


def test_a_slow_province_times_out_and_its_settlement_is_reversed(
        federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    visit = VisitFlow(his, patient(his, f.SUN))
    visit.register()
    visit.fees(OUTPATIENT)
    federation.pause_province("510000")
    try:
        started = time.monotonic()
        msgid = his.msgid()
        with pytest.raises(HisError) as err:
            visit.settle("281.00", acct=True, msgid=msgid)
        assert time.monotonic() - started < federation.his_timeout + 2.0
        assert "manual reimbursement" in str(err.value)
        board = {n["region"]: n["status"] for n in federation.status()["nodes"]}
        assert board["510000"] == "down" and board["310000"] == "up"
    finally:
        federation.resume_province("510000")
    federation.wait_all_up()
    visit.reverse(msgid, "2207")  # the HIS reverses too; whatever happened is undone once
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        acc = cumulative(his.call("5206", {"data": {"psn_no": f.SUN["psn_no"]}},
                                  insuplc="510100"))
        if acc.get("C0101-11", 0) == 0:  # visits.outpatient
            break
        time.sleep(0.3)
    assert acc.get("C0101-11", 0) == 0
    assert acc["C0601"] == 1000.0  # acct_balance


def test_a_province_down_mid_run_stops_only_its_own_patients(federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    zhang = patient(his, f.ZHANG)
    federation.stop_province("310000")
    try:
        started = time.monotonic()
        with pytest.raises(HisError, match="peer_unavailable"):
            VisitFlow(his, zhang).register(med_type="14", disease="M03900")
        assert time.monotonic() - started < federation.his_timeout + 2.0
        board = {n["region"]: n["status"] for n in federation.status()["nodes"]}
        assert board["310000"] == "down"
        visit = one_line_visit(his, patient(his, f.ZHENG), "100.00", settle=False)
        assert visit.settle("100.00")["setlinfo"]["medfee_sumamt"] == 100.0
    finally:
        federation.start_province("310000")
    federation.wait_all_up()
    VisitFlow(his, zhang).register(med_type="14", disease="M03900")


def test_nodes_expose_health_metrics_and_openapi(federation: Federation) -> None:
    import httpx
    his = federation.his("440000", f.SHENZHEN_H)
    one_line_visit(his, patient(his, f.ZHENG), "12.00")
    url = federation.urls["440000"]
    assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
    metrics = httpx.get(f"{url}/metrics").text
    assert 'medsettle_requests_total{infno="2207",outcome="ok"}' in metrics
    assert "medsettle_request_seconds_bucket" in metrics
    assert 'medsettle_settlements_total{kind="settle",role="treating"}' in metrics
    insured = httpx.get(f"{federation.urls['510000']}/metrics").text
    assert 'medsettle_settlements_total{kind="settle",role="insured"}' in insured
    assert "/his" in httpx.get(f"{url}/openapi.json").json()["paths"]
    hub_metrics = httpx.get(f"{federation.hub_url}/metrics").text
    assert 'medsettle_peer_call_seconds_count{op="settle",outcome="ok"}' in hub_metrics
    old_board = httpx.get(f"{federation.hub_url}/status.html")
    assert old_board.status_code == 308 and old_board.headers["location"] == "/console/nodes"
    assert httpx.get(f"{federation.hub_url}/status").json()["up"] >= 1


def test_nodes_anchor_their_ledger_at_the_hub_and_verify_against_it(
        federation: Federation) -> None:
    import subprocess

    import httpx

    from medsettle.adapters.launcher import MEDSETTLE
    his = federation.his("440000", f.SHENZHEN_H)
    one_line_visit(his, patient(his, f.WANG), "20.00")
    deadline = time.monotonic() + 15
    anchors: list = []
    while time.monotonic() < deadline and not anchors:
        anchors = own_anchors(federation, "510000")
        time.sleep(0.3)
    assert anchors and anchors[-1]["seq"] >= 1
    assert httpx.get(f"{federation.hub_url}/fed/v1/anchors/510000").status_code == 401
    verify = [MEDSETTLE, "verify", "--db", federation.dbs["510000"], "--node", "510000",
              "--hub", federation.hub_url]
    unsigned = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert unsigned.returncode == 2 and "--keys" in unsigned.stderr
    run = subprocess.run([*verify, "--keys", str(federation.keys_path)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "intact" in run.stdout


def test_provinces_keep_the_hubs_heads_and_catch_a_cut_off_hub_log(
        federation: Federation) -> None:
    import subprocess

    from sqlalchemy import text

    from medsettle.adapters.db.engine import make_engine
    from medsettle.adapters.launcher import MEDSETTLE
    his = federation.his("440000", f.SHENZHEN_H)
    one_line_visit(his, patient(his, f.WU), "30.00")
    province_db = federation.dbs["510000"]
    engine = make_engine(province_db)
    deadline = time.monotonic() + 15
    kept: list = []
    while time.monotonic() < deadline and not kept:
        with engine.connect() as conn:
            kept = list(conn.execute(text("SELECT kind, seq FROM hub_anchors WHERE kind = 'log'")))
        time.sleep(0.3)
    assert kept, "the province kept no copy of the hub's log head"
    verify = [MEDSETTLE, "verify", "--role", "hub", "--db", federation.dbs["hub"],
              "--province-db", province_db]
    intact = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert "anchors match" in intact.stdout
    newest = max(seq for _, seq in kept)
    hub = make_engine(federation.dbs["hub"])
    with hub.begin() as conn:  # as someone with database rights would: triggers off, lines cut
        if hub.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER IF EXISTS hub_messages_append_only ON hub_messages"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS hub_messages_no_delete"))
        conn.execute(text("DELETE FROM hub_messages WHERE id >= :s"), {"s": newest})
    cut = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert cut.returncode == 1 and str(newest) in cut.stdout, cut.stdout + cut.stderr


def test_an_anchor_round_takes_every_provinces_head_and_hands_out_the_hubs(
        federation: Federation) -> None:
    import json

    from sqlalchemy import text

    from medsettle.adapters.db.engine import make_engine
    from medsettle.adapters.peers import SignedClient

    his = federation.his("440000", f.SHENZHEN_H)
    one_line_visit(his, patient(his, f.WANG), "12.00")
    key = json.loads(federation.keys_path.read_text(encoding="utf-8"))["310000"]
    client = SignedClient("310000", 30.0, pool=1)
    try:
        answer = client.result("POST", federation.hub_url, "/fed/v1/anchors/round", key, {},
                               peer="the hub")
    finally:
        client.close()
    outcomes = answer["anchors"]
    assert set(outcomes) == {r for r in federation.dbs if r != "hub"}
    engine = make_engine(federation.dbs["510000"])
    with engine.connect() as conn:
        head = conn.execute(text("SELECT seq, hash FROM ledger_entries ORDER BY seq DESC")
                            ).first()
        kept = conn.execute(text("SELECT max(seq) FROM hub_anchors WHERE kind = 'log'")
                            ).scalar_one()
    assert head is not None and outcomes["510000"].startswith(f"seq {head.seq}")
    assert {"seq": head.seq, "hash": head.hash} in own_anchors(federation, "510000")
    assert kept is not None and kept >= 1
    engine.dispose()


def test_a_person_loaded_while_the_nodes_run_is_located_within_an_anchor_round(
        federation: Federation) -> None:
    """The insured node sees that the hub's locator holds fewer hashes than it has persons, and
    sends them; the treating node then finds the new person by ID number alone."""
    newcomer = f.WANG | {"psn_no": "51010000000000000000000077",
                         "certno": make_id_card("51010419920202007"), "psn_name": "赵新",
                         "card_no": "A51000077", "card_sn": "SN510077",
                         "evoucher": "EC510100" + "N" * 23 + "7"}
    with Store(make_engine(federation.dbs["510000"])).tx() as tx:
        tx.add("persons", newcomer)
    hub = Store(make_engine(federation.dbs["hub"]))
    wanted, deadline = locator_hash(newcomer["certno"]), time.monotonic() + 20
    while time.monotonic() < deadline:
        with hub.read() as tx:
            if tx.one("locator", certno_hash=wanted) is not None:
                break
        time.sleep(0.2)
    hub.engine.dispose()
    out = federation.his("440000", f.SHENZHEN_H).person("02", newcomer["certno"])
    assert out["baseinfo"]["psn_no"] == newcomer["psn_no"]
    assert out["insuinfo"][0]["insuplc_admdvs"] == "510100"


def test_every_node_settles_its_heap_once_started(federation: Federation) -> None:
    """Each served node freezes what it loaded at start (adapters/heap.py), so a full collection
    under load no longer walks it: the gauge says how many objects, the log says when."""
    for name, url in {"hub": federation.hub_url, **federation.urls}.items():
        metrics = httpx.get(f"{url}/metrics").text
        frozen = next(float(line.split()[1]) for line in metrics.splitlines()
                      if line.startswith("medsettle_heap_frozen_objects "))
        assert frozen > 50_000, name  # modules, routes, tables, catalogue: far more than this
        owes_catch_up = "medsettle_index_catch_up_owed " in metrics
        assert owes_catch_up == (name != "hub"), name  # a province's gauge only
        log = (federation.workdir / f"{name}.log").read_text(encoding="utf-8")
        assert '"msg": "heap settled"' in log, name
