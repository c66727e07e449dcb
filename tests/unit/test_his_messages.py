"""The HIS gateway's wire layer: envelopes, per-transaction inputs and outputs (interface.md)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from medsettle.adapters.his.envelope import (
    Envelope,
    failure,
    parse_envelope,
    read_err_msg,
    read_infcode,
    ref_msgid,
    success,
)
from medsettle.adapters.his.inputs import (
    Admission,
    CancelFees,
    FeeUpload,
    PersonQuery,
    Register,
    Settle,
)
from medsettle.adapters.his.outputs import fee_result, setldetail, setlinfo, yuan
from medsettle.adapters.his.transactions import TRANSACTIONS
from medsettle.core.benefits import AMOUNT_FIELDS, Amounts
from medsettle.core.codes import make_id_card
from medsettle.core.errors import InvalidInput
from medsettle.core.money import yuan_to_fen

# interface.md §9, Example A, verbatim.
EXAMPLE_A_REQUEST = """
{"infno":"2207","msgid":"H44030400123202403151030000004","mdtrtarea_admvs":"440300",
 "insuplc_admdvs":"510100","recer_sys_code":"MBS_LOCAL","dev_no":"","dev_safe_info":"","cainfo":"",
 "signtype":"","infver":"V1.0","opter_type":"1","opter":"D0107","opter_name":"收费员甲",
 "inf_time":"2024-03-15 10:30:00","fixmedins_code":"H44030400123","fixmedins_name":"深圳示例医院",
 "sign_no":"440300202403150800000017",
 "input":{"data":{"psn_no":"51000000000000000000012345","mdtrt_cert_type":"02",
  "mdtrt_cert_no":"510104199001010000","med_type":"11","medfee_sumamt":356.80,"psn_setlway":"01",
  "mdtrt_id":"440300202403151029000000000321","chrg_bchno":"CB202403150001","insutype":"310",
  "acct_used_flag":"1","invono":"","fulamt_ownpay_amt":20.00,"overlmt_selfpay":0.00,
  "preselfpay_amt":16.80,"inscp_scp_amt":320.00}}}
"""
EXAMPLE_A_RESPONSE = """
{"infcode":0,"inf_refmsgid":"440300202403151030010000004733","refmsg_time":"20240315103000512",
 "respond_time":"20240315103001034","err_msg":"","warn_msg":"","cainfo":"","signtype":"",
 "output":{"setlinfo":{"mdtrt_id":"440300202403151029000000000321","setl_id":"440300202403151030010000000777",
   "psn_no":"51000000000000000000012345","psn_name":"测试患者","psn_cert_type":"01",
   "certno":"510104199001010000","gend":"1","naty":"01","brdy":"1990-01-01","age":34.0,
   "insutype":"310","psn_type":"11","cvlserv_flag":"0","setl_time":"2024-03-15 10:30:01",
   "mdtrt_cert_type":"02","med_type":"11","medfee_sumamt":356.80,"fulamt_ownpay_amt":20.00,
   "overlmt_selfpay":0.00,"preselfpay_amt":16.80,"inscp_scp_amt":320.00,"act_pay_dedc":0.00,
   "hifp_pay":224.00,"pool_prop_selfpay":0,"cvlserv_pay":0.00,"hifes_pay":0.00,"hifmi_pay":0.00,
   "hifob_pay":0.00,"maf_pay":0.00,"oth_pay":0.00,"fund_pay_sumamt":224.00,"psn_part_amt":132.80,
   "acct_pay":100.00,"psn_cash_pay":32.80,"hosp_part_amt":0.00,"balc":1900.00,"acct_mulaid_pay":0.00,
   "medins_setl_id":"H44030400123202403151030000004","clr_optins":"440300","clr_way":"1","clr_type":"11"},
  "setldetail":[{"fund_pay_type":"310100","inscp_scp_amt":320.00,"crt_payb_lmt_amt":224.00,
   "fund_payamt":224.00,"fund_pay_type_name":"职工基本医疗保险统筹基金","setl_proc_info":""}]}}
"""

ID = make_id_card("51010419900101000")
TOKEN = "EC510100" + "aB3dE5fG7hJ9kL1mN2pQ4rS6"
PSN = "51000000000000000000012345"
MDTRT = "440300202403151029000000000321"
DRUG = "XA10BAA041A001010100028"
SERVICE = "120100001000000"
DELETE = object()


def example_request() -> dict[str, Any]:
    """Example A's request as a dict, with the ID number recomputed by make_id_card."""
    request: dict[str, Any] = json.loads(EXAMPLE_A_REQUEST)
    request["input"]["data"]["mdtrt_cert_no"] = ID
    return request


def fee_line(sn: str, code: str, amount: object, cnt: object, pric: object) -> dict[str, Any]:
    """A valid 2204 fee line."""
    return {"feedetl_sn": sn, "mdtrt_id": MDTRT, "psn_no": PSN, "chrg_bchno": "CB202403150001",
            "fee_ocur_time": "2024-03-15 10:29:30", "med_list_codg": code,
            "medins_list_codg": f"H-{sn}", "det_item_fee_sumamt": amount, "cnt": cnt,
            "pric": pric, "bilg_dept_codg": "A03", "bilg_dept_name": "内科",
            "bilg_dr_codg": "D0107", "bilg_dr_name": "王医生", "hosp_appr_flag": "1",
            "med_list_name": "", "rxno": "null"}


DIAGNOSIS = {"diag_type": "1", "diag_srt_no": "1", "diag_code": "I10", "diag_name": "高血压",
             "diag_dept": "内科", "dise_dor_no": "D0107", "dise_dor_name": "王医生",
             "diag_time": "2024-03-15 10:35:00", "vali_flag": "1"}
