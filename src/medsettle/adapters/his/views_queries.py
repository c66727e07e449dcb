"""The query answers (5201, 5203–5206, 5261, 5262) and the small answers of cancels and reversals,
in national field names and codes only (views.py has the settlement and visit answers).

Nothing a node keeps for itself (a record's role or kind, the policy it used, the benefit class,
a visit's status word) goes out under its own name: a status becomes a national flag (vali_flag,
inhosp_stas, refd_setl_flag) and, where a person should read it, a Chinese `memo`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from medsettle.adapters.his import national_codes as nc
from medsettle.adapters.his import views
from medsettle.adapters.his.outputs import fee_result, setldetail, setlinfo, yuan
from medsettle.core.calendar import age_on, business_time
from medsettle.core.codes import EXTENSION_CHRONIC_DISEASES, NATIONAL_CHRONIC_DISEASES
from medsettle.core.records import Identity, TreatedVisit, VisitStatus
from medsettle.services.exchange import AccumulatorsOfYear
from medsettle.services.treating import Classified
from medsettle.services.treating_queries import SettlementFound


def wire_time(moment: datetime | None) -> str:
    """A stored moment as the interface writes it (views.wire_time); "" for None."""
    return "" if moment is None else views.wire_time(moment)


def disease_name(code: str | None) -> str:
    """The Chinese name of a chronic-disease code MedSettle knows, else ""."""
    if not code:
        return ""
    return NATIONAL_CHRONIC_DISEASES.get(code) or EXTENSION_CHRONIC_DISEASES.get(code) or ""


def person_fields(who: Identity | None, on: datetime) -> dict[str, Any]:
    """The person part of a 52xx answer, as the insured place reported them."""
    if who is None:
        return {"psn_cert_type": "", "certno": "", "psn_name": "", "gend": "", "naty": "",
                "brdy": "", "age": "", "psn_type": "", "cvlserv_flag": "", "flxempe_flag": ""}
    return {"psn_cert_type": "01", "certno": who.id_number, "psn_name": who.name,
            "gend": nc.gend(who.gender), "naty": "01", "brdy": who.birth_date.isoformat(),
            "age": age_on(who.birth_date, business_time(on).date()),
            "psn_type": nc.psn_type(who.person_type),
            "cvlserv_flag": nc.flag(who.civil_servant),
            "flxempe_flag": nc.flag(who.person_type == "1103")}


_VISIT_MEMO = {VisitStatus.OPEN: "就诊中", VisitStatus.DISCHARGED: "已出院，待结算",
               VisitStatus.SETTLED: "已结算", VisitStatus.CANCELLED: "已撤销",
               VisitStatus.MANUAL: "转手工报销"}


def visit_info(v: TreatedVisit) -> dict[str, Any]:
    """One 5201/5205 `mdtrtinfo` row (the national 5201 fields MedSettle keeps)."""
    inpatient = v.visit_type == "inpatient"
    memo = _VISIT_MEMO[v.status]
    if v.manual_reason:
        memo = f"{memo}: {v.manual_reason}"[:500]
    return {
        "mdtrt_id": v.visit_id, "psn_no": v.person_id, **person_fields(v.person, v.begins),
        "insutype": nc.insutype(v.insutype), "insu_optins": v.insured_region,
        "begntime": wire_time(v.begins), "endtime": wire_time(v.ends),
        "med_type": nc.med_type(v.med_type), "ipt_otp_no": v.hospital_no,
        "dise_codg": v.disease or "", "dise_name": disease_name(v.disease),
        "inhosp_stas": (nc.flag(v.status is VisitStatus.OPEN) if inpatient else ""),
        "ipt_days": ((business_time(v.ends).date() - business_time(v.begins).date()).days
                     if inpatient and v.ends else ""),
        "vali_flag": nc.INVALID if v.status is VisitStatus.CANCELLED else nc.VALID,
        "memo": memo}


def visits(found: list[TreatedVisit]) -> dict[str, Any]:
    """5201/5205: the person's visits at this institution."""
    return {"mdtrtinfo": [visit_info(v) for v in found]}


def settlement_info(found: SettlementFound) -> dict[str, Any]:
    """The full national setlinfo of a kept settlement (5203, 5261, 5262): the 2207 fields and
    the query's own (institution, period, invoice, refund flag, …); amounts in yuan."""
    s, visit = found.record, found.visit
    who = visit.person
    fields: dict[str, Any] = {
        "mdtrt_id": s.visit_id, "setl_id": s.settlement_id, "psn_no": s.person_id,
        "insutype": nc.insutype(s.insutype), "med_type": nc.med_type(s.med_type),
        "mdtrt_cert_type": "", "setl_time": wire_time(s.settled_at), "medins_setl_id": s.msgid,
        "clr_optins": s.treating_region, "clr_way": nc.CLR_WAY_ITEMIZED,
        "clr_type": nc.clr_type(s.visit_type)}
    person = person_fields(who, s.settled_at)
    fields |= {k: person[k] for k in ("psn_cert_type", "certno", "psn_name", "gend", "naty",
                                      "brdy", "age", "psn_type", "cvlserv_flag")}
    info = setlinfo(s.amounts, balc=s.balance, **fields)
    return info | {
        "psn_pay": info["psn_part_amt"], "cash_payamt": info["psn_cash_pay"],
        "flxempe_flag": person["flxempe_flag"], "nwb_flag": "0",
        "insu_optins": s.insured_region, "fixmedins_code": s.institution,
        "fixmedins_name": found.institution_name, "hosp_lv": found.hosp_lv,
        "fixmedins_poolarea": s.treating_region,
        "begndate": business_time(visit.begins).date().isoformat(),
        "enddate": business_time(visit.ends).date().isoformat() if visit.ends else "",
        "refd_setl_flag": nc.refd_setl_flag(s.kind.value), "year": s.medical_year,
        "dise_codg": visit.disease or "", "dise_name": disease_name(visit.disease),
        "invono": s.invoice_no}


