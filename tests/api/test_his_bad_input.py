"""Bad input at the edge (architecture.md §6): every refused message is HTTP 200, infcode -1,
output null, an err_msg of at most 200 characters that names the field, and changes nothing.

Each row of the tables below starts from a well-formed message of its transaction (`BASE`) and
breaks one thing. "Nothing changed" is a snapshot of every table of the node's database (row
counts and a hash of the rows; message_log excluded, since it records refused messages), taken
before and after the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from operator import attrgetter
from typing import Any

import httpx
import pytest

from medsettle.adapters.his.client import HisClient, Patient
from medsettle.adapters.his.transactions import TRANSACTIONS
from medsettle.core.filing import add_months
from medsettle.core.policy import PolicyBook
from tests.api.conftest import OTHER_H, Province, TestClient, Visit, new_visit
from tests.conftest import business_today
from tests.e2e import fixtures as f

DROP = object()  # an edit that removes the key
CHINESE_FIRST = re.compile(r"[\u4e00-\u9fff]")  # what a window clerk reads comes first
CODE = re.compile(r" \[[a-z_]+\]( |$)")  # the machine-readable code, after the Chinese
NOBODY = "44030000000000000000009999"  # a well-formed psn_no nobody has
NO_ID = "440000209901010000000000000000"  # a well-formed mdtrt_id / setl_id of nothing
NO_MSGID = "H44030400123209901010000000001"  # a well-formed msgid never sent
NO_FILING = "BA440100209901010000009"  # a well-formed filing number of nothing
NO_FILE = "F440000209901010000000000000000"[:29]  # a well-formed file_qury_no of nothing
OTHER_PROVINCE_TOKEN = f.WANG["evoucher"]  # 王芳 is insured in Chengdu (510100)


def now() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def today() -> str:
    return business_today().isoformat()


# --- the state the rows refer to ------------------------------------------------------------

@dataclass
class Ctx:
    """The visits and hospitals of the module's node that rows point at."""

    chen: Patient
    open: Visit  # registered, fees uploaded
    settled: Visit  # settled with 2207
    cancelled: Visit  # settled, then the settlement cancelled (2208)
    stay: Visit  # admitted, fees uploaded, not discharged
    settled_stay: Visit  # admitted, discharged, settled with 2304
    other: HisClient  # a second Shenzhen hospital, signed in


@pytest.fixture(scope="module")
def ctx(province: Province, chen: Patient, open_visit: Visit, settled_visit: Visit,
        cancelled_settlement: Visit, inpatient_stay: Visit, settled_stay: Visit) -> Ctx:
    return Ctx(chen, open_visit, settled_visit, cancelled_settlement, inpatient_stay,
               settled_stay, province.signed_in(OTHER_H))


def of(path: str) -> Callable[[Ctx], Any]:
    """A value read from the context when the row is sent, e.g. of("settled.setl_id")."""
    return attrgetter(path)


def msgid_of(visit: str, infno: str) -> Callable[[Ctx], str]:
    """The msgid of a message that succeeded for one of the context's visits."""
    return lambda c: getattr(c, visit).msgids[infno]


# --- well-formed inputs, one per transaction --------------------------------------------------

def register(c: Ctx) -> dict[str, Any]:
    p = c.chen
    return {"data": {"psn_no": p.psn_no, "insutype": p.insutype, "begntime": now(),
                     "mdtrt_cert_type": p.cert_type, "mdtrt_cert_no": p.cert_no, "card_sn": "",
                     "ipt_otp_no": "MZ000000000001", "atddr_no": "D001", "dr_name": "李医生",
                     "dept_code": "A03", "dept_name": "内科", "caty": "A03", "med_type": "11",
                     "dise_codg": "", "dise_name": ""}}


def admit(c: Ctx) -> dict[str, Any]:
    p = c.chen
    return {"mdtrtinfo": {"psn_no": p.psn_no, "insutype": p.insutype, "begntime": now(),
                          "mdtrt_cert_type": p.cert_type, "mdtrt_cert_no": p.cert_no,
                          "med_type": "21", "ipt_no": "ZY000000000001", "atddr_no": "D001",
                          "chfpdr_name": "王主任", "adm_diag_dscr": "肺炎",
                          "adm_dept_codg": "A03", "adm_dept_name": "内科",
                          "dscg_maindiag_code": "J18.9", "dscg_maindiag_name": "肺炎",
                          "dise_codg": "J18.9", "dise_name": "肺炎", "insuplc_admdvs": p.insuplc},
            "diseinfo": [], "agnterinfo": {}}


def fee_line(v: Visit, *, batch: bool = True) -> dict[str, Any]:
    line = {"feedetl_sn": "FNEW00000001", "mdtrt_id": v.mdtrt_id, "psn_no": v.psn_no,
            "chrg_bchno": "CBNEW0001", "dise_codg": "", "rxno": "", "rx_circ_flag": "0",
            "fee_ocur_time": now(), "med_list_codg": f.DRUG_A, "medins_list_codg": f.DRUG_A,
            "det_item_fee_sumamt": "20.00", "cnt": "2", "pric": "10.00",
            "bilg_dept_codg": "A03", "bilg_dept_name": "内科", "bilg_dr_codg": "D001",
            "bilg_dr_name": "李医生", "hosp_appr_flag": "1"}
    if not batch:
        del line["chrg_bchno"]
    return line


def settle(v: Visit, *, inpatient: bool = False) -> dict[str, Any]:
    p = v.flow.p
    data = {"psn_no": p.psn_no, "mdtrt_cert_type": p.cert_type, "mdtrt_cert_no": p.cert_no,
            "med_type": "21" if inpatient else "11", "medfee_sumamt": v.total,
            "psn_setlway": "01", "mdtrt_id": v.mdtrt_id, "chrg_bchno": "0000",
            "insutype": p.insutype, "acct_used_flag": "0", "invono": ""}
    if inpatient:
        data |= {"mid_setl_flag": "1", "insuplc_admdvs": p.insuplc, "mdtrtarea_admvs": "440300"}
    return {"data": data}


def ref(v: Visit) -> dict[str, Any]:
    return {"data": {"mdtrt_id": v.mdtrt_id, "psn_no": v.psn_no}}


def referral(c: Ctx) -> dict[str, Any]:
    return {"refmedin": {"psn_no": c.chen.psn_no, "insutype": "310", "diag_code": "J18.9",
                         "diag_name": "肺炎", "reflin_medins_no": "H51010400001",
                         "reflin_medins_name": "成都示例医院", "mdtrtarea_admdvs": "510100",
                         "hosp_agre_refl_flag": "1", "refl_type": "1", "refl_date": today(),
                         "begndate": today(), "enddate": ""}}