SETTLE_2207 = example_request()["input"]
SETTLE_2304 = {"data": {
    "psn_no": PSN, "mdtrt_cert_type": "03", "mdtrt_cert_no": "A12345678",
    "card_sn": "0123456789ABCDEF", "med_type": "21", "medfee_sumamt": "13528.00",
    "psn_setlway": "01", "mdtrt_id": MDTRT, "insutype": "390", "acct_used_flag": "0",
    "mid_setl_flag": "0", "insuplc_admdvs": "510100", "mdtrtarea_admvs": "440300",
    "psn_cert_type": "01", "certno": ID, "psn_name": "测试患者"}}
FEES_2204 = {"feedetail": [fee_line("F001", DRUG, 25.6, 2, 12.8),
                           fee_line("F002", SERVICE, "10.00", "1", "10.00")]}
FEES_2301 = {"feedetail": [{**fee_line("Z001", SERVICE, 120, "3", "40"), "chrg_bchno": "",
                            "init_feedetl_sn": "", "drord_no": "YZ01", "med_type": "21"}]}
REFERRAL = {"refmedin": {
    "psn_no": PSN, "insutype": "310", "tel": "", "addr": None, "insu_optins": "510100",
    "diag_code": "C34.1", "diag_name": "肺恶性肿瘤", "dise_cond_dscr": "",
    "reflin_medins_no": "H44030400123", "reflin_medins_name": "深圳示例医院",
    "mdtrtarea_admdvs": "440300", "hosp_agre_refl_flag": "1", "refl_type": "1",
    "refl_date": "2024-03-01", "begndate": "2024-03-01", "enddate": "2024-09-01"}}
RECONCILE = {"setl_optins": "510100", "stmt_begndate": "2024-03-01",
             "stmt_enddate": "2024-03-31", "medfee_sumamt": 123456.78,
             "fund_pay_sumamt": 80000, "fixmedins_setl_cnt": 42}

VALID: dict[str, dict[str, Any]] = {
    "9001": {"signIn": {"opter_no": "D0107", "mac": "00:1A:2B:3C:4D:5E", "ip": "10.0.0.8"}},
    "9002": {"signOut": {"sign_no": "440000202611260334180944163275", "opter_no": "D0107"}},
    "1101": {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": "A12345678",
                      "card_sn": "0123456789ABCDEF", "begntime": "", "psn_cert_type": "null",
                      "certno": None, "psn_name": ""}},
    "2201": {"data": {"psn_no": PSN, "insutype": "310", "begntime": "2024-03-15 10:29:00",
                      "mdtrt_cert_type": "02", "mdtrt_cert_no": ID, "ipt_otp_no": "MZ001",
                      "med_type": "11", "atddr_no": "D0107", "dr_name": "王医生",
                      "dept_code": "A03", "dept_name": "内科", "caty": "A03", "dise_codg": "I10"}},
    "2202": {"data": {"psn_no": PSN, "mdtrt_id": MDTRT, "ipt_otp_no": "MZ001"}},
    "2203": {"mdtrtinfo": {"mdtrt_id": MDTRT, "psn_no": PSN, "med_type": "11",
                           "begntime": "2024-03-15 10:29:00", "dise_codg": "", "dise_name": ""},
             "diseinfo": [DIAGNOSIS]},
    "2204": FEES_2204,
    "2205": {"data": {"mdtrt_id": MDTRT, "chrg_bchno": "0000", "psn_no": PSN}},
    "2206": SETTLE_2207,
    "2207": SETTLE_2207,
    "2208": {"data": {"setl_id": "440300202403151030010000000777", "mdtrt_id": MDTRT,
                      "psn_no": PSN}},
    "2301": FEES_2301,
    "2302": {"data": {"mdtrt_id": MDTRT, "feedetl_sn": "Z001", "psn_no": PSN}},
    "2303": SETTLE_2304,
    "2304": SETTLE_2304,
    "2305": {"data": {"setl_id": "S1", "mdtrt_id": MDTRT, "psn_no": PSN}},
    "2401": {"mdtrtinfo": {"psn_no": PSN, "insutype": "390", "begntime": "2024-03-15 09:00:00",
                           "mdtrt_cert_type": "01", "mdtrt_cert_no": TOKEN, "med_type": "21",
                           "ipt_no": "ZY2024001", "atddr_no": "D0107", "chfpdr_name": "王医生",
                           "adm_dept_codg": "A03", "adm_dept_name": "内科", "dise_code": "C34.1",
                           "insuplc_admdvs": "510100", "card_sn": "null", "certno": ID,
                           "emergency_flag": "1"},
             "diseinfo": [{**DIAGNOSIS, "maindiag_flag": "1"}],
             "agnterinfo": {"agnter_name": "家属", "agnter_rlts": "1", "agnter_tel": ""}},
    "2402": {"dscginfo": {"mdtrt_id": MDTRT, "psn_no": PSN, "endtime": "2024-03-25 10:00:00",
                          "dise_codg": "C34.1", "dscg_way": "1", "dscg_dept_code": "A03",
                          "dscg_dept_name": "内科"}},
    "2403": {"adminfo": {"mdtrt_id": MDTRT, "psn_no": PSN, "begntime": "2024-03-15 09:30:00",
                         "med_type": "21"}},
    "2404": {"data": {"mdtrt_id": MDTRT, "psn_no": PSN}},
    "2405": {"data": {"mdtrt_id": MDTRT, "psn_no": PSN}},
    "2501": REFERRAL,
    "2502": {"data": {"psn_no": PSN, "trt_dcla_detl_sn": "BA2024001", "memo": "患者放弃"}},
    "2601": {"data": {"psn_no": PSN, "omsgid": "H44030400123202403151030000004",
                      "oinfno": "2207"}},
    "3201": {"data": {**RECONCILE, "insutype": "310", "clr_type": "11", "acct_pay": "10000.00"}},
    "3202": {"data": {**RECONCILE, "cash_payamt": 43456.78, "fixmedins_setl_cnt": "42"}},
    "5201": {"data": {"psn_no": PSN, "begntime": "2024-01-01 00:00:00",
                      "endtime": "2024-03-31 23:59:59"}},
    "5203": {"data": {"psn_no": PSN, "setl_id": "S1", "mdtrt_id": ""}},
    "5204": {"data": {"psn_no": PSN, "setl_id": None, "mdtrt_id": MDTRT}},
    "5205": {"data": {"psn_no": PSN, "begntime": "", "endtime": "2024-03-31 23:59:59"}},
    "5206": {"data": {"psn_no": PSN, "cum_ym": "202403"}},
    "3101": {"data": {"task_id": "T1", "rule_ids": "R03,R06", "patient_dtos": [
        {"patn_id": PSN, "curr_mdtrt_id": MDTRT, "fsi_encounter_dtos": [
            {"mdtrt_id": MDTRT, "fsi_order_dtos": [
                {"rx_id": "RX1", "hilist_code": "XA01ABD075A002010100483", "cnt": "2",
                 "pric": "10.5"}]}]}]}},
    "3103": {"data": {"task_id": "T2"}, "patient_dtos": [{"patn_id": PSN,
                                                          "curr_mdtrt_id": MDTRT}]},
    "5261": {"data": {"psn_no": PSN, "mdtrt_id": MDTRT, "begntime": "2024-01-01 00:00:00",
                      "endtime": ""}},
    "5262": {"data": {"psn_no": PSN, "setl_id": "S1", "mdtrt_id": MDTRT}},
    "9101": {"fsUploadIn": {"in": [49, 9, -1], "filename": "detail.txt",
                            "fixmedins_code": "H44030400123"}},
    "9102": {"fsDownloadIn": {"file_qury_no": "F440000202403151030001a2b3c4d",
                              "filename": "plc", "fixmedins_code": "H44030400123"}},
    "1301": {"data": {"ver": "0"}},
    "1302": {"data": {"ver": ""}},
    "1305": {"data": {"ver": "00000000000000000012"}},
    "1306": {"data": {"ver": 12}},
}

