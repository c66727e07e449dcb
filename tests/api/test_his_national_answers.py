"""Every HIS answer speaks the national interface only: its keys are national field names and its
coded fields carry national codes, never MedSettle's own words (role, kind, policy_id,
benefit_class, a visit's status).

One module-scoped run sends every transaction the gateway answers, over HTTP, through the
visits of 陈明 (CHEN) at 深圳示例医院: an outpatient visit settled and cancelled, a stay taken through
discharge, settlement and cancel, a reversal, a referral and its revocation, the queries and the
reconciliations. Each answer is kept; the tests walk them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest

from medsettle.adapters.his.client import HisClient, HisError, Patient, VisitFlow, beijing_now
from medsettle.adapters.his.national_fields import foreign_keys
from medsettle.adapters.his.transactions import TRANSACTIONS
from medsettle.core.codes import CERT_TYPES, MED_CHRGITM_TYPES, PSN_TYPES
from tests.api.conftest import INPATIENT_LINES, OTHER_H, OUTPATIENT_LINES, Province
from tests.e2e import fixtures as f

#: Internal words that must never reach a hospital, as keys or as values of coded fields.
INTERNAL = ("role", "kind", "policy_id", "policy_hash", "benefit_class", "visit_type", "status",
            "delta", "emergency", "manual_reimbursement", "reversal_pending", "person",
            "revoked", "reversed", "changed", "cancelled", "accumulators")


class RecordingHis(HisClient):
    """A HIS that keeps every answer it gets, by infno."""

    def __init__(self, province: Province, fixmedins_code: str) -> None:
        super().__init__(str(province.http.base_url), fixmedins_code, "示例医院",
                         http=province.http)
        self.answers: dict[str, list[dict[str, Any]]] = {}

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        answer = super().send(envelope)
        self.answers.setdefault(envelope["infno"], []).append(answer)
        return answer


def time_text(days: int = 0) -> str:
    return (beijing_now() - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Run:
    his: RecordingHis
    chen: Patient
    setl_id: str = ""  # the outpatient settlement (settled with invono INV20260001, cancelled)
    stay_setl_id: str = ""
    other_setl_id: str = ""  # CHEN's settlement at the second hospital
    other: RecordingHis | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def outpatient(his: HisClient, chen: Patient, run: Run) -> VisitFlow:
    visit = VisitFlow(his, chen)
    visit.register()
    his.call("2203", {"mdtrtinfo": {"mdtrt_id": visit.mdtrt_id, "psn_no": chen.psn_no,
                                    "med_type": "11", "begntime": time_text()},
                      "diseinfo": []}, insuplc=chen.insuplc)
    visit.fees(OUTPATIENT_LINES)
    visit.settle("281.00", pre=True)
    run.setl_id = visit.settle("281.00", invono="INV20260001")["setlinfo"]["setl_id"]
    return visit


def queries(his: HisClient, chen: Patient, visit: VisitFlow, setl_id: str) -> None:
    ids = {"psn_no": chen.psn_no, "mdtrt_id": visit.mdtrt_id, "setl_id": setl_id}
    for infno in ("5203", "5204", "5261", "5262"):
        his.call(infno, {"data": ids}, insuplc=chen.insuplc)
    for infno in ("5201", "5205"):
        his.call(infno, {"data": {"psn_no": chen.psn_no}}, insuplc=chen.insuplc)
    his.call("5206", {"data": {"psn_no": chen.psn_no}}, insuplc=chen.insuplc)


def inpatient(his: HisClient, chen: Patient, run: Run) -> None:
    stay = VisitFlow(his, chen)
    stay.admit(begntime=beijing_now() - timedelta(days=3))
    out = stay.fees(INPATIENT_LINES, inpatient=True, when=beijing_now() - timedelta(days=1))
    his.call("2302", {"data": {"feedetl_sn": out["result"][-1]["feedetl_sn"],
                               "mdtrt_id": stay.mdtrt_id, "psn_no": chen.psn_no}},
             insuplc=chen.insuplc)
    his.call("2403", {"adminfo": {"mdtrt_id": stay.mdtrt_id, "psn_no": chen.psn_no,
                                  "adm_dept_codg": "A04", "adm_dept_name": "外科"}},
             insuplc=chen.insuplc)
    stay.discharge()
    his.call("2405", {"data": {"mdtrt_id": stay.mdtrt_id, "psn_no": chen.psn_no}},
             insuplc=chen.insuplc)
    stay.discharge()
    stay.settle("300.00", inpatient=True, pre=True)
    run.stay_setl_id = stay.settle("300.00", inpatient=True)["setlinfo"]["setl_id"]
    his.call("5262", {"data": {"psn_no": chen.psn_no, "setl_id": run.stay_setl_id}},
             insuplc=chen.insuplc)
    stay.cancel(run.stay_setl_id, inpatient=True)
    cancelled = VisitFlow(his, chen)
    cancelled.admit()
    his.call("2404", {"data": {"mdtrt_id": cancelled.mdtrt_id, "psn_no": chen.psn_no}},
             insuplc=chen.insuplc)


def cancels_and_reversal(his: HisClient, chen: Patient, visit: VisitFlow, run: Run) -> None:
    visit.cancel(run.setl_id)
    his.call("2205", {"data": {"mdtrt_id": visit.mdtrt_id, "chrg_bchno": "0000",
                               "psn_no": chen.psn_no}}, insuplc=chen.insuplc)
    registered = his.answers["2201"][0]["output"]["data"]
    his.call("2202", {"data": {"psn_no": chen.psn_no, "mdtrt_id": registered["mdtrt_id"],
                               "ipt_otp_no": registered["ipt_otp_no"]}}, insuplc=chen.insuplc)
    reversed_visit = VisitFlow(his, chen)
    reversed_visit.register()
    reversed_visit.fees(OUTPATIENT_LINES)
    msgid = his.msgid()
    reversed_visit.settle("281.00", msgid=msgid)
    reversed_visit.reverse(msgid, "2207")


def filing_and_reconciliation(his: HisClient, chen: Patient, visit: VisitFlow, setl_id: str
                              ) -> None:
    today = beijing_now().date().isoformat()
    filed = his.call("2501", {"refmedin": {
        "psn_no": chen.psn_no, "insutype": "310", "diag_code": "J18.9", "diag_name": "肺炎",
        "reflin_medins_no": "H51010400001", "reflin_medins_name": "成都示例医院",
        "mdtrtarea_admdvs": "510100", "hosp_agre_refl_flag": "1", "refl_type": "1",
        "refl_date": today, "begndate": today, "enddate": ""}}, insuplc=chen.insuplc)
    his.call("2502", {"data": {"psn_no": chen.psn_no,
                               "trt_dcla_detl_sn": filed["trt_dcla_detl_sn"],
                               "memo": "患者放弃转诊"}}, insuplc=chen.insuplc)
    period = {"stmt_begndate": today, "stmt_enddate": today, "medfee_sumamt": "281.00",
              "fund_pay_sumamt": "0.00", "fixmedins_setl_cnt": "1"}
    his.call("3201", {"data": {"insutype": "310", "clr_type": "11", "setl_optins": "440304",
                               "acct_pay": "0.00", **period}})
    his.call("3202", {"data": {"setl_optins": "440304", "cash_payamt": "281.00", **period,
                               "detail": [{"setl_id": setl_id, "mdtrt_id": visit.mdtrt_id,
                                           "psn_no": chen.psn_no, "medfee_sumamt": "281.00",
                                           "fund_pay_sumamt": "0.00", "acct_pay": "0.00",
                                           "refd_setl_flag": "0"}]}})


def files_and_catalogues(his: RecordingHis) -> None:
    """9101, the catalogue downloads, and 9102 (which answers the file itself, not an
    envelope: it is counted as answered when the file comes back)."""
    uploaded = his.upload("note.txt", "对账说明".encode())
    assert his.download(uploaded["file_qury_no"], "note.txt") == "对账说明".encode()
    his.answers.setdefault("9102", []).append({"infcode": 0})
    for infno in ("1301", "1302", "1305", "1306"):
        his.call(infno, {"data": {"ver": "0"}})


def audit_input(chen: Patient, visit_id: str, orders: list[dict[str, Any]]) -> dict[str, Any]:
    """A national 3101/3103 input: one patient, the current visit and its unbilled orders."""
    return {"data": {"syscode": "HIS01", "task_id": "T0001", "trig_scen": "1", "rule_ids": [],
                     "patient_dtos": [{
                         "patn_id": chen.psn_no, "patn_name": "陈明", "gend": "1",
                         "brdy": "1980-01-01", "poolarea": chen.insuplc,
                         "curr_mdtrt_id": visit_id,
                         "fsi_encounter_dtos": [{"mdtrt_id": visit_id,
                                                 "fsi_order_dtos": orders}]}]}}


def audits(his: HisClient, chen: Patient, run: Run) -> None:
    """3103 on a visit whose lines break no rule, then 3101 with six boxes of one drug (R06)."""
    visit = VisitFlow(his, chen)
    visit.register()
    visit.fees(OUTPATIENT_LINES)
    run.extra["audit_visit"] = visit.mdtrt_id
    run.extra["3103"] = his.call("3103", audit_input(chen, visit.mdtrt_id, []),
                                 insuplc=chen.insuplc)
    orders = [{"rx_id": "RX0001", "rxno": "RX0001", "hilist_code": f.DRUG_A,
               "hilist_name": "氨氯地平片", "cnt": "6", "pric": "80.00"}]
    run.extra["3101"] = his.call("3101", audit_input(chen, visit.mdtrt_id, orders),
                                 insuplc=chen.insuplc)
    visit.his.call("2202", {"data": {"psn_no": chen.psn_no, "mdtrt_id": visit.mdtrt_id,
                                     "ipt_otp_no": his.answers["2201"][-1]["output"]["data"][
                                         "ipt_otp_no"]}}, insuplc=chen.insuplc)


@pytest.fixture(scope="module")
def run(province: Province) -> Run:
    his = RecordingHis(province, f.SHENZHEN_H)
    his.sign_in()
    chen = Patient.from_1101(his.person("01", f.CHEN["evoucher"]), "01", f.CHEN["evoucher"])
    result = Run(his, chen)
    visit = outpatient(his, chen, result)
    queries(his, chen, visit, result.setl_id)
    audits(his, chen, result)
    filing_and_reconciliation(his, chen, visit, result.setl_id)  # before a stay is open: 2502 waits for discharge
    files_and_catalogues(his)
    inpatient(his, chen, result)
    cancels_and_reversal(his, chen, visit, result)
    other = RecordingHis(province, OTHER_H)
    other.sign_in()
    elsewhere = VisitFlow(other, chen)
    elsewhere.register()
    elsewhere.fees(OUTPATIENT_LINES)
    result.other_setl_id = elsewhere.settle("281.00")["setlinfo"]["setl_id"]
    result.other = other
    his.sign_out()  # the end of a shift (9002), and the next one's sign-in
    his.sign_in()
    return result


def test_the_run_reaches_every_transaction_the_gateway_answers(run: Run) -> None:
    answered = {infno for infno, answers in run.his.answers.items()
                if any(a["infcode"] == 0 for a in answers)}
    assert set(TRANSACTIONS) - answered == set()


def test_no_answer_carries_a_key_outside_the_national_field_list(run: Run) -> None:
    foreign = {f"{infno}: {path}" for infno, answers in run.his.answers.items()
               for answer in answers for path in foreign_keys(answer)}
    assert foreign == set()


def test_the_walk_catches_an_internal_key() -> None:
    answer = {"output": {"setlinfo": [{"setl_id": "1", "role": "treating"}],
                         "setldetail": [{"fund_pay_type": "310100", "policy_id": "x"}]}}
    assert list(foreign_keys(answer)) == ["output.setlinfo[0].role",
                                          "output.setldetail[0].policy_id"]


def _values(doc: Any, key: str) -> list[Any]:
    if isinstance(doc, dict):
        found = [doc[key]] if key in doc else []
        return found + [v for value in doc.values() for v in _values(value, key)]
    if isinstance(doc, list):
        return [v for value in doc for v in _values(value, key)]
    return []


@pytest.mark.parametrize(("key", "codes"), [
    ("gend", {"1", "2"}), ("psn_type", set(PSN_TYPES)), ("insutype", {"310", "390"}),
    ("mdtrt_cert_type", {"", *CERT_TYPES}), ("clr_type", {"11", "21"}),
    ("med_chrgitm_type", set(MED_CHRGITM_TYPES)), ("refd_setl_flag", {"0", "1"}),
    ("vali_flag", {"0", "1"}), ("chrgitm_lv", {"01", "02", "03"}),
    ("med_type", {"11", "12", "13", "14", "21", "28"}),
])
def test_coded_fields_carry_national_codes(run: Run, key: str, codes: set[str]) -> None:
    sent = {v for answers in run.his.answers.values() for a in answers for v in _values(a, key)}
    assert sent, f"no answer carried {key}"
    assert sent <= codes


def test_no_internal_word_appears_as_a_value_either(run: Run) -> None:
    words = {"outpatient", "inpatient", "chronic", "settled", "treating", "insured", "settle",
             "cancel", "long_term", "open", "dibao"}
    for infno, answers in run.his.answers.items():
        for answer in answers:
            for key in ("memo", "clr_type", "med_type", "psn_type", "refd_setl_flag"):
                assert not {str(v) for v in _values(answer, key)} & words, (infno, key)


def test_5203_answers_the_full_national_setlinfo_of_the_settlement(run: Run) -> None:
    out = run.his.answers["5203"][0]["output"]
    info = out["setlinfo"]
    assert info["setl_id"] == run.setl_id and info["invono"] == "INV20260001"
    assert info["psn_name"] == "陈明" and info["gend"] in ("1", "2") and info["brdy"]
    assert info["clr_type"] == "11" and info["clr_way"] == "1" and info["refd_setl_flag"] == "0"
    assert info["fixmedins_code"] == f.SHENZHEN_H and info["fixmedins_name"]
    assert info["medfee_sumamt"] == 281.0 and info["hosp_part_amt"] == 0.0
    assert info["psn_pay"] == info["psn_part_amt"]
    assert round(info["fund_pay_sumamt"] + info["psn_part_amt"], 2) == info["medfee_sumamt"]
    assert sum(row["fund_payamt"] for row in out["setldetail"]) == info["fund_pay_sumamt"]
    for word in INTERNAL:
        assert word not in info


def test_5262_totals_the_fee_categories_of_the_settlement(run: Run) -> None:
    out = run.his.answers["5262"][0]["output"]
    totals = out["feesttinfo"]
    assert out["setlinfo"]["setl_id"] == run.setl_id
    assert round(sum(row["item_sumamt"] for row in totals), 2) == 281.0
    for row in totals:
        assert row["item_claa_amt"] + row["item_clab_amt"] <= row["item_sumamt"]
    drugs = [row for row in totals if row["med_chrgitm_type"] == "09"]
    assert drugs and drugs[0]["item_claa_amt"] == 80.0 and drugs[0]["item_clab_amt"] == 156.0


def test_5261_lists_only_the_calling_institutions_settlements(run: Run) -> None:
    assert run.other is not None
    ours = run.his.call("5261", {"data": {"psn_no": run.chen.psn_no}},
                        insuplc=run.chen.insuplc)["setlinfo"]
    ids = {row["setl_id"] for row in ours}
    assert run.setl_id in ids and run.stay_setl_id in ids
    assert run.other_setl_id not in ids
    assert {row["fixmedins_code"] for row in ours} == {f.SHENZHEN_H}
    assert {row["refd_setl_flag"] for row in ours} == {"0", "1"}  # settlements and cancels
    theirs = run.other.call("5261", {"data": {"psn_no": run.chen.psn_no}},
                            insuplc=run.chen.insuplc)["setlinfo"]
    assert [row["setl_id"] for row in theirs] == [run.other_setl_id]


@pytest.mark.parametrize("infno", ["5203", "5261", "5262"])
def test_another_institutions_settlement_is_never_answered(run: Run, infno: str) -> None:
    answer = run.his.send(run.his.envelope(infno, {"data": {
        "psn_no": run.chen.psn_no, "setl_id": run.other_setl_id}}, insuplc=run.chen.insuplc))
    if infno == "5261":
        assert answer["infcode"] == 0 and answer["output"]["setlinfo"] == []
    else:
        assert answer["infcode"] == -1 and answer["output"] is None
        assert "not_found" in answer["err_msg"] and "setl_id" in answer["err_msg"]


def test_3103_on_a_visit_that_breaks_no_rule_answers_no_findings(run: Run) -> None:
    assert run.extra["3103"] == {"result": []}


def test_3101_answers_the_supervision_rule_an_order_would_break(run: Run) -> None:
    [row] = run.extra["3101"]["result"]
    assert row["rule_id"] == "R06" and row["rule_name"] == "超量开药"
    assert row["vola_cont"].startswith("超量开药：49 days of ")  # seven boxes of 7 days
    assert row["patn_id"] == run.chen.psn_no and row["mdtrt_id"] == run.extra["audit_visit"]
    assert row["sev_deg"] == "2" and row["task_id"] == "T0001"
    assert row["vola_amt"] == 560.0  # the uploaded box (¥80) and the six ordered (¥480)
    details = {d["rx_id"]: d["vola_item_type"] for d in row["judge_result_detail_dtos"]}
    assert details["RX0001"] == "1" and "2" in details.values()


def test_3101_names_only_the_rules_asked_for(run: Run) -> None:
    orders = [{"rx_id": "RX0002", "hilist_code": f.DRUG_A, "cnt": "6", "pric": "80.00"}]
    visit = VisitFlow(run.his, run.chen)
    visit.register()
    asked = audit_input(run.chen, visit.mdtrt_id, orders)
    asked["data"]["rule_ids"] = ["R03", "R12"]
    assert run.his.call("3101", asked, insuplc=run.chen.insuplc) == {"result": []}


@pytest.mark.parametrize("infno", ["3101", "3103"])
def test_an_audit_of_another_institutions_visit_is_refused(run: Run, infno: str) -> None:
    assert run.other is not None
    answer = run.other.send(run.other.envelope(
        infno, audit_input(run.chen, run.extra["audit_visit"], []), insuplc=run.chen.insuplc))
    assert answer["infcode"] == -1 and answer["output"] is None
    assert "not_found" in answer["err_msg"] and "curr_mdtrt_id" in answer["err_msg"]


def test_an_answer_with_an_internal_key_is_never_sent_and_records_no_visit(
        province: Province, run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """The treating place keeps nothing (what the insured place recorded for the message is
    recognised by its msgid on a retry, as after any fault of the node)."""
    leaky = replace(TRANSACTIONS["2201"], output=lambda visit, env, i, received: {
        "data": {"mdtrt_id": visit.visit_id, "benefit_class": visit.benefit_class}})
    monkeypatch.setitem(TRANSACTIONS, "2201", leaky)
    treating = ("visits", "fee_details", "settlements")
    before = {k: v for k, v in province.snapshot().items() if k in treating}
    with pytest.raises(HisError) as refused:
        VisitFlow(run.his, run.chen).register()
    assert refused.value.code == "internal"
    assert "benefit_class" not in str(refused.value.answer)
    assert {k: v for k, v in province.snapshot().items() if k in treating} == before
