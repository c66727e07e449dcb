"""The field names a HIS answer may carry: the national interface's, and nothing of our own.

Each set lists a node of the national documents' outputs as MedSettle answers it (its order
follows the documents); `ANSWER_FIELDS` is their union. `foreign_keys` walks an answer and names
every key outside it, so a test can send every transaction and fail on an internal word
(`role`, `kind`, `policy_id`, `benefit_class`, a status word) that would have reached a hospital.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from medsettle.adapters.his.outputs import CLEARING_FIELDS, IDENTITY_FIELDS, SETLINFO_AMOUNTS

#: The response envelope (interface.md §3).
ENVELOPE = frozenset({"infcode", "inf_refmsgid", "refmsg_time", "respond_time", "err_msg",
                      "warn_msg", "cainfo", "signtype", "output"})

#: 9001 signinoutb.
SIGN_IN = frozenset({"signinoutb", "signoutoutb", "sign_time", "sign_no"})

#: 1101 baseinfo, insuinfo[] and idetinfo[].
PERSON = frozenset({
    "baseinfo", "psn_no", "psn_cert_type", "certno", "psn_name", "gend", "naty", "brdy", "age",
    "insuinfo", "balc", "insutype", "psn_type", "psn_insu_stas", "psn_insu_date",
    "paus_insu_date", "cvlserv_flag", "insuplc_admdvs", "emp_name",
    "idetinfo", "psn_idet_type", "psn_type_lv", "memo", "begntime", "endtime"})

#: 2201/2401 data and the small answers of cancels, changes and reversals (2202–2205, 2302,
#: 2402–2405, 2502, 2601).
VISIT = frozenset({"data", "mdtrt_id", "psn_no", "ipt_otp_no", "omsgid", "memo",
                   "trt_dcla_detl_sn"})

#: 2204/2301 result[] and 5204 feedetail[].
FEES = frozenset({
    "result", "feedetail", "feedetl_sn", "mdtrt_id", "setl_id", "chrg_bchno", "fee_ocur_time",
    "det_item_fee_sumamt", "cnt", "pric", "pric_uplmt_amt", "selfpay_prop", "fulamt_ownpay_amt",
    "overlmt_amt", "preselfpay_amt", "inscp_scp_amt", "chrgitm_lv", "med_chrgitm_type",
    "lmt_used_flag", "med_list_codg", "medins_list_codg", "hilist_code", "hilist_name",
    "vali_flag", "memo"})

#: setlinfo of 2206–2208, 2303–2305 and, with the query's own fields, of 5203/5261/5262.
SETLINFO = frozenset({"setlinfo", *IDENTITY_FIELDS, *SETLINFO_AMOUNTS, *CLEARING_FIELDS,
                      "psn_pay", "cash_payamt", "flxempe_flag", "nwb_flag", "insu_optins",
                      "fixmedins_code", "fixmedins_name", "hosp_lv", "fixmedins_poolarea",
                      "begndate", "enddate", "refd_setl_flag", "year", "dise_codg", "dise_name",
                      "invono"})

#: setldetail[] of the same answers.
SETLDETAIL = frozenset({"setldetail", "fund_pay_type", "fund_pay_type_name", "inscp_scp_amt",
                        "crt_payb_lmt_amt", "fund_payamt", "setl_proc_info"})

#: 5262 feesttinfo[]: the fee-category totals of a settlement.
FEE_TOTALS = frozenset({"feesttinfo", "med_chrgitm_type", "item_sumamt", "item_claa_amt",
                        "item_clab_amt", "fulamt_ownpay_amt", "overlmt_selfpay",
                        "preselfpay_amt"})

#: 5201/5205 mdtrtinfo[].
VISITS = frozenset({
    "mdtrtinfo", "mdtrt_id", "psn_no", "psn_cert_type", "certno", "psn_name", "gend", "naty",
    "brdy", "age", "insutype", "psn_type", "cvlserv_flag", "flxempe_flag", "insu_optins",
    "begntime", "endtime", "med_type", "ipt_otp_no", "dise_codg", "dise_name", "inhosp_stas",
    "ipt_days", "vali_flag", "memo"})

#: 5206 cuminfo[].
ACCUMULATIONS = frozenset({"cuminfo", "insutype", "year", "cum_ym", "cum_type_code", "cum"})

#: 3201 and 3202 answers (docs/his-integration.md §9).
RECONCILIATION = frozenset({
    "setl_optins", "stmt_rslt", "stmt_rslt_dscr", "file_qury_no", "filename", "dld_endtime",
    "detail", "setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay",
    "cash_payamt", "refd_setl_flag", "memo", "msgid", "fixmedins_setl_cnt"})

#: 3101/3103 result[] and its judge_result_detail_dtos[].
AUDIT = frozenset({
    "result", "jr_id", "rule_id", "rule_name", "vola_cont", "patn_id", "mdtrt_id",
    "judge_result_detail_dtos", "jrd_id", "rx_id", "vola_item_type", "vola_amt",
    "vola_amt_stas", "sev_deg", "vola_evid", "vola_bhvr_type", "task_id"})

#: 9101 and the catalogue downloads (1301/1302/1305/1306): the file kept, to fetch with 9102;
#: 3202's `fileinfo` names its result file so.
FILES = frozenset({"fileinfo", "file_qury_no", "filename", "dld_endtime", "fixmedins_code",
                   "data_cnt"})

#: Every key a HIS answer may carry.
ANSWER_FIELDS: frozenset[str] = (ENVELOPE | SIGN_IN | PERSON | VISIT | FEES | SETLINFO
                                 | SETLDETAIL | FEE_TOTALS | VISITS | ACCUMULATIONS
                                 | RECONCILIATION | AUDIT | FILES)


class NotNational(RuntimeError):
    """An answer about to leave with a key outside the national field list (a node fault)."""


def foreign_keys(answer: Any, path: str = "") -> Iterator[str]:
    """The paths of every key in `answer` (recursively) that is not a national field name."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            here = f"{path}.{key}" if path else key
            if key not in ANSWER_FIELDS:
                yield here
            yield from foreign_keys(value, here)
    elif isinstance(answer, list):
        for i, value in enumerate(answer):
            yield from foreign_keys(value, f"{path}[{i}]")