# (infno, path inside `input` to change, new value or DELETE, the expected error field)
BAD_INPUTS: list[tuple[str, str, object, str]] = [
    ("9001", "signIn.opter_no", DELETE, "input.signIn.opter_no"),
    ("9001", "signIn.mac", "not-a-mac", "input.signIn.mac"),
    ("9001", "signIn.ip", "999.1.1.1", "input.signIn.ip"),
    ("9001", "signIn", "D0107", "input.signIn"),
    ("9002", "signOut.sign_no", DELETE, "input.signOut.sign_no"),
    ("9002", "signOut.opter_no", 107, "input.signOut.opter_no"),
    ("9002", "signOut", "S1", "input.signOut"),
    ("1101", "data.card_sn", DELETE, "input.data.card_sn"),
    ("1101", "data.mdtrt_cert_type", "04", "input.data.mdtrt_cert_type"),
    ("1101", "data.mdtrt_cert_type", 3.0, "input.data.mdtrt_cert_type"),
    ("1101", "data.mdtrt_cert_no", "a1234", "input.data.mdtrt_cert_no"),
    ("1101", "data.begntime", "2024-3-1 00:00:00", "input.data.begntime"),
    ("2201", "data.psn_no", DELETE, "input.data.psn_no"),
    ("2201", "data.med_type", "21", "input.data.med_type"),
    ("2201", "data.insutype", 310.0, "input.data.insutype"),
    ("2201", "data.med_type", "1401", "input.data.dise_codg"),  # chronic needs an M code
    ("2201", "data.mdtrt_cert_no", "510104199001010001", "input.data.mdtrt_cert_no"),
    ("2202", "data.ipt_otp_no", DELETE, "input.data.ipt_otp_no"),
    ("2202", "data.mdtrt_id", "bad id!", "input.data.mdtrt_id"),
    ("2202", "data.psn_no", 123, "input.data.psn_no"),
    ("2203", "mdtrtinfo.begntime", DELETE, "input.mdtrtinfo.begntime"),
    ("2203", "mdtrtinfo.med_type", "99", "input.mdtrtinfo.med_type"),
    ("2203", "diseinfo[0].diag_code", "i10", "input.diseinfo[0].diag_code"),
    ("2203", "diseinfo[0].diag_srt_no", -1, "input.diseinfo[0].diag_srt_no"),
    ("2204", "feedetail[1].feedetl_sn", "F001", "input.feedetail[1].feedetl_sn"),
    ("2204", "feedetail[0].cnt", -2, "input.feedetail[0].cnt"),
    ("2204", "feedetail[0].cnt", 200000, "input.feedetail[0].cnt"),
    ("2204", "feedetail[0].det_item_fee_sumamt", 25.7, "input.feedetail[0].det_item_fee_sumamt"),
    ("2204", "feedetail[0].det_item_fee_sumamt", 20000000,
     "input.feedetail[0].det_item_fee_sumamt"),
    ("2204", "feedetail[1].med_list_codg", "ABC", "input.feedetail[1].med_list_codg"),
    ("2204", "feedetail[1].mdtrt_id", "OTHERVISIT", "input.feedetail[1].mdtrt_id"),
    ("2204", "feedetail[0].chrg_bchno", "", "input.feedetail[0].chrg_bchno"),
    ("2204", "feedetail", [], "input.feedetail"),
    ("2301", "feedetail", DELETE, "input.feedetail"),
    ("2301", "feedetail[0].pric", "-1", "input.feedetail[0].pric"),
    ("2301", "feedetail[0].fee_ocur_time", "2024/03/15", "input.feedetail[0].fee_ocur_time"),
    ("2301", "feedetail[0].med_list_codg", 1.5, "input.feedetail[0].med_list_codg"),
    ("2205", "data.chrg_bchno", DELETE, "input.data.chrg_bchno"),
    ("2205", "data.psn_no", "", "input.data.psn_no"),
    ("2205", "data.mdtrt_id", 3.0, "input.data.mdtrt_id"),
    ("2302", "data.feedetl_sn", "null", "input.data.feedetl_sn"),
    ("2302", "data.mdtrt_id", DELETE, "input.data.mdtrt_id"),
    ("2302", "data", [], "input.data"),
    ("2206", "data.medfee_sumamt", DELETE, "input.data.medfee_sumamt"),
    ("2206", "data.medfee_sumamt", -1, "input.data.medfee_sumamt"),
    ("2206", "data.acct_used_flag", "Y", "input.data.acct_used_flag"),
    ("2207", "data.medfee_sumamt", 200000000, "input.data.medfee_sumamt"),
    ("2207", "data.med_type", "21", "input.data.med_type"),
    ("2207", "data.psn_setlway", "03", "input.data.psn_setlway"),
    ("2207", "data.insutype", 390.0, "input.data.insutype"),
    ("2207", "data.preselfpay_amt", 400, "input.data.preselfpay_amt"),
    ("2207", "data.chrg_bchno", DELETE, "input.data.chrg_bchno"),
    ("2208", "data.setl_id", DELETE, "input.data.setl_id"),
    ("2208", "data.setl_id", 1.0, "input.data.setl_id"),
    ("2208", "data.psn_no", "x" * 31, "input.data.psn_no"),
    ("2303", "data.mid_setl_flag", DELETE, "input.data.mid_setl_flag"),
    ("2303", "data.insuplc_admdvs", "999999", "input.data.insuplc_admdvs"),
    ("2303", "data.medfee_sumamt", "abc", "input.data.medfee_sumamt"),
    ("2304", "data.med_type", "11", "input.data.med_type"),
    ("2304", "data.certno", "510104199001010001", "input.data.certno"),
    ("2304", "data.card_sn", "卡号", "input.data.card_sn"),
    ("2305", "data.mdtrt_id", DELETE, "input.data.mdtrt_id"),
    ("2305", "data.setl_id", ["S1"], "input.data.setl_id"),
    ("2305", "data.psn_no", 7, "input.data.psn_no"),
    ("2401", "mdtrtinfo.med_type", "11", "input.mdtrtinfo.med_type"),
    ("2401", "mdtrtinfo.ipt_no", DELETE, "input.mdtrtinfo.ipt_no"),
    ("2401", "mdtrtinfo.dise_code", "C341", "input.mdtrtinfo.dise_code"),
    ("2401", "mdtrtinfo.mdtrt_cert_no", "EC5101", "input.mdtrtinfo.mdtrt_cert_no"),
    ("2401", "mdtrtinfo.emergency_flag", "Y", "input.mdtrtinfo.emergency_flag"),
    ("2401", "diseinfo[0].diag_time", "yesterday", "input.diseinfo[0].diag_time"),
    ("2402", "dscginfo.endtime", DELETE, "input.dscginfo.endtime"),
    ("2402", "dscginfo.dise_codg", "lung", "input.dscginfo.dise_codg"),
    ("2402", "dscginfo.dscg_way", DELETE, "input.dscginfo.dscg_way"),
    ("2402", "dscginfo", DELETE, "input.dscginfo"),
    ("2403", "adminfo.mdtrt_id", DELETE, "input.adminfo.mdtrt_id"),
    ("2403", "adminfo.med_type", "11", "input.adminfo.med_type"),
    ("2403", "adminfo.begntime", "2024-03-15", "input.adminfo.begntime"),
    ("2403", "adminfo", DELETE, "input.adminfo"),
    ("2404", "data.mdtrt_id", DELETE, "input.data.mdtrt_id"),
    ("2404", "data.psn_no", 1.5, "input.data.psn_no"),
    ("2404", "data", [], "input.data"),
    ("2405", "data.psn_no", DELETE, "input.data.psn_no"),
    ("2405", "data.mdtrt_id", "长字段", "input.data.mdtrt_id"),
    ("2405", "data", DELETE, "input.data"),
    ("2501", "refmedin.reflin_medins_no", "X123", "input.refmedin.reflin_medins_no"),
    ("2501", "refmedin.mdtrtarea_admdvs", "990000", "input.refmedin.mdtrtarea_admdvs"),
    ("2501", "refmedin.enddate", "2024-02-01", "input.refmedin.enddate"),
    ("2501", "refmedin.diag_code", DELETE, "input.refmedin.diag_code"),
    ("2501", "refmedin.hosp_agre_refl_flag", "2", "input.refmedin.hosp_agre_refl_flag"),
    ("2502", "data.trt_dcla_detl_sn", DELETE, "input.data.trt_dcla_detl_sn"),
    ("2502", "data.psn_no", 5.0, "input.data.psn_no"),
    ("2502", "data.memo", "x" * 501, "input.data.memo"),
    ("2601", "data.oinfno", "2206", "input.data.oinfno"),
    ("2601", "data.omsgid", "H" * 31, "input.data.omsgid"),
    ("2601", "data.omsgid", "H4403 0400", "input.data.omsgid"),
    ("2601", "data.psn_no", DELETE, "input.data.psn_no"),
    ("3101", "data.rule_ids", "R3", "input.data.rule_ids"),
    ("3101", "data.patient_dtos", DELETE, "input.patient_dtos"),
    ("3101", "data.task_id", "x" * 51, "input.data.task_id"),
    ("3103", "patient_dtos", [], "input.patient_dtos"),
    ("3103", "patient_dtos", "x", "input.patient_dtos"),
    ("3103", "data", DELETE, "input.data"),
    ("5261", "data.psn_no", DELETE, "input.data.psn_no"),
    ("5261", "data.endtime", "2023-12-31 00:00:00", "input.data.endtime"),
    ("5261", "data.setl_id", 7.0, "input.data.setl_id"),
    ("5262", "data.mdtrt_id", "../visits", "input.data.mdtrt_id"),
    ("5262", "data.psn_no", "", "input.data.psn_no"),
    ("5262", "data", [], "input.data"),
    ("3201", "data.medfee_sumamt", "-1e12", "input.data.medfee_sumamt"),
    ("3201", "data.fixmedins_setl_cnt", 1.5, "input.data.fixmedins_setl_cnt"),
    ("3201", "data.stmt_enddate", "2024-02-28", "input.data.stmt_enddate"),
    ("3201", "data.clr_type", "ab", "input.data.clr_type"),
    ("3201", "data.insutype", "320", "input.data.insutype"),
    ("3202", "data.cash_payamt", DELETE, "input.data.cash_payamt"),
    ("3202", "data.setl_optins", "51010", "input.data.setl_optins"),
    ("3202", "data.fixmedins_setl_cnt", "3.5", "input.data.fixmedins_setl_cnt"),
    ("3202", "data.stmt_begndate", "2024-02-30", "input.data.stmt_begndate"),
    ("3202", "data.fund_pay_sumamt", 2e10, "input.data.fund_pay_sumamt"),
    ("5201", "data.psn_no", DELETE, "input.data.psn_no"),
    ("5201", "data.endtime", "2023-12-31 00:00:00", "input.data.endtime"),
    ("5201", "data.begntime", "yesterday", "input.data.begntime"),
    ("5203", "data.setl_id", DELETE, "input.data.setl_id"),  # neither setl_id nor mdtrt_id
    ("5203", "data.setl_id", "S 1", "input.data.setl_id"),
    ("5203", "data.psn_no", DELETE, "input.data.psn_no"),
    ("5204", "data.mdtrt_id", "", "input.data.setl_id"),
    ("5204", "data.mdtrt_id", 44.0, "input.data.mdtrt_id"),
    ("5204", "data.psn_no", None, "input.data.psn_no"),
    ("5205", "data.psn_no", "", "input.data.psn_no"),
    ("5205", "data.endtime", "2024-03-31T23:59:59", "input.data.endtime"),
    ("5205", "data.begntime", 20240101, "input.data.begntime"),
    ("5206", "data.cum_ym", "202413", "input.data.cum_ym"),
    ("5206", "data.cum_ym", 202403, "input.data.cum_ym"),
    ("5206", "data.psn_no", DELETE, "input.data.psn_no"),
    ("9101", "fsUploadIn.in", DELETE, "input.fsUploadIn.in"),
    ("9101", "fsUploadIn.in[2]", -129, "input.fsUploadIn.in[2]"),
    ("9101", "fsUploadIn.filename", "..\\x.txt", "input.fsUploadIn.filename"),
    ("9102", "fsDownloadIn.file_qury_no", DELETE, "input.fsDownloadIn.file_qury_no"),
    ("9102", "fsDownloadIn.filename", "", "input.fsDownloadIn.filename"),
    ("9102", "fsDownloadIn", [], "input.fsDownloadIn"),
    *((infno, "data.ver", bad, "input.data.ver") for infno in ("1301", "1302", "1305", "1306")
      for bad in ("V1", "1" * 21, 1.5)),
]