def settlement(found: SettlementFound) -> dict[str, Any]:
    """5203: setlinfo and setldetail of one settlement."""
    return {"setlinfo": settlement_info(found),
            "setldetail": setldetail(found.record.amounts, found.record.insutype)}


def settlement_list(found: list[SettlementFound]) -> dict[str, Any]:
    """5261: the person's settlement records at this institution, each a full setlinfo."""
    return {"setlinfo": [settlement_info(f) for f in found]}


def fee_totals(lines: Iterable[Classified]) -> list[dict[str, Any]]:
    """feesttinfo: one row per charge category (med_chrgitm_type), amounts summed in fen and
    sent in yuan; item_claa_amt and item_clab_amt are the 甲类 and 乙类 parts of item_sumamt."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in lines:
        row, line = sums[c.charge_type], c.line
        row["item_sumamt"] += line.amount
        row["item_claa_amt"] += line.amount if line.cls == "A" else 0
        row["item_clab_amt"] += line.amount if line.cls == "B" else 0
        row["fulamt_ownpay_amt"] += line.full_self_paid
        row["overlmt_selfpay"] += line.over_cap
        row["preselfpay_amt"] += line.preselfpay
    return [{"med_chrgitm_type": kind, **{k: yuan(v) for k, v in sums[kind].items()}}
            for kind in sorted(sums)]


def settlement_with_totals(found: SettlementFound) -> dict[str, Any]:
    """5262: one settlement's setlinfo and its fee-category totals (feesttinfo)."""
    return {"setlinfo": settlement_info(found), "feesttinfo": fee_totals(found.lines)}


def fee_lines(found: list[Classified]) -> dict[str, Any]:
    """5204: the fee details, in the national 5204 fields."""
    rows = []
    for c in found:
        line = c.line
        rows.append(fee_result(
            feedetl_sn=line.serial, det_item_fee_sumamt=line.amount, cnt=line.count,
            pric=line.price, pric_uplmt_amt=line.cap_price, selfpay_prop=line.selfpay_prop,
            fulamt_ownpay_amt=line.full_self_paid, overlmt_amt=line.over_cap,
            preselfpay_amt=line.preselfpay, inscp_scp_amt=line.in_scope,
            chrgitm_lv=line.level, med_chrgitm_type=c.charge_type,
            lmt_used_flag=not line.restricted_ok,
            memo="不在就医地目录内,全自费" if line.cls == "none" else "") | {
            "mdtrt_id": line.visit_id, "setl_id": line.settlement_id or "",
            "chrg_bchno": line.batch, "fee_ocur_time": wire_time(line.occurred_at),
            "med_list_codg": line.code, "medins_list_codg": line.hospital_code,
            "hilist_code": line.code, "hilist_name": line.name,
            "vali_flag": nc.VALID if line.active else nc.INVALID})
    return {"feedetail": rows}


#: The national qualifier of an accumulator's sub-key (see national_codes.CUM_TYPE_CODES).
_CUM_PARTS = {"outpatient": "11", "inpatient": "21", "chronic": "14", "main": "00",
              "hifmi": "390200", "hifob": "330100", "base": "1", "paid": "2"}


def _cum_part(part: str) -> str:
    if part in _CUM_PARTS:
        return _CUM_PARTS[part]
    if disease_name(part):
        return part
    raise nc.NoNationalCode(f"cum_type_code: no national code for {part!r}")


def _leaves(node: Any, path: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], int]]:
    if isinstance(node, dict):
        for key, value in sorted(node.items()):
            yield from _leaves(value, (*path, key))
    else:
        yield path, node


def accumulations(answer: AccumulatorsOfYear) -> dict[str, Any]:
    """5206 `cuminfo`: one row per accumulator, cum_type_code built from national codes
    (C0401-M07803 for one chronic disease; its month in cum_ym); amounts in yuan, counts as is."""
    rows = []
    for path, value in _leaves(answer.accumulators, ()):
        family, rest = path[0], list(path[1:])
        cum_ym = ""
        if family == "chronic_paid" and len(rest) == 2:
            cum_ym = rest.pop().replace("-", "")
        code = "-".join([nc.cum_type_code(family), *(_cum_part(p) for p in rest)])
        rows.append({"year": answer.year, "cum_ym": cum_ym, "cum_type_code": code,
                     "cum": value if family == "visits" else yuan(value)})
    return {"cuminfo": rows}


def small(result: dict[str, Any]) -> dict[str, Any]:
    """The answer of a cancel, a change or a reversal (2202–2205, 2302, 2402–2405, 2601): the
    ids in national names, what happened in a Chinese `memo`."""
    out: dict[str, Any] = {}
    if "visit_id" in result:
        out["mdtrt_id"] = result["visit_id"]
    if "original" in result:
        out["omsgid"] = result["original"]
        out["memo"] = ("已冲正：原交易已撤销 (reversed)" if result.get("reversed")
                       else "无需冲正：原交易未生效或已撤销 (nothing to reverse)")
    if "changed" in result:
        out["memo"] = "已变更：" + ", ".join(
            {"begins": "begntime"}.get(k, k) for k in result["changed"])
    if result.get("cancelled") is True:
        out["memo"] = "已撤销"
    elif isinstance(result.get("cancelled"), int):
        out["memo"] = f"已撤销 {result['cancelled']} 条费用明细"
    return out
