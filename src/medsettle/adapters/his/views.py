"""What the use cases return, in the national interface's field names and units (yuan, text
times in Asia/Shanghai): the HIS gateway's side of every answer."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from medsettle.adapters.db.records import line_row, settlement_row, treated_visit_row
from medsettle.adapters.his.envelope import Envelope
from medsettle.adapters.his.outputs import fee_result, setldetail, setlinfo, yuan
from medsettle.core.calendar import age_on, business_time
from medsettle.core.records import Identity, SettlementRecord, StoredLine, TreatedVisit
from medsettle.services.exchange import AccumulatorsOfYear, PersonFound
from medsettle.services.treating import Classified
from medsettle.services.treating_settle import SettlementView


def wire_time(moment: datetime) -> str:
    """A stored moment as the interface writes it: Asia/Shanghai, to the second."""
    return business_time(moment).strftime("%Y-%m-%d %H:%M:%S")


def person_snapshot(who: Identity | None) -> dict[str, Any]:
    """A person as the 52xx answers show them."""
    if who is None:
        return {}
    return {"psn_name": who.name, "certno": who.id_number, "gend": who.gender,
            "brdy": who.birth_date.isoformat(), "psn_type": who.person_type}


def person_found(found: PersonFound, on: date) -> dict[str, Any]:
    """1101: baseinfo, insuinfo (balance in yuan) and idetinfo."""
    who = found.identity
    identities = [] if not found.assistance_category else [
        {"psn_idet_type": found.assistance_category, "psn_type_lv": "", "memo": "医疗救助对象",
         "begntime": None, "endtime": None}]
    return {
        "baseinfo": {"psn_no": who.person_id, "psn_cert_type": "01", "certno": who.id_number,
                     "psn_name": who.name, "gend": who.gender, "naty": "01",
                     "brdy": who.birth_date.isoformat(), "age": age_on(who.birth_date, on)},
        "insuinfo": [{"balc": yuan(found.account_balance), "insutype": who.insutype,
                      "psn_type": who.person_type,
                      "psn_insu_stas": "1" if found.insurance_active else "0",
                      "psn_insu_date": None, "paus_insu_date": None,
                      "cvlserv_flag": "1" if who.civil_servant else "0",
                      "insuplc_admdvs": found.insured_region, "emp_name": found.employer}],
        "idetinfo": identities,
    }


def settlement(view: SettlementView, env: Envelope, cert_type: str) -> dict[str, Any]:
    """setlinfo + setldetail of a settlement, pre-settlement or cancel."""
    visit, who = view.visit, view.identity or view.visit.person
    inpatient = visit.visit_type == "inpatient"
    fields: dict[str, Any] = {
        "mdtrt_id": visit.visit_id, "setl_id": view.settlement_id, "psn_no": visit.person_id,
        "insutype": visit.insutype, "med_type": visit.med_type, "mdtrt_cert_type": cert_type,
        "psn_cert_type": "01", "naty": "01", "setl_time": wire_time(view.settled_at),
        "medins_setl_id": env.msgid, "clr_optins": env.mdtrtarea_admvs, "clr_way": "1",
        "clr_type": "21" if inpatient else "11"}
    if who is not None:
        day = business_time(view.settled_at).date()
        fields |= {"psn_name": who.name, "certno": who.id_number, "gend": who.gender,
                   "brdy": who.birth_date.isoformat(), "psn_type": who.person_type,
                   "cvlserv_flag": "1" if who.civil_servant else "0",
                   "age": age_on(who.birth_date, day)}
    return {"setlinfo": setlinfo(view.amounts, balc=view.balance, **fields),
            "setldetail": setldetail(view.amounts, view.scheme or visit.insutype)}


def visit_opened(visit: TreatedVisit) -> dict[str, Any]:
    """2201/2401: the visit's id and numbers."""
    return {"data": {"mdtrt_id": visit.visit_id, "psn_no": visit.person_id,
                     "ipt_otp_no": visit.hospital_no}}


def fees(results: list[Classified]) -> dict[str, Any]:
    """2204/2301: each line as classified by the treating area's catalogue."""
    return {"result": [fee_result(
        feedetl_sn=r.line.serial, det_item_fee_sumamt=r.line.amount, cnt=r.line.count,
        pric=r.line.price, pric_uplmt_amt=r.line.cap_price, selfpay_prop=r.line.selfpay_prop,
        fulamt_ownpay_amt=r.line.full_self_paid, overlmt_amt=r.line.over_cap,
        preselfpay_amt=r.line.preselfpay, inscp_scp_amt=r.line.in_scope,
        chrgitm_lv=r.line.level, med_chrgitm_type=r.charge_type,
        lmt_used_flag=not r.line.restricted_ok,
        memo="不在就医地目录内,全自费" if r.line.cls == "none" else "")
        | {"mdtrt_id": r.line.visit_id} for r in results]}


#: English result keys → national ones, for the small answers (2202, 2203, 2402–2405, 2601).
RESULT_NAMES = {"visit_id": "mdtrt_id", "original": "omsgid", "begins": "begntime"}


def renamed(result: dict[str, Any]) -> dict[str, Any]:
    """A small answer with its keys (and a `changed` list's items) in national names."""
    out = {RESULT_NAMES.get(k, k): v for k, v in result.items()}
    if isinstance(out.get("changed"), list):
        out["changed"] = [RESULT_NAMES.get(k, k) for k in out["changed"]]
    return out


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row for a query answer: times as text, amounts (fen) as yuan."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            out[key] = wire_time(value)
        elif isinstance(value, int) and not isinstance(value, bool) and (
                key.endswith(("_amt", "_pay", "sumamt", "_selfpay", "balc", "_dedc"))
                or key == "amt"):
            out[key] = yuan(value)
        elif key == "delta":
            continue
        elif isinstance(value, date | Decimal):
            out[key] = value.isoformat() if isinstance(value, date) else str(value)
        else:
            out[key] = value
    return out


def visits(found: list[TreatedVisit]) -> dict[str, Any]:
    """5201/5205: the visits as the node stores them."""
    return {"mdtrtinfo": [_plain(treated_visit_row(v) | {"person": person_snapshot(v.person)})
                          for v in found]}


def settlements(found: list[SettlementRecord]) -> dict[str, Any]:
    """5203: the settlement records."""
    return {"setlinfo": [_plain(settlement_row(s)) for s in found]}


def fee_lines(found: list[StoredLine]) -> dict[str, Any]:
    """5204: the fee lines."""
    return {"feedetail": [_plain(line_row(line)) for line in found]}


def accumulations(answer: AccumulatorsOfYear) -> dict[str, Any]:
    """5206: the medical year's accumulators, amounts in yuan (visit counts stay counts)."""
    def convert(key: str, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(key, v) for k, v in value.items()}
        return value if key == "visits" else yuan(value)
    return {"year": answer.year, "accumulators": {
        key: convert(key, value) for key, value in answer.accumulators.items()}}