def _parent(root: Any, path: str) -> tuple[Any, str | int]:
    """The container holding the last step of a dotted path with [i] indexes, and that step."""
    steps: list[str | int] = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        steps.append(name)
        if index:
            steps.append(int(index.rstrip("]")))
    node = root
    for step in steps[:-1]:
        node = node[step]
    return node, steps[-1]


def mutated(infno: str, path: str, value: object) -> dict[str, Any]:
    """A deep copy of the valid input of `infno` with one field changed or deleted."""
    result = copy.deepcopy(VALID[infno])
    parent, last = _parent(result, path)
    if value is DELETE:
        del parent[last]
    else:
        parent[last] = value
    return result


def parse_input(infno: str, input: dict[str, Any]) -> Any:
    """The gateway's parser of `infno` (the transaction registry's)."""
    return TRANSACTIONS[infno].parse(input)


def envelope(**changes: object) -> dict[str, Any]:
    """Example A's request envelope with some keys changed (DELETE removes one)."""
    request = example_request()
    for key, value in changes.items():
        if value is DELETE:
            del request[key]
        else:
            request[key] = value
    return request


def parse(request: dict[str, Any]) -> Envelope:
    """Parse a request dict as a body."""
    return parse_envelope(json.dumps(request, ensure_ascii=False))