def audit(c: Ctx) -> dict[str, Any]:
    order = {"rx_id": "RX0001", "hilist_code": f.DRUG_A, "hilist_name": "", "cnt": "1",
             "pric": "80.00"}
    return {"data": {"task_id": "T1", "trig_scen": "1", "rule_ids": [], "patient_dtos": [
        {"patn_id": c.open.psn_no, "curr_mdtrt_id": c.open.mdtrt_id,
         "fsi_encounter_dtos": [{"mdtrt_id": c.open.mdtrt_id, "fsi_order_dtos": [order]}]}]}}


#: infno → its well-formed input. Sent unchanged, the ones that name a real record would succeed,
#: so every row breaks something; 2502 and 2601 default to records that do not exist.
BASE: dict[str, Callable[[Ctx], dict[str, Any]]] = {
    "9001": lambda c: {"signIn": {"opter_no": "D0107", "mac": "00-16-3E-00-00-01",
                                  "ip": "10.0.0.8"}},
    # 9002 names the other hospital's sign-in: unchanged it is refused too (not one's own)
    "9002": lambda c: {"signOut": {"sign_no": c.other.sign_no, "opter_no": "D0107"}},
    "1101": lambda c: {"data": {"mdtrt_cert_type": "01", "mdtrt_cert_no": c.chen.cert_no,
                                "card_sn": "", "begntime": "", "psn_cert_type": "",
                                "certno": "", "psn_name": ""}},
    "2201": register,
    "2202": lambda c: {"data": {"psn_no": c.open.psn_no, "mdtrt_id": c.open.mdtrt_id,
                                "ipt_otp_no": c.open.ipt_otp_no}},
    "2203": lambda c: {"mdtrtinfo": {"mdtrt_id": c.open.mdtrt_id, "psn_no": c.open.psn_no,
                                     "med_type": "11", "begntime": now()}, "diseinfo": []},
    "2204": lambda c: {"feedetail": [fee_line(c.open)]},
    "2205": lambda c: {"data": {"mdtrt_id": c.open.mdtrt_id, "chrg_bchno": c.open.batch,
                                "psn_no": c.open.psn_no}},
    "2206": lambda c: settle(c.open),
    "2207": lambda c: settle(c.open),
    "2208": lambda c: {"data": {"setl_id": c.settled.setl_id, "mdtrt_id": c.settled.mdtrt_id,
                                "psn_no": c.settled.psn_no}},
    "2301": lambda c: {"feedetail": [fee_line(c.stay, batch=False)]},
    "2302": lambda c: {"data": {"feedetl_sn": c.stay.serials[0], "mdtrt_id": c.stay.mdtrt_id,
                                "psn_no": c.stay.psn_no}},
    "2303": lambda c: settle(c.stay, inpatient=True),
    "2304": lambda c: settle(c.stay, inpatient=True),
    "2305": lambda c: {"data": {"setl_id": c.settled_stay.setl_id,
                                "mdtrt_id": c.settled_stay.mdtrt_id,
                                "psn_no": c.settled_stay.psn_no}},
    "2401": admit,
    "2402": lambda c: {"dscginfo": {"mdtrt_id": c.stay.mdtrt_id, "psn_no": c.stay.psn_no,
                                    "insutype": "310", "endtime": now(), "dise_codg": "J18.9",
                                    "dise_name": "肺炎", "dscg_way": "1", "dscg_dept_code": "A03",
                                    "dscg_dept_name": "内科"}, "diseinfo": []},
    "2403": lambda c: {"adminfo": {"mdtrt_id": c.stay.mdtrt_id, "psn_no": c.stay.psn_no,
                                   "adm_dept_codg": "A04", "adm_dept_name": "外科"}},
    "2404": lambda c: ref(c.stay),
    "2405": lambda c: ref(c.settled_stay),
    "2501": referral,
    "2502": lambda c: {"data": {"psn_no": c.chen.psn_no, "trt_dcla_detl_sn": NO_FILING,
                                "memo": "患者要求"}},
    "2601": lambda c: {"data": {"psn_no": c.chen.psn_no, "omsgid": NO_MSGID, "oinfno": "2207"}},
    "5201": lambda c: {"data": {"psn_no": c.chen.psn_no, "begntime": "", "endtime": ""}},
    "5203": lambda c: {"data": {"psn_no": c.settled.psn_no, "setl_id": c.settled.setl_id}},
    "5204": lambda c: {"data": {"psn_no": c.settled.psn_no, "mdtrt_id": c.settled.mdtrt_id}},
    "5261": lambda c: {"data": {"psn_no": c.settled.psn_no, "mdtrt_id": c.settled.mdtrt_id}},
    "5262": lambda c: {"data": {"psn_no": c.settled.psn_no, "setl_id": c.settled.setl_id}},
    "5205": lambda c: {"data": {"psn_no": c.chen.psn_no, "begntime": "", "endtime": ""}},
    "5206": lambda c: {"data": {"psn_no": c.chen.psn_no}},
    "3101": audit,
    "3103": audit,
    "3201": lambda c: {"data": {"insutype": "310", "clr_type": "11", "setl_optins": "440304",
                                "stmt_begndate": "2026-01-01", "stmt_enddate": "2026-01-31",
                                "medfee_sumamt": "100.00", "fund_pay_sumamt": "50.00",
                                "acct_pay": "0.00", "fixmedins_setl_cnt": "1"}},
    "3202": lambda c: {"data": {"setl_optins": "440304", "stmt_begndate": "2026-01-01",
                                "stmt_enddate": "2026-01-31", "medfee_sumamt": "100.00",
                                "fund_pay_sumamt": "50.00", "cash_payamt": "50.00",
                                "fixmedins_setl_cnt": "1",
                                "detail": [{"setl_id": "S1", "mdtrt_id": "M1",
                                            "psn_no": c.chen.psn_no, "medfee_sumamt": "100.00",
                                            "fund_pay_sumamt": "50.00", "acct_pay": "0.00",
                                            "refd_setl_flag": "0"}]}},
    "9101": lambda c: {"fsUploadIn": {"in": [49, 9, 50], "filename": "detail.txt",
                                      "fixmedins_code": f.SHENZHEN_H}},
    "9102": lambda c: {"fsDownloadIn": {"file_qury_no": NO_FILE, "filename": "detail.txt",
                                        "fixmedins_code": f.SHENZHEN_H}},
    "1301": lambda c: {"data": {"ver": "0"}},
    "1302": lambda c: {"data": {"ver": "0"}},
    "1305": lambda c: {"data": {"ver": "0"}},
    "1306": lambda c: {"data": {"ver": "0"}},
}
#: Transactions whose envelope carries insuplc_admdvs (they name a person).
WITH_INSUPLC = set(BASE) - {"9001", "1101"}


