"""What the use cases return, in the national interface's field names and units (yuan, text
times in Asia/Shanghai): the HIS gateway's side of every answer."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from medsettle.adapters.his import national_codes as nc
from medsettle.adapters.his.envelope import Envelope
from medsettle.adapters.his.outputs import fee_result, setldetail, setlinfo, yuan
from medsettle.core.calendar import age_on, business_time
from medsettle.core.records import TreatedVisit
from medsettle.services.exchange import PersonFound
from medsettle.services.treating import Classified
from medsettle.services.treating_settle import SettlementView


def wire_time(moment: datetime) -> str:
    """A stored moment as the interface writes it: Asia/Shanghai, to the second."""
    return business_time(moment).strftime("%Y-%m-%d %H:%M:%S")


def person_found(found: PersonFound, on: date) -> dict[str, Any]:
    """1101: baseinfo, insuinfo (balance in yuan) and idetinfo."""
    who = found.identity
    identities = []
    if found.assistance_category:
        code, name = nc.psn_idet_type(found.assistance_category)
        identities.append({"psn_idet_type": code, "psn_type_lv": "", "memo": f"医疗救助对象：{name}",
                           "begntime": None, "endtime": None})
    return {
        "baseinfo": {"psn_no": who.person_id, "psn_cert_type": "01", "certno": who.id_number,
                     "psn_name": who.name, "gend": nc.gend(who.gender), "naty": "01",
                     "brdy": who.birth_date.isoformat(), "age": age_on(who.birth_date, on)},
        "insuinfo": [{"balc": yuan(found.account_balance), "insutype": nc.insutype(who.insutype),
                      "psn_type": nc.psn_type(who.person_type),
                      "psn_insu_stas": "1" if found.insurance_active else "0",
                      "psn_insu_date": None, "paus_insu_date": None,
                      "cvlserv_flag": "1" if who.civil_servant else "0",
                      "insuplc_admdvs": found.insured_region, "emp_name": found.employer}],
        "idetinfo": identities,
    }


def settlement(view: SettlementView, env: Envelope, cert_type: str) -> dict[str, Any]:
    """setlinfo + setldetail of a settlement, pre-settlement or cancel."""
    visit, who = view.visit, view.identity or view.visit.person
    fields: dict[str, Any] = {
        "mdtrt_id": visit.visit_id, "setl_id": view.settlement_id, "psn_no": visit.person_id,
        "insutype": nc.insutype(visit.insutype), "med_type": nc.med_type(visit.med_type),
        "mdtrt_cert_type": nc.mdtrt_cert_type(cert_type), "psn_cert_type": "01", "naty": "01",
        "setl_time": wire_time(view.settled_at), "medins_setl_id": env.msgid,
        "clr_optins": env.mdtrtarea_admvs, "clr_way": nc.CLR_WAY_ITEMIZED,
        "clr_type": nc.clr_type(visit.visit_type)}
    if who is not None:
        day = business_time(view.settled_at).date()
        fields |= {"psn_name": who.name, "certno": who.id_number, "gend": nc.gend(who.gender),
                   "brdy": who.birth_date.isoformat(), "psn_type": nc.psn_type(who.person_type),
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