# Example A


def test_example_a_request_parses_with_amounts_in_fen() -> None:
    env = parse_envelope(json.dumps(example_request(), ensure_ascii=False).encode("utf-8"))
    assert (env.infno, env.msgid, env.insuplc_admdvs) == (
        "2207", "H44030400123202403151030000004", "510100")
    assert env.inf_time == datetime(2024, 3, 15, 10, 30, 0)
    assert env.sign_no == "440300202403150800000017"
    settle = parse_input(env.infno, env.input)
    assert isinstance(settle, Settle)
    assert settle.medfee_sumamt == 35680
    assert settle.fulamt_ownpay_amt == 2000
    assert settle.overlmt_selfpay == 0
    assert settle.preselfpay_amt == 1680
    assert settle.inscp_scp_amt == 32000
    assert settle.acct_used is True and settle.invono is None and settle.mid_setl is None
    assert (settle.med_type, settle.visit_type, settle.insutype) == ("11", "outpatient", "310")
    assert settle.mdtrt_cert_no == ID and settle.chrg_bchno == "CB202403150001"


def test_example_a_id_number_is_valid_as_written() -> None:
    # The brief called its check character wrong; GB 11643 gives "0", so it is accepted.
    assert ID == "510104199001010000"
    raw = json.loads(EXAMPLE_A_REQUEST)
    assert isinstance(parse_input("2207", raw["input"]), Settle)