# --- rows --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bad:
    """One bad message: a transaction, what is wrong, the edits, and the word err_msg must hold.

    Edit keys are dotted paths into the envelope ("input.data.psn_no", "input.feedetail.0.cnt",
    "msgid"); a value is set as given, computed from the Ctx when callable, or removed if DROP.
    """

    infno: str
    why: str
    names: str
    edits: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.infno}-{self.why.replace(' ', '-')}"

    def envelope(self, province: Province, c: Ctx) -> dict[str, Any]:
        infno = self.infno if self.infno in BASE else "2201"  # envelope rows break a 2201
        doc = province.envelope(infno, BASE[infno](c),
                                insuplc=c.chen.insuplc if infno in WITH_INSUPLC else "")
        for path, value in self.edits.items():
            edit(doc, path, value(c) if callable(value) else value)
        return doc


def edit(doc: Any, path: str, value: Any) -> None:
    *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in parents:
        doc = doc[key]
    if value is DROP:
        del doc[last]
    else:
        doc[last] = value


def bad(infno: str, why: str, names: str, edits: dict[str, Any] | None = None) -> Bad:
    return Bad(infno, why, names, edits or {})


#: Sent by the second hospital, with its own valid sign_no.
FROM_OTHER_HOSPITAL = {"fixmedins_code": OTHER_H, "sign_no": of("other.sign_no")}
DATA = "input.data."
INFO = "input.mdtrtinfo."
LINE = "input.feedetail.0."
PATIENT = "input.data.patient_dtos.0."