def test_an_id_number_with_a_wrong_check_character_is_rejected_naming_mdtrt_cert_no() -> None:
    bad = mutated("2207", "data.mdtrt_cert_no", ID[:17] + "1")
    with pytest.raises(InvalidInput) as info:
        parse_input("2207", bad)
    assert info.value.field == "input.data.mdtrt_cert_no"


def example_amounts(info: dict[str, Any]) -> Amounts:
    """Example A's response amounts in fen; pool_prop_selfpay is MedSettle's amount (S5)."""
    values = {name: yuan_to_fen(info[name], name) for name in AMOUNT_FIELDS}
    values["pool_prop_selfpay"] = (values["inscp_scp_amt"] - values["act_pay_dedc"]
                                   - values["hifp_pay"])
    return Amounts(**values)


def test_example_a_setlinfo_round_trips_through_setlinfo() -> None:
    expected = json.loads(EXAMPLE_A_RESPONSE)["output"]["setlinfo"]
    amounts = example_amounts(expected)
    assert amounts.medfee_sumamt == amounts.fund_pay_sumamt + amounts.psn_part_amt  # 356.80
    assert amounts.psn_part_amt == amounts.acct_pay + amounts.psn_cash_pay  # 132.80
    assert amounts.inscp_scp_amt == (amounts.medfee_sumamt - amounts.fulamt_ownpay_amt
                                     - amounts.overlmt_selfpay - amounts.preselfpay_amt)
    fields = {k: v for k, v in expected.items() if isinstance(v, str)}
    built = setlinfo(amounts, balc=190000, age=34.0,
                     setl_time=datetime(2024, 3, 15, 10, 30, 1), brdy=date(1990, 1, 1),
                     **{k: v for k, v in fields.items() if k not in ("setl_time", "brdy")})
    assert list(built) == list(expected)
    assert built["pool_prop_selfpay"] == 96.0  # 320.00 − 0 − 224.00: an amount in MedSettle
    assert {k: v for k, v in built.items() if k != "pool_prop_selfpay"} == {
        k: v for k, v in expected.items() if k != "pool_prop_selfpay"}
    assert json.loads(json.dumps(built))["medfee_sumamt"] == 356.8


def test_example_a_setldetail_is_one_employee_pool_row() -> None:
    response = json.loads(EXAMPLE_A_RESPONSE)
    amounts = example_amounts(response["output"]["setlinfo"])
    assert setldetail(amounts, "employee") == response["output"]["setldetail"]
    assert setldetail(amounts, "310") == response["output"]["setldetail"]


def test_example_a_response_envelope_is_rebuilt_by_success() -> None:
    response = json.loads(EXAMPLE_A_RESPONSE)
    ref = ref_msgid("440300", datetime(2024, 3, 15, 10, 30, 1), 4733)
    built = success(response["output"], ref=ref, received=datetime(2024, 3, 15, 10, 30, 0, 512000),
                    now=datetime(2024, 3, 15, 10, 30, 1, 34999))
    assert built == response
    assert read_infcode(built) == 0 and read_err_msg(built) == ""


# Bad input, per transaction


@pytest.mark.parametrize(("infno", "path", "value", "field"), BAD_INPUTS,
                         ids=[f"{r[0]}-{r[1]}" for r in BAD_INPUTS])
def test_bad_input_is_rejected_naming_the_field(infno: str, path: str, value: object,
                                                field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_input(infno, mutated(infno, path, value))
    assert info.value.field == field


def test_every_supported_transaction_has_a_parser_and_three_bad_input_rows() -> None:
    assert set(TRANSACTIONS) == set(VALID)
    for infno in TRANSACTIONS:
        assert sum(1 for row in BAD_INPUTS if row[0] == infno) >= 3, infno


@pytest.mark.parametrize("infno", sorted(VALID))
def test_every_valid_sample_input_parses(infno: str) -> None:
    assert parse_input(infno, VALID[infno]) is not None


def test_person_query_reads_a_social_security_card_and_blank_optionals() -> None:
    query = parse_input("1101", VALID["1101"])
    assert query == PersonQuery("03", "A12345678", "0123456789ABCDEF", None, None, None, None)


def test_register_marks_med_type_13_as_emergency_and_reads_chronic_codes() -> None:
    emergency = parse_input("2201", mutated("2201", "data.med_type", "13"))
    assert isinstance(emergency, Register) and emergency.emergency
    chronic = parse_input("2201", {"data": {**VALID["2201"]["data"], "med_type": "1401",
                                            "dise_codg": "M03900"}})
    assert isinstance(chronic, Register)
    assert (chronic.visit_type, chronic.dise_codg, chronic.emergency) == ("chronic", "M03900",
                                                                          False)


def test_admission_accepts_dise_code_and_an_emergency_flag() -> None:
    admission = parse_input("2401", VALID["2401"])
    assert isinstance(admission, Admission)
    assert (admission.dise_codg, admission.emergency, admission.card_sn) == ("C34.1", True, None)
    assert admission.diagnoses[0].maindiag is True and admission.agent is not None


def test_discharge_accepts_the_mdtrtinfo_node_name() -> None:
    moved = {"mdtrtinfo": VALID["2402"]["dscginfo"]}
    assert parse_input("2402", moved) == parse_input("2402", VALID["2402"])


def test_fee_upload_reads_quantities_and_prices_as_decimals() -> None:
    upload = parse_input("2204", VALID["2204"])
    assert isinstance(upload, FeeUpload)
    first = upload.lines[0]
    assert (first.cnt, first.pric, first.det_item_fee_sumamt) == (Decimal(2), Decimal("12.8"),
                                                                   2560)
    assert first.catalogue_kind == "drug" and upload.lines[1].catalogue_kind == "service"
    assert upload.total == 3560 and first.med_list_name is None and first.rxno is None


def test_fee_amount_may_differ_from_price_times_count_by_one_fen() -> None:
    line = fee_line("F1", SERVICE, "3.34", "1", "3.333")
    assert parse_input("2204", {"feedetail": [line]}) is not None


def test_too_many_fee_lines_are_rejected() -> None:
    lines = [fee_line(f"F{i}", SERVICE, "1", "1", "1") for i in range(2001)]
    with pytest.raises(InvalidInput) as info:
        parse_input("2204", {"feedetail": lines})
    assert info.value.field == "input.feedetail"


def test_a_fee_upload_total_above_a_hundred_million_is_absurd() -> None:
    lines = [fee_line(f"F{i}", SERVICE, "9000000", "1", "9000000") for i in range(12)]
    with pytest.raises(InvalidInput) as info:
        parse_input("2204", {"feedetail": lines})
    assert info.value.field == "input.feedetail"


def test_cancel_fee_batch_0000_means_all() -> None:
    cancel = parse_input("2205", VALID["2205"])
    assert isinstance(cancel, CancelFees) and cancel.everything and cancel.chrg_bchno is None


# Envelope


def test_malformed_json_body_is_rejected_as_body() -> None:
    for raw in (b'{"infno": "2207",', b"\xff\xfe{}", "NaN", '{"a": NaN}'):
        with pytest.raises(InvalidInput) as info:
            parse_envelope(raw)
        assert info.value.field == "body"


def test_a_body_that_is_not_an_object_is_rejected_as_body() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_envelope("[1, 2]")
    assert info.value.field == "body"


def test_an_unknown_infno_parses_as_an_envelope_and_has_no_transaction() -> None:
    """The gateway refuses it naming infno (tests/api/test_his_bad_input.py)."""
    assert parse(envelope(infno="9999")).infno == "9999"
    assert "9999" not in TRANSACTIONS and "2207" in TRANSACTIONS


def test_an_input_over_40000_characters_is_refused() -> None:
    big = envelope(input={"data": {"memo": "x" * 40000}})
    with pytest.raises(InvalidInput) as info:
        parse(big)
    assert info.value.field == "input"


@pytest.mark.parametrize(("key", "value"), [
    ("msgid", DELETE), ("msgid", "H" * 31), ("msgid", ""), ("infno", "22O7"),
    ("infno", 2207), ("inf_time", "2024-03-15T10:30:00"), ("fixmedins_code", "X44030400123"),
    ("mdtrtarea_admvs", "44030"), ("insuplc_admdvs", "990000"), ("opter_type", "9"),
    ("recer_sys_code", DELETE), ("input", DELETE), ("input", "[]"), ("infver", "V1.0.0.0"),
])
def test_a_bad_envelope_field_is_named(key: str, value: object) -> None:
    with pytest.raises(InvalidInput) as info:
        parse(envelope(**{key: value}))
    assert info.value.field == key


@pytest.mark.parametrize("blank", ["", None, "null"])
def test_blank_optional_fields_read_as_none(blank: object) -> None:
    env = parse(envelope(insuplc_admdvs=blank, sign_no=blank))
    assert env.insuplc_admdvs is None and env.sign_no is None
    data = {**example_request()["input"]["data"], "invono": blank, "inscp_scp_amt": blank}
    settle = parse_input("2207", {"data": data})
    assert isinstance(settle, Settle)
    assert settle.invono is None and settle.inscp_scp_amt is None


def test_unknown_envelope_keys_are_ignored() -> None:
    env = parse(envelope(serv_code="X", serv_sign="Y", medins_code="H1", insur_code=1))
    assert replace(env, body_hash="", echoed={}) == replace(parse(envelope()), body_hash="")
    assert env.echoed == {"serv_code": "X", "serv_sign": "Y", "medins_code": "H1"}


def test_body_hash_is_canonical() -> None:
    request = example_request()
    compact = json.dumps(request, separators=(",", ":"))
    spaced = json.dumps(dict(reversed(list(request.items()))), indent=2, ensure_ascii=False)
    assert parse_envelope(compact).body_hash == parse_envelope(spaced).body_hash
    assert len(parse_envelope(compact).body_hash) == 64
    assert parse(envelope(fixmedins_code="H44030400124")).body_hash != parse_envelope(
        compact).body_hash


def test_body_hash_covers_what_the_message_asks_not_when_or_by_whom_it_was_sent() -> None:
    first = parse(envelope()).body_hash
    rebuilt = envelope(opter="D0108", opter_name="收费员乙", inf_time="2024-03-15 10:31:07",
                       sign_no="440000202403151031070000000002")
    assert parse(rebuilt).body_hash == first
    changed = envelope()
    changed["input"]["data"]["medfee_sumamt"] = 357.0
    assert parse(changed).body_hash != first


# Responses


def test_infcode_is_read_from_an_int_or_a_string() -> None:
    assert read_infcode({"infcode": "0"}) == 0
    assert read_infcode({"infcode": "-1"}) == -1
    assert read_infcode({"infcode": -1}) == -1
    with pytest.raises(InvalidInput):
        read_infcode({"infcode": "ok"})


def test_message_is_read_when_err_msg_is_absent() -> None:
    assert read_err_msg({"infcode": -1, "message": "就诊凭证编号不能为空"}) == "就诊凭证编号不能为空"
    assert read_err_msg({"infcode": -1, "err_msg": None, "message": "x"}) == "x"


def test_ref_msgid_is_30_characters() -> None:
    ref = ref_msgid("440300", datetime(2024, 3, 15, 10, 30, 1), 4733)
    assert ref == "440300202403151030010000004733" and len(ref) == 30
    with pytest.raises(InvalidInput):
        ref_msgid("440300", datetime(2024, 3, 15), 10**10)


def test_failure_has_null_output_and_err_msg_of_at_most_200_characters() -> None:
    moment = datetime(2024, 3, 15, 10, 31, 5, 2000)
    answer = failure("该就诊已结算，不能重复结算" * 30, ref="R", received=moment, now=moment)
    assert answer["infcode"] == -1 and answer["output"] is None
    assert 0 < len(answer["err_msg"]) <= 200
    assert answer["refmsg_time"] == "20240315103105002"
    assert list(answer) == list(success({}, ref="R", received=moment, now=moment))
    assert read_infcode(answer) == -1


# Outputs


@pytest.mark.parametrize("fen", [0, 1, 5, 10, 35680, 13280, 99999, -35680, 10**12 - 1])
def test_yuan_round_trips_through_json(fen: int) -> None:
    assert yuan_to_fen(json.loads(json.dumps(yuan(fen))), "x") == fen


def test_yuan_refuses_a_float() -> None:
    with pytest.raises(InvalidInput):
        yuan(1.5)  # type: ignore[arg-type]  # the point of the test


def test_setldetail_lists_each_fund_and_sums_to_the_fund_total() -> None:
    amounts = Amounts(medfee_sumamt=100000, fulamt_ownpay_amt=0, overlmt_selfpay=0,
                      preselfpay_amt=0, inscp_scp_amt=100000, act_pay_dedc=10000,
                      hifp_pay=60000, pool_prop_selfpay=30000, hifmi_pay=12000, hifob_pay=0,
                      cvlserv_pay=0, maf_pay=3000, fund_pay_sumamt=75000, psn_part_amt=25000,
                      acct_pay=0, psn_cash_pay=25000)
    rows = setldetail(amounts, "resident")
    assert [r["fund_pay_type"] for r in rows] == ["390100", "390200", "610100"]
    assert sum(yuan_to_fen(r["fund_payamt"], "x") for r in rows) == amounts.fund_pay_sumamt
    refund = setldetail(amounts.negated(), "resident")
    assert [r["fund_payamt"] for r in refund] == [-600.0, -120.0, -30.0]


def test_setlinfo_sends_missing_fields_empty_and_unpaid_funds_zero() -> None:
    amounts = Amounts(*([0] * len(AMOUNT_FIELDS)))
    info = setlinfo(amounts)
    assert info["setl_id"] == "" and info["clr_type"] == ""
    assert info["hifes_pay"] == info["oth_pay"] == info["acct_mulaid_pay"] == 0.0
    with pytest.raises(TypeError):
        setlinfo(amounts, psn_nam="typo")


def test_fee_result_row_has_the_result_fields() -> None:
    row = fee_result(feedetl_sn="F001", det_item_fee_sumamt=2560, cnt=Decimal(2),
                     pric=Decimal("12.8"), pric_uplmt_amt=Decimal("15"),
                     selfpay_prop=Decimal("0.1"), fulamt_ownpay_amt=0, overlmt_amt=0,
                     preselfpay_amt=256, inscp_scp_amt=2304, chrgitm_lv="02",
                     med_chrgitm_type="09", lmt_used_flag=False)
    assert row == {"feedetl_sn": "F001", "det_item_fee_sumamt": 25.6, "cnt": 2.0, "pric": 12.8,
                   "pric_uplmt_amt": 15.0, "selfpay_prop": 0.1, "fulamt_ownpay_amt": 0.0,
                   "overlmt_amt": 0.0, "preselfpay_amt": 2.56, "inscp_scp_amt": 23.04,
                   "chrgitm_lv": "02", "med_chrgitm_type": "09", "lmt_used_flag": "0",
                   "memo": ""}


def test_a_node_json_body_with_a_lone_surrogate_is_refused_naming_the_field() -> None:
    from medsettle.adapters.api.common import parse_object

    with pytest.raises(InvalidInput) as refused:
        parse_object(b'{"payload": {"lines": [{"name": "\\ud800x"}]}}')
    assert refused.value.field == "payload.lines[0].name"
    assert parse_object(b'{"name": "\\ud83d\\ude00"}') == {"name": "\U0001F600"}