ROWS: list[Bad] = [
    # 9002 sign-out
    bad("9002", "missing sign_no", "input.signOut.sign_no", {"input.signOut.sign_no": DROP}),
    bad("9002", "sign_no as a number", "input.signOut.sign_no",
        {"input.signOut.sign_no": 1.0}),
    bad("9002", "no signOut node", "signOut", {"input": {"signout": {}}}),
    bad("9002", "another hospital's sign-in", "input.signOut.sign_no"),
    # 9001 sign-in
    bad("9001", "missing mac", "mac", {"input.signIn.mac": DROP}),
    bad("9001", "ip that is no address", "input.signIn.ip", {"input.signIn.ip": "999.1.1.1"}),
    bad("9001", "opter_no as a number", "opter_no", {"input.signIn.opter_no": 107.0}),
    bad("9001", "no signIn node", "signIn", {"input": {"signin": {}}}),
    bad("9001", "suspended institution", "suspended", {"fixmedins_code": f.SUSPENDED_H}),
    bad("9001", "unknown institution", "not a designated institution",
        {"fixmedins_code": "H44030400777"}),
    # 1101 person info
    bad("1101", "missing mdtrt_cert_type", "mdtrt_cert_type", {DATA + "mdtrt_cert_type": DROP}),
    bad("1101", "malformed e-voucher", "mdtrt_cert_no", {DATA + "mdtrt_cert_no": "EC44"}),
    bad("1101", "ID card with a wrong check digit", "mdtrt_cert_no",
        {DATA + "mdtrt_cert_type": "02", DATA + "mdtrt_cert_no": f.CHEN["certno"][:17] + "0"}),
    bad("1101", "card number as a float", "mdtrt_cert_no",
        {DATA + "mdtrt_cert_type": "03", DATA + "mdtrt_cert_no": 44000001.0}),
    bad("1101", "social security card without card_sn", "card_sn",
        {DATA + "mdtrt_cert_type": "03", DATA + "mdtrt_cert_no": f.CHEN["card_no"]}),
    bad("1101", "unknown e-voucher of Guangzhou", "credential",
        {DATA + "mdtrt_cert_no": "EC440100" + "Z" * 23 + "9"}),
    bad("1101", "patient of another province", "no hub",
        {DATA + "mdtrt_cert_no": OTHER_PROVINCE_TOKEN}),
    # 2201 outpatient register
    bad("2201", "missing psn_no", "psn_no", {DATA + "psn_no": DROP}),
    bad("2201", "a credential of nobody", "mdtrt_cert_no",
        {DATA + "mdtrt_cert_type": "01", DATA + "mdtrt_cert_no": "EC440100" + "Z" * 24}),
    bad("2201", "insutype as a float", "insutype", {DATA + "insutype": 310.0}),
    bad("2201", "begntime not a calendar day", "begntime",
        {DATA + "begntime": "2024-02-30 08:00:00"}),
    bad("2201", "inpatient med_type", "med_type", {DATA + "med_type": "21"}),
    bad("2201", "unknown person", f"person {NOBODY}", {DATA + "psn_no": NOBODY}),
    bad("2201", "no insuplc_admdvs", "insuplc_admdvs", {"insuplc_admdvs": ""}),
    bad("2201", "patient of another province", "no hub",
        {"insuplc_admdvs": "510100", DATA + "psn_no": f.WANG["psn_no"],
         DATA + "mdtrt_cert_no": OTHER_PROVINCE_TOKEN}),
    # 2202 cancel register
    bad("2202", "another visit's hospital number", "ipt_otp_no",
        {DATA + "ipt_otp_no": "MZ-NOT-THIS-ONE"}),
    bad("2202", "missing ipt_otp_no", "ipt_otp_no", {DATA + "ipt_otp_no": DROP}),
    bad("2202", "mdtrt_id as a float", "mdtrt_id", {DATA + "mdtrt_id": 4400.0}),
    bad("2202", "unknown visit", NO_ID, {DATA + "mdtrt_id": NO_ID}),
    bad("2202", "visit of another person", "psn_no", {DATA + "psn_no": NOBODY}),
    bad("2202", "visit of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    bad("2202", "settled visit", "cancel the settlement first",
        {DATA + "mdtrt_id": of("settled.mdtrt_id")}),
    # 2203 visit info
    bad("2203", "missing mdtrtinfo", "mdtrtinfo", {"input.mdtrtinfo": DROP}),
    bad("2203", "inpatient med_type", "med_type", {INFO + "med_type": "21"}),
    bad("2203", "begntime without a time", "begntime", {INFO + "begntime": "2024-03-15"}),
    bad("2203", "malformed diagnosis code", "diag_code",
        {"input.diseinfo": [{"diag_type": "1", "diag_srt_no": 1, "diag_code": "PNEUMONIA",
                             "diag_name": "肺炎"}]}),
    bad("2203", "unknown visit", NO_ID, {INFO + "mdtrt_id": NO_ID}),
    bad("2203", "visit of another person", "psn_no", {INFO + "psn_no": NOBODY}),
    bad("2203", "settled visit", "settled", {INFO + "mdtrt_id": of("settled.mdtrt_id")}),
    # 2204 outpatient fee details
    bad("2204", "negative quantity", "cnt", {LINE + "cnt": "-2"}),
    bad("2204", "absurd price", "pric",
        {LINE + "pric": "99999999", LINE + "det_item_fee_sumamt": "20.00"}),
    bad("2204", "negative amount", "det_item_fee_sumamt", {LINE + "det_item_fee_sumamt": "-20.00"}),
    bad("2204", "amount not price times quantity", "det_item_fee_sumamt",
        {LINE + "det_item_fee_sumamt": "21.00"}),
    bad("2204", "catalogue code as a float", "med_list_codg", {LINE + "med_list_codg": 1.5}),
    bad("2204", "malformed fee_ocur_time", "fee_ocur_time",
        {LINE + "fee_ocur_time": "15/03/2024 10:00"}),
    bad("2204", "empty feedetail", "feedetail", {"input.feedetail": []}),
    bad("2204", "serial already uploaded", "feedetl_sn",
        {LINE + "feedetl_sn": lambda c: c.open.serials[0]}),
    bad("2204", "unknown visit", NO_ID, {LINE + "mdtrt_id": NO_ID}),
    bad("2204", "visit of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    bad("2204", "fees after settlement", "settled", {LINE + "mdtrt_id": of("settled.mdtrt_id")}),
    # 2205 cancel fee details
    bad("2205", "missing chrg_bchno", "chrg_bchno", {DATA + "chrg_bchno": DROP}),
    bad("2205", "unknown batch", "unsettled", {DATA + "chrg_bchno": "CB0000NOPE"}),
    bad("2205", "settled fees", "unsettled",
        {DATA + "mdtrt_id": of("settled.mdtrt_id"), DATA + "chrg_bchno": "0000"}),
    bad("2205", "visit of another person", "psn_no", {DATA + "psn_no": NOBODY}),
    bad("2205", "visit of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    # 2206 outpatient pre-settle
    bad("2206", "negative total", "medfee_sumamt", {DATA + "medfee_sumamt": -281.0}),
    bad("2206", "absurd total", "medfee_sumamt", {DATA + "medfee_sumamt": "100000001.00"}),
    bad("2206", "total not the uploaded fees", "medfee_sumamt", {DATA + "medfee_sumamt": 280.0}),
    bad("2206", "part above the total", "fulamt_ownpay_amt",
        {DATA + "fulamt_ownpay_amt": "300.00"}),
    bad("2206", "unknown psn_setlway", "psn_setlway", {DATA + "psn_setlway": "03"}),
    bad("2206", "med_type as a float", "med_type", {DATA + "med_type": 11.0}),
    bad("2206", "inpatient stay", "infno", {DATA + "mdtrt_id": of("stay.mdtrt_id")}),
    bad("2206", "settled visit", "不能重复结算", {DATA + "mdtrt_id": of("settled.mdtrt_id")}),
    # 2207 outpatient settle
    bad("2207", "settling twice", "不能重复结算", {DATA + "mdtrt_id": of("settled.mdtrt_id")}),
    bad("2207", "missing chrg_bchno", "chrg_bchno", {DATA + "chrg_bchno": DROP}),
    bad("2207", "negative total", "medfee_sumamt", {DATA + "medfee_sumamt": "-0.01"}),
    bad("2207", "total not the uploaded fees", "medfee_sumamt", {DATA + "medfee_sumamt": "1.00"}),
    bad("2207", "unknown insutype", "insutype", {DATA + "insutype": "999"}),
    bad("2207", "acct_used_flag not a flag", "acct_used_flag", {DATA + "acct_used_flag": "Y"}),
    bad("2207", "unknown visit", NO_ID, {DATA + "mdtrt_id": NO_ID}),
    bad("2207", "visit of another person", "psn_no", {DATA + "psn_no": NOBODY}),
    bad("2207", "visit of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    # 2208 cancel outpatient settlement
    bad("2208", "missing setl_id", "setl_id", {DATA + "setl_id": DROP}),
    bad("2208", "setl_id as a float", "setl_id", {DATA + "setl_id": 4400.0}),
    bad("2208", "unknown settlement", NO_ID, {DATA + "setl_id": NO_ID}),
    bad("2208", "settlement of another visit", "does not exist",
        {DATA + "mdtrt_id": of("open.mdtrt_id")}),
    bad("2208", "cancelling twice", "already cancelled",
        {DATA + "setl_id": of("cancelled.setl_id"), DATA + "mdtrt_id": of("cancelled.mdtrt_id")}),
    bad("2208", "settlement of another person", "psn_no", {DATA + "psn_no": NOBODY}),
    bad("2208", "settlement of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    # 2301 inpatient fee details
    bad("2301", "absurd quantity", "cnt", {LINE + "cnt": "1000000"}),
    bad("2301", "negative price", "pric", {LINE + "pric": "-10.00"}),
    bad("2301", "missing feedetail", "feedetail", {"input.feedetail": DROP}),
    bad("2301", "lines of two visits", "input.feedetail[1].mdtrt_id",
        {"input.feedetail": lambda c: [fee_line(c.stay, batch=False),
                                       fee_line(c.open, batch=False) | {"feedetl_sn": "F2"}]}),
    bad("2301", "unknown visit", NO_ID, {LINE + "mdtrt_id": NO_ID}),
    bad("2301", "visit of another person", "psn_no", {LINE + "psn_no": NOBODY}),
    bad("2301", "fees after settlement", "settled",
        {LINE + "mdtrt_id": of("settled_stay.mdtrt_id")}),
    bad("2301", "inpatient fees for an outpatient visit", "infno",
        {LINE + "mdtrt_id": of("open.mdtrt_id")}),
    # 2302 cancel inpatient fee details
    bad("2302", "missing feedetl_sn", "feedetl_sn", {DATA + "feedetl_sn": DROP}),
    bad("2302", "feedetl_sn as a float", "feedetl_sn", {DATA + "feedetl_sn": 1.0}),
    bad("2302", "unknown serial", "unsettled", {DATA + "feedetl_sn": "FNOPE"}),
    bad("2302", "visit of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    # 2303 inpatient pre-settle
    bad("2303", "missing mid_setl_flag", "mid_setl_flag", {DATA + "mid_setl_flag": DROP}),
    bad("2303", "outpatient med_type", "med_type", {DATA + "med_type": "11"}),
    bad("2303", "negative total", "medfee_sumamt", {DATA + "medfee_sumamt": "-460.00"}),
    bad("2303", "total not the uploaded fees", "medfee_sumamt", {DATA + "medfee_sumamt": "1.00"}),
    bad("2303", "outpatient visit", "infno", {DATA + "mdtrt_id": of("open.mdtrt_id")}),
    # 2304 inpatient settle
    bad("2304", "before discharge without mid_setl_flag", "2402", {DATA + "mid_setl_flag": "0"}),
    bad("2304", "absurd total", "medfee_sumamt", {DATA + "medfee_sumamt": 1e12}),
    bad("2304", "bad insuplc_admdvs in data", "insuplc_admdvs",
        {DATA + "insuplc_admdvs": "4401"}),
    bad("2304", "unknown visit", NO_ID, {DATA + "mdtrt_id": NO_ID}),
    bad("2304", "visit of another person", "psn_no", {DATA + "psn_no": NOBODY}),
    bad("2304", "settling twice", "不能重复结算",
        {DATA + "mdtrt_id": of("settled_stay.mdtrt_id"), DATA + "medfee_sumamt": "460.00"}),
    # 2305 cancel inpatient settlement
    bad("2305", "missing setl_id", "setl_id", {DATA + "setl_id": DROP}),
    bad("2305", "unknown settlement", NO_ID, {DATA + "setl_id": NO_ID}),
    bad("2305", "settlement of another person", "psn_no", {DATA + "psn_no": NOBODY}),
    bad("2305", "settlement of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    # 2401 admission
    bad("2401", "missing ipt_no", "ipt_no", {INFO + "ipt_no": DROP}),
    bad("2401", "outpatient med_type", "med_type", {INFO + "med_type": "11"}),
    bad("2401", "begntime in another format", "begntime", {INFO + "begntime": "20240315100000"}),
    bad("2401", "insutype as a number", "insutype", {INFO + "insutype": 310}),
    bad("2401", "unknown person", f"person {NOBODY}", {INFO + "psn_no": NOBODY}),
    bad("2401", "patient of another province", "no hub",
        {"insuplc_admdvs": "510100", INFO + "psn_no": f.WANG["psn_no"],
         INFO + "mdtrt_cert_no": OTHER_PROVINCE_TOKEN}),
    # 2402 discharge
    bad("2402", "missing endtime", "endtime", {"input.dscginfo.endtime": DROP}),
    bad("2402", "endtime before admission", "endtime",
        {"input.dscginfo.endtime": "2020-01-01 08:00:00"}),
    bad("2402", "missing dscg_way", "dscg_way", {"input.dscginfo.dscg_way": DROP}),
    bad("2402", "no discharge node", "dscginfo", {"input.dscginfo": DROP}),
    bad("2402", "discharge of an outpatient visit", "inpatient",
        {"input.dscginfo.mdtrt_id": of("open.mdtrt_id")}),
    bad("2402", "unknown visit", NO_ID, {"input.dscginfo.mdtrt_id": NO_ID}),
    # 2403 change admission
    bad("2403", "missing mdtrt_id", "mdtrt_id", {"input.adminfo.mdtrt_id": DROP}),
    bad("2403", "outpatient med_type", "med_type", {"input.adminfo.med_type": "11"}),
    bad("2403", "malformed begntime", "begntime", {"input.adminfo.begntime": "yesterday"}),
    bad("2403", "unknown visit", NO_ID, {"input.adminfo.mdtrt_id": NO_ID}),
    bad("2403", "outpatient visit", "inpatient",
        {"input.adminfo.mdtrt_id": of("open.mdtrt_id")}),
    bad("2403", "visit of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    # 2404 cancel admission
    bad("2404", "missing psn_no", "psn_no", {DATA + "psn_no": DROP}),
    bad("2404", "mdtrt_id longer than 30", "mdtrt_id", {DATA + "mdtrt_id": "4" * 31}),
    bad("2404", "unknown visit", NO_ID, {DATA + "mdtrt_id": NO_ID}),
    bad("2404", "cancel admission of an outpatient visit", "infno",
        {DATA + "mdtrt_id": of("open.mdtrt_id")}),
    bad("2404", "visit of another person", "psn_no", {DATA + "psn_no": NOBODY}),
    bad("2404", "settled stay", "cancel the settlement first",
        {DATA + "mdtrt_id": of("settled_stay.mdtrt_id")}),
    # 2405 cancel discharge
    bad("2405", "stay not discharged", "not discharged", {DATA + "mdtrt_id": of("stay.mdtrt_id")}),
    bad("2405", "settled stay", "settled, not discharged"),
    bad("2405", "missing mdtrt_id", "mdtrt_id", {DATA + "mdtrt_id": DROP}),
    bad("2405", "unknown visit", NO_ID, {DATA + "mdtrt_id": NO_ID}),
    bad("2405", "visit of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    # 2501 referral filing
    bad("2501", "missing diag_code", "diag_code", {"input.refmedin.diag_code": DROP}),
    bad("2501", "refl_date not a calendar day", "refl_date",
        {"input.refmedin.refl_date": "2024-02-30"}),
    bad("2501", "enddate before begndate", "enddate", {"input.refmedin.enddate": "2020-01-01"}),
    bad("2501", "malformed receiving institution", "reflin_medins_no",
        {"input.refmedin.reflin_medins_no": "X123"}),
    bad("2501", "destination in the insured province", "another province",
        {"input.refmedin.mdtrtarea_admdvs": "440300"}),
    bad("2501", "unknown person", f"person {NOBODY}", {"input.refmedin.psn_no": NOBODY}),
    bad("2501", "no insuplc_admdvs", "insuplc_admdvs", {"insuplc_admdvs": ""}),
    # 2502 revoke referral filing
    bad("2502", "unknown filing number", f"filing {NO_FILING}"),
    bad("2502", "missing trt_dcla_detl_sn", "trt_dcla_detl_sn", {DATA + "trt_dcla_detl_sn": DROP}),
    bad("2502", "filing number as a float", "trt_dcla_detl_sn",
        {DATA + "trt_dcla_detl_sn": 4401.0}),
    bad("2502", "memo too long", "memo", {DATA + "memo": "因" * 501}),
    bad("2502", "no insuplc_admdvs", "insuplc_admdvs", {"insuplc_admdvs": ""}),
    # 2601 reversal
    bad("2601", "missing omsgid", "omsgid", {DATA + "omsgid": DROP}),
    bad("2601", "omsgid longer than 30", "omsgid", {DATA + "omsgid": "H" * 31}),
    bad("2601", "irreversible oinfno", "oinfno", {DATA + "oinfno": "2203"}),
    bad("2601", "oinfno not the original's", "oinfno",
        {DATA + "omsgid": msgid_of("settled", "2207"), DATA + "oinfno": "2201"}),
    bad("2601", "a cancel instead of a cancel transaction", "send its cancel transaction",
        {DATA + "oinfno": "2205"}),
    bad("2601", "settlement of another institution", "settled nothing of H44030400456",
        {**FROM_OTHER_HOSPITAL, DATA + "omsgid": msgid_of("settled", "2207")}),
    bad("2601", "settlement of another person", "psn_no",
        {DATA + "psn_no": NOBODY, DATA + "omsgid": msgid_of("settled", "2207")}),
    bad("2601", "registration of another person", "psn_no",
        {DATA + "psn_no": NOBODY, DATA + "omsgid": msgid_of("open", "2201"),
         DATA + "oinfno": "2201"}),
    # 5201 visits query
    bad("5201", "missing psn_no", "psn_no", {DATA + "psn_no": DROP}),
    bad("5201", "psn_no as a float", "psn_no", {DATA + "psn_no": 4403.0}),
    bad("5201", "malformed begntime", "begntime", {DATA + "begntime": "2024-3-1 8:00:00"}),
    bad("5201", "endtime before begntime", "endtime",
        {DATA + "begntime": "2024-03-02 00:00:00", DATA + "endtime": "2024-03-01 00:00:00"}),
    # 5203 settlement query
    bad("5203", "neither setl_id nor mdtrt_id", "setl_id or mdtrt_id", {DATA + "setl_id": DROP}),
    bad("5203", "setl_id as a float", "setl_id", {DATA + "setl_id": 4400.0}),
    bad("5203", "missing psn_no", "psn_no", {DATA + "psn_no": DROP}),
    bad("5203", "mdtrt_id with a path in it", "mdtrt_id", {DATA + "mdtrt_id": "../visits"}),
    # 5204 fee details query
    bad("5204", "visit of another person", "psn_no", {DATA + "psn_no": NOBODY}),
    bad("5204", "visit of another institution", "is not a visit of H44030400456",
        FROM_OTHER_HOSPITAL),
    bad("5204", "neither setl_id nor mdtrt_id", "setl_id or mdtrt_id", {DATA + "mdtrt_id": DROP}),
    bad("5204", "data as a list", "input.data", {"input.data": []}),
    # 3101/3103 pre-event and in-event audit
    bad("3101", "no patients", "patient_dtos", {DATA + "patient_dtos": []}),
    bad("3101", "an unknown rule id", "rule_ids", {DATA + "rule_ids": ["R99"]}),
    bad("3101", "an order with a malformed code", "hilist_code",
        {PATIENT + "fsi_encounter_dtos.0.fsi_order_dtos.0.hilist_code": "ABC"}),
    bad("3101", "an order with a negative count", "cnt",
        {PATIENT + "fsi_encounter_dtos.0.fsi_order_dtos.0.cnt": "-1"}),
    bad("3103", "visit of another institution", "curr_mdtrt_id", FROM_OTHER_HOSPITAL),
    bad("3103", "visit of another person", "patn_id", {PATIENT + "patn_id": NOBODY}),
    bad("3103", "missing curr_mdtrt_id", "curr_mdtrt_id", {PATIENT + "curr_mdtrt_id": DROP}),
    bad("3103", "a settled visit", "is settled", {PATIENT + "curr_mdtrt_id": of(
        "settled.mdtrt_id")}),
    # 5261 settlement list, 5262 settlement with fee-category totals
    bad("5261", "missing psn_no", "psn_no", {DATA + "psn_no": DROP}),
    bad("5261", "endtime before begntime", "endtime",
        {DATA + "begntime": "2024-03-02 00:00:00", DATA + "endtime": "2024-03-01 00:00:00"}),
    bad("5261", "setl_id as a number", "setl_id", {DATA + "setl_id": 4400}),
    bad("5262", "neither setl_id nor mdtrt_id", "setl_id or mdtrt_id", {DATA + "setl_id": DROP}),
    bad("5262", "settlement of another person", "setl_id", {DATA + "psn_no": NOBODY}),
    bad("5262", "settlement of nothing", "setl_id", {DATA + "setl_id": NO_ID}),
    bad("5262", "settlement of another visit", "mdtrt_id",
        {DATA + "mdtrt_id": of("open.mdtrt_id")}),
    # 5205 chronic medication query
    bad("5205", "missing psn_no", "psn_no", {DATA + "psn_no": DROP}),
    bad("5205", "endtime before begntime", "endtime",
        {DATA + "begntime": "2024-03-02 00:00:00", DATA + "endtime": "2024-03-01 00:00:00"}),
    bad("5205", "begntime not a calendar day", "begntime",
        {DATA + "begntime": "2024-13-01 00:00:00"}),
    # 5206 accumulations query
    bad("5206", "no insuplc_admdvs", "insuplc_admdvs", {"insuplc_admdvs": ""}),
    # 3201/3202 reconciliation
    bad("3201", "missing insutype", "insutype", {DATA + "insutype": DROP}),
    bad("3201", "bad clearing type", "clr_type", {DATA + "clr_type": "99"}),
    bad("3201", "absurd negative total", "medfee_sumamt", {DATA + "medfee_sumamt": "-1e12"}),
    bad("3201", "end before start", "stmt_enddate", {DATA + "stmt_enddate": "2025-12-31"}),
    bad("3202", "missing start date", "stmt_begndate", {DATA + "stmt_begndate": DROP}),
    bad("3202", "absurd total", "medfee_sumamt", {DATA + "medfee_sumamt": "1e12"}),
    bad("3202", "detail not a list", "detail", {DATA + "detail": "S1"}),
    bad("3202", "unknown detail file", "input.data.file_qury_no",
        {DATA + "detail": DROP, DATA + "file_qury_no": NO_FILE}),
    # 9101/9102 files, 13xx catalogue downloads
    bad("9101", "empty file", "input.fsUploadIn.in", {"input.fsUploadIn.in": []}),
    bad("9101", "byte out of range", "input.fsUploadIn.in[1]", {"input.fsUploadIn.in.1": 999}),
    bad("9101", "file name with a folder", "filename",
        {"input.fsUploadIn.filename": "a/b.txt"}),
    bad("9101", "another institution's code", "fixmedins_code",
        {"input.fsUploadIn.fixmedins_code": OTHER_H}),
    bad("9102", "unknown file", "input.fsDownloadIn.file_qury_no", {}),
    bad("9102", "missing filename", "filename", {"input.fsDownloadIn.filename": DROP}),
    bad("9102", "another institution's code", "fixmedins_code",
        {"input.fsDownloadIn.fixmedins_code": OTHER_H}),
    bad("9102", "no fsDownloadIn node", "fsDownloadIn", {"input": {"fs": {}}}),
    *(row for infno in ("1301", "1302", "1305", "1306") for row in (
        bad(infno, "version not digits", "input.data.ver", {DATA + "ver": "V1.0"}),
        bad(infno, "version too long", "input.data.ver", {DATA + "ver": "9" * 21}),
        bad(infno, "version an object", "input.data.ver", {DATA + "ver": {"v": 1}}))),
    bad("5206", "malformed cum_ym", "cum_ym", {DATA + "cum_ym": "202413"}),
    bad("5206", "unknown person", f"person {NOBODY}", {DATA + "psn_no": NOBODY}),
    bad("5206", "no visit at the institution", "has no visit",
        {"insuplc_admdvs": "510100", DATA + "psn_no": f.WANG["psn_no"]}),
]

#: Envelope-level faults, on an otherwise good 2201 registration of CHEN.
ENVELOPE_ROWS: list[Bad] = [
    bad("envelope", "unknown infno", "infno", {"infno": "9999"}),
    bad("envelope", "infno as a number", "infno", {"infno": 2201}),
    bad("envelope", "infno not offered", "infno", {"infno": "3203"}),
    bad("envelope", "missing msgid", "msgid", {"msgid": DROP}),
    bad("envelope", "msgid longer than 30", "msgid", {"msgid": "H44030400123" + "2" * 19}),
    bad("envelope", "msgid with a space", "msgid", {"msgid": "H4403 0400123"}),
    bad("envelope", "malformed mdtrtarea_admvs", "mdtrtarea_admvs", {"mdtrtarea_admvs": "44030"}),
    bad("envelope", "mdtrtarea_admvs of no province", "mdtrtarea_admvs",
        {"mdtrtarea_admvs": "990000"}),
    bad("envelope", "mdtrtarea_admvs of another province", "mdtrtarea_admvs",
        {"mdtrtarea_admvs": "510100"}),
    bad("envelope", "malformed insuplc_admdvs", "insuplc_admdvs", {"insuplc_admdvs": 440100}),
    bad("envelope", "missing sign_no", "sign_no", {"sign_no": ""}),
    bad("envelope", "unknown sign_no", "sign_no", {"sign_no": "440000209901010000000000000001"}),
    bad("envelope", "sign_no of another institution", "sign_no", {"sign_no": of("other.sign_no")}),
    bad("envelope", "suspended institution", "sign_no", {"fixmedins_code": f.SUSPENDED_H}),
    bad("envelope", "unknown institution", "sign_no", {"fixmedins_code": "H44030400777"}),
    bad("envelope", "malformed fixmedins_code", "fixmedins_code", {"fixmedins_code": "X123"}),
    bad("envelope", "missing input", "input", {"input": DROP}),
    bad("envelope", "input as a list", "input", {"input": []}),
    bad("envelope", "input above 40000 characters", "input",
        {"input.data.dise_name": "病" * 40001}),
    bad("envelope", "unknown opter_type", "opter_type", {"opter_type": "9"}),
    bad("envelope", "malformed inf_time", "inf_time", {"inf_time": "now"}),
]

RAW_BODIES = [
    pytest.param(b'{"infno": "2201", "msgid": ', id="malformed-JSON"),
    pytest.param(b'[{"infno": "2201"}]', id="JSON-array"),
    pytest.param(b'"2201"', id="JSON-string"),
    pytest.param(b"", id="empty-body"),
    pytest.param('{"infno": "2201"}'.encode("utf-16"), id="not-UTF-8"),
    pytest.param(b'{"infno": "2201", "msgid": NaN}', id="NaN-constant"),
]


def assert_refused(response: httpx.Response, names: str) -> dict[str, Any]:
    """HTTP 200, infcode -1, no output, and a short err_msg naming the field."""
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["infcode"] == -1, answer
    assert answer["output"] is None
    err = answer["err_msg"]
    assert isinstance(err, str) and err.strip()
    assert len(err) <= 200, err
    assert names in err, f"err_msg does not name {names!r}: {err}"
    assert CHINESE_FIRST.match(err), f"err_msg must start in Chinese: {err}"
    assert CODE.search(err), f"err_msg must keep its [code]: {err}"
    return answer


# --- the tables --------------------------------------------------------------------------------

def test_every_transaction_of_the_gateway_has_at_least_three_bad_rows() -> None:
    counts = {infno: sum(row.infno == infno for row in ROWS) for infno in TRANSACTIONS}
    assert {infno: n for infno, n in counts.items() if n < 3} == {}
    assert set(BASE) == set(TRANSACTIONS)


@pytest.mark.parametrize("row", [pytest.param(r, id=r.id) for r in ROWS + ENVELOPE_ROWS])
def test_a_bad_message_is_refused_naming_the_field_and_changes_nothing(
        province: Province, ctx: Ctx, row: Bad) -> None:
    envelope = row.envelope(province, ctx)
    before = province.snapshot()
    assert_refused(province.post(envelope), row.names)
    assert province.snapshot() == before


@pytest.mark.parametrize("body", RAW_BODIES)
def test_a_body_that_is_not_a_json_object_is_refused_naming_the_body(
        province: Province, body: bytes) -> None:
    before = province.snapshot()
    assert_refused(province.post(body), "body")
    assert province.snapshot() == before


# --- msgid idempotency -----------------------------------------------------------------------

def test_a_reused_msgid_with_a_different_body_is_refused_naming_msgid(
        province: Province, ctx: Ctx) -> None:
    first = province.envelope("2201", register(ctx), insuplc=ctx.chen.insuplc)
    assert province.post(first).json()["infcode"] == 0
    before = province.snapshot()
    other_body = register(ctx)
    other_body["data"]["ipt_otp_no"] = "MZ000000000002"
    assert_refused(province.post(first | {"input": other_body}), "msgid")
    assert province.snapshot() == before


def _register(province: Province, c: Ctx) -> dict[str, Any]:
    return province.envelope("2201", register(c), insuplc=c.chen.insuplc)


def _upload(province: Province, c: Ctx) -> dict[str, Any]:
    visit = new_visit(province, c.chen)
    return province.envelope("2204", {"feedetail": [fee_line(visit)]}, insuplc=c.chen.insuplc)


def _settle(province: Province, c: Ctx) -> dict[str, Any]:
    visit = new_visit(province, c.chen)
    return province.envelope("2207", settle(visit), insuplc=c.chen.insuplc)


def _cancel(province: Province, c: Ctx) -> dict[str, Any]:
    visit = new_visit(province, c.chen)
    setl_id = visit.flow.settle(visit.total)["setlinfo"]["setl_id"]
    return province.envelope("2208", {"data": {"setl_id": setl_id, **ref(visit)["data"]}},
                             insuplc=c.chen.insuplc)


@pytest.mark.parametrize("make", [pytest.param(_register, id="2201-register"),
                                  pytest.param(_upload, id="2204-fee-upload"),
                                  pytest.param(_settle, id="2207-settle"),
                                  pytest.param(_cancel, id="2208-cancel-settlement")])
def test_a_retry_of_a_successful_message_returns_the_stored_answer_and_changes_nothing(
        province: Province, ctx: Ctx,
        make: Callable[[Province, Ctx], dict[str, Any]]) -> None:
    envelope = make(province, ctx)
    first = province.post(envelope)
    assert first.status_code == 200 and first.json()["infcode"] == 0, first.text
    before = province.snapshot()
    again = province.post(envelope)
    assert again.status_code == 200
    assert again.content == first.content
    assert province.snapshot() == before


# --- routing and internal errors ----------------------------------------------------------------

def test_a_patient_of_another_province_without_a_hub_gets_a_clear_error_not_a_crash(
        province: Province, ctx: Ctx) -> None:
    before = province.snapshot()
    person = province.envelope("1101", {"data": {"mdtrt_cert_type": "01",
                                                 "mdtrt_cert_no": OTHER_PROVINCE_TOKEN}})
    by_id_card = province.envelope("1101", {"data": {"mdtrt_cert_type": "02",
                                                     "mdtrt_cert_no": f.WANG["certno"]}})
    wang = register(ctx)
    wang["data"] |= {"psn_no": f.WANG["psn_no"], "mdtrt_cert_no": OTHER_PROVINCE_TOKEN}
    visit = province.envelope("2201", wang, insuplc=f.WANG["insu_admdvs"])
    assert "510000" in assert_refused(province.post(person), "no hub configured")["err_msg"]
    assert_refused(province.post(by_id_card), "no hub is configured")
    assert_refused(province.post(visit), "no hub configured to reach province 510000")
    assert province.snapshot() == before


@pytest.mark.parametrize("infno", ["2201", "5201"])
def test_an_unexpected_internal_error_is_infcode_minus_one_never_http_500(
        province: Province, ctx: Ctx, monkeypatch: pytest.MonkeyPatch, infno: str) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setitem(TRANSACTIONS, infno, replace(TRANSACTIONS[infno], run=broken))
    envelope = province.envelope(infno, BASE[infno](ctx), insuplc=ctx.chen.insuplc)
    before = province.snapshot()
    answer = assert_refused(province.post(envelope), "internal")
    assert "a bug" not in answer["err_msg"]
    assert province.snapshot() == before


def test_a_message_that_failed_internally_is_processed_when_retried(
        province: Province, ctx: Ctx, monkeypatch: pytest.MonkeyPatch) -> None:
    envelope = province.envelope("2201", register(ctx), insuplc=ctx.chen.insuplc)
    with monkeypatch.context() as patch:
        patch.setitem(TRANSACTIONS, "2201", replace(TRANSACTIONS["2201"], run=lambda *_: 1 / 0))
        assert_refused(province.post(envelope), "internal")
    retried = province.post(envelope).json()
    assert retried["infcode"] == 0, retried["err_msg"]
    assert len(retried["output"]["data"]["mdtrt_id"]) == 30


# --- the filing API ------------------------------------------------------------------------------

def filing_request(**changes: Any) -> dict[str, Any]:
    return {"psn_no": f.CHEN["psn_no"], "category": "long_term_resident",
            "destination": "510100", "commitment": True, "channel": "app"} | changes


@pytest.mark.parametrize(("body", "field_name"), [
    pytest.param(filing_request(category="holiday"), "category", id="unknown-category"),
    pytest.param(filing_request(destination="440300"), "destination",
                 id="destination-in-the-insured-province"),
    pytest.param(filing_request(destination="51"), "destination", id="malformed-destination"),
    pytest.param(filing_request(commitment=1.0), "commitment", id="float-for-a-boolean"),
    pytest.param(filing_request(start="2024-02-30"), "start", id="start-not-a-calendar-day"),
    pytest.param(b"{category: long_term_resident}", "body", id="not-JSON"),
    pytest.param(b"[1, 2]", "body", id="JSON-array"),
])
def test_a_bad_filing_request_is_refused_naming_the_field_and_changes_nothing(
        filing_province: Province, clerk: TestClient, body: dict[str, Any] | bytes,
        field_name: str) -> None:
    before = filing_province.snapshot()
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = clerk.post("/api/v1/filings", content=content,
                          headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["field"] == field_name and field_name in error["message"]
    assert filing_province.snapshot() == before


def test_cancelling_an_unknown_filing_is_a_404_not_found(filing_province: Province,
                                                         clerk: TestClient) -> None:
    before = filing_province.snapshot()
    response = clerk.post(f"/api/v1/filings/{NO_FILING}/cancel")
    assert response.status_code == 404
    assert response.json()["ok"] is False
    assert response.json()["error"]["code"] == "not_found"
    assert NO_FILING in response.json()["error"]["message"]
    assert filing_province.snapshot() == before


def test_a_commitment_filing_is_approved_at_once_listed_and_locked_for_six_months(
        filing_province: Province, clerk: TestClient, book: PolicyBook) -> None:
    created = clerk.post("/api/v1/filings", json=filing_request())
    assert created.status_code == 200, created.text
    filing = created.json()
    assert (filing["status"], filing["route"], filing["category"]) == (
        "approved", "commitment", "long_term_resident")
    assert filing["destination"] == "510100" and filing["decided_on"] == filing["applied_on"]

    listed = clerk.get(f"/api/v1/persons/{f.CHEN['psn_no']}/filings").json()
    assert [x["filing_no"] for x in listed] == [filing["filing_no"]]

    start = date.fromisoformat(filing["valid_from"])
    hold = book.find("440100", "employee", start).filing.long_term_min_hold_months
    assert hold == 6
    before = filing_province.snapshot()
    refused = clerk.post(f"/api/v1/filings/{filing['filing_no']}/cancel")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "filing_locked"
    assert add_months(start, hold).isoformat() in refused.json()["error"]["message"]
    assert filing_province.snapshot() == before


# --- text that is not text, and error codes that survive the length limit ----------------------

@pytest.mark.parametrize(("path", "field_name"), [
    (("input", "data", "psn_no"), "input.data.psn_no"),
    (("opter_name",), "opter_name"),
    (("input", "data", "dr_name"), "input.data.dr_name"),
])
def test_a_lone_surrogate_is_refused_naming_its_field(
        province: Province, ctx: Ctx, path: tuple[str, ...], field_name: str) -> None:
    envelope = province.envelope("2201", register(ctx), insuplc=ctx.chen.insuplc)
    target = envelope
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = "王\ud800"
    body = json.dumps(envelope).encode()  # ASCII JSON: the surrogate travels as "\ud800"
    assert b"\\ud800" in body
    before = province.snapshot()
    answer = assert_refused(province.post(body), field_name)
    assert "[invalid_input]" in answer["err_msg"]
    assert "surrogate" in answer["err_msg"] and "[internal]" not in answer["err_msg"]
    assert province.snapshot() == before


def test_a_surrogate_pair_is_text_and_accepted(province: Province, ctx: Ctx) -> None:
    data = register(ctx)
    data["data"]["dr_name"] = "李\U0001F600"  # an emoji: a valid pair once escaped
    envelope = province.envelope("2201", data, insuplc=ctx.chen.insuplc)
    body = json.dumps(envelope).encode()
    assert b"\\ud83d\\ude00" in body
    assert province.post(body).json()["infcode"] == 0


def test_a_long_error_keeps_its_code_in_front_within_200_characters(
        province: Province, ctx: Ctx, monkeypatch: pytest.MonkeyPatch) -> None:
    from medsettle.core.errors import PeerUnavailable

    def unreachable(*_: Any) -> Any:
        raise PeerUnavailable("province 510000 did not answer " + "很久" * 150)

    monkeypatch.setitem(TRANSACTIONS, "2201", replace(TRANSACTIONS["2201"], run=unreachable))
    envelope = province.envelope("2201", register(ctx), insuplc=ctx.chen.insuplc)
    answer = assert_refused(province.post(envelope), "did not answer")
    assert answer["err_msg"].startswith("参保地未响应")
    assert "[peer_unavailable] (province 510000" in answer["err_msg"]
    assert len(answer["err_msg"]) == 200
