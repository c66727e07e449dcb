"""The treating place's side of a visit (就医地): institutions, visits, fee details by its catalogue.

The HIS gateway calls these with parsed HIS inputs. Anything that needs the insured place goes
through `InsuredPort` (this node itself for its own insured, otherwise the hub).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from medsettle.core import codes
from medsettle.core.calendar import business_time
from medsettle.core.catalogue import Catalogue, LineContext
from medsettle.core.errors import (
    ChronicNotOpened,
    InstitutionSuspended,
    InvalidInput,
    NotFound,
    PeerUnavailable,
    StateConflict,
)
from medsettle.core.ids import derived_id
from medsettle.core.lines import price_line
from medsettle.services import failpoints
from medsettle.services.ports import Database, Reply, UnitOfWork

logger = logging.getLogger(__name__)


class InsuredPort(Protocol):
    """How the treating place reaches an insured place."""

    def call(self, insu_admdvs: str, op: str, msgid: str,
             payload: Mapping[str, Any]) -> dict[str, Any]: ...

    def locate(self, certno: str) -> str: ...


@dataclass
class Treating:
    """A province node acting as the treating place."""

    db: Database
    region: str  # the province code, e.g. "440000"
    insured: InsuredPort
    catalogue: Catalogue
    signed_in: dict[str, str] = field(default_factory=dict)  # sign_no → institution, a cache

    def new_id(self, now: datetime) -> str:
        """A 30-character id: region(6) + local time(14) + 10 random digits."""
        return f"{self.region}{business_time(now):%Y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"

    def message_id(self, fixmedins_code: str, msgid: str, purpose: str) -> str:
        """The id of what message `msgid` of an institution creates (a visit, a settlement, a
        cancel): the same on every retry, so the insured node sees the same request again."""
        return derived_id(self.region, fixmedins_code, msgid, purpose)


def his_scope(fixmedins_code: str) -> str:
    """The message-log scope of an institution's HIS messages: msgids are one institution's."""
    return f"his:{fixmedins_code}"


def institution(tx: UnitOfWork, code: str) -> Any:
    """One of this node's designated institutions, fit to settle directly."""
    inst = tx.one("institutions", fixmedins_code=code)
    if inst is None:
        raise NotFound(f"institution {code} is not a designated institution of this province")
    if inst.suspended:
        raise InstitutionSuspended(f"institution {code} is suspended from cross-province direct "
                                   "settlement; the patient claims manual reimbursement")
    if not inst.networked:
        raise InstitutionSuspended(f"institution {code} is not networked for direct settlement")
    return inst


def sign_in(t: Treating, fixmedins_code: str, opter_no: str, now: datetime) -> dict[str, Any]:
    """9001: a sign-in number the HIS sends in its later messages."""
    sign_no = t.new_id(now)
    with t.db.tx() as tx:
        institution(tx, fixmedins_code)
        tx.add("sign_ins", {"sign_no": sign_no, "fixmedins_code": fixmedins_code,
                            "opter_no": opter_no, "signed_at": now})
    return {"sign_time": business_time(now).strftime("%Y-%m-%d %H:%M:%S"), "sign_no": sign_no}


def check_signed_in(t: Treating, sign_no: str | None, fixmedins_code: str) -> None:
    """Every message but 9001 carries the sign_no this institution received."""
    if not sign_no:
        raise InvalidInput("sign_no", "sign in with 9001 first and send the returned sign_no")
    if t.signed_in.get(sign_no) == fixmedins_code:
        return
    with t.db.tx() as tx:
        row = tx.one("sign_ins", sign_no=sign_no)
    if row is None or row.fixmedins_code != fixmedins_code:
        raise InvalidInput("sign_no", "unknown sign_no for this institution; sign in with 9001")
    t.signed_in[sign_no] = fixmedins_code


def insured_region(t: Treating, cert_type: str, cert_no: str, given: str | None,
                   certno: str | None = None) -> str:
    """Where the person is insured: the e-voucher names it; a card or ID number needs the HIS's
    insuplc_admdvs or the hub's locator index."""
    if cert_type == "01":
        return codes.evoucher_admdvs(cert_no)
    if given:
        return given
    number = cert_no if cert_type == "02" else certno
    if not number:
        raise InvalidInput("insuplc_admdvs", "send the card's issuing region (insuplc_admdvs)")
    return t.insured.locate(number)


def person_info(t: Treating, query: Any, insuplc: str | None) -> dict[str, Any]:
    """1101: read the credential and ask the insured place for the person."""
    region = insured_region(t, query.mdtrt_cert_type, query.mdtrt_cert_no, insuplc, query.certno)
    return t.insured.call(region, "person_info", "", {
        "cert_type": query.mdtrt_cert_type, "cert_no": query.mdtrt_cert_no,
        "card_sn": query.card_sn})


def open_visit(t: Treating, env: Any, cmd: Any, *, inpatient: bool, reply: Reply
               ) -> dict[str, Any]:
    """2201 register or 2401 admit: the insured place checks insurance and filing, then the
    treating place records the visit. If the insured place cannot answer, the visit is kept,
    marked for manual reimbursement (手工报销)."""
    if not env.insuplc_admdvs:
        raise InvalidInput("insuplc_admdvs", "required with psn_no: take it from 1101 insuinfo")
    mdtrt_id = t.message_id(env.fixmedins_code, env.msgid, "visit")
    with t.db.tx() as tx:
        inst = institution(tx, env.fixmedins_code)
        earlier = tx.one("visits", mdtrt_id=mdtrt_id)
    if earlier is not None:  # an earlier attempt of this message could not reach the insured
        raise StateConflict(f"visit {mdtrt_id} of this message is marked for manual "
                            f"reimbursement (手工报销): {earlier.manual_reason}")
    visit_type = "inpatient" if inpatient else cmd.visit_type
    disease = cmd.dise_codg if visit_type == "chronic" else None
    if disease is not None and disease not in (inst.chronic_opened or []):
        raise ChronicNotOpened(f"{env.fixmedins_code} has not opened {disease} for "
                               "cross-province settlement")
    number = cmd.ipt_no if inpatient else cmd.ipt_otp_no
    payload = {"mdtrt_id": mdtrt_id, "psn_no": cmd.psn_no, "insutype": cmd.insutype,
               "visit_type": visit_type, "med_type": cmd.med_type,
               "mdtrtarea_admvs": inst.admdvs, "fixmedins_code": inst.fixmedins_code,
               "begntime": cmd.begntime.isoformat(), "emergency": cmd.emergency,
               "disease": disease, "cert_type": cmd.mdtrt_cert_type,
               "cert_no": cmd.mdtrt_cert_no, "card_sn": cmd.card_sn}
    row = {"mdtrt_id": mdtrt_id, "psn_no": cmd.psn_no, "insuplc_admdvs": env.insuplc_admdvs,
           "fixmedins_code": inst.fixmedins_code, "med_type": cmd.med_type,
           "visit_type": visit_type, "disease": disease, "ipt_otp_no": number,
           "begntime": cmd.begntime, "endtime": None, "emergency": cmd.emergency,
           "insutype": cmd.insutype, "msgid": env.msgid}
    try:
        answer = t.insured.call(env.insuplc_admdvs, "open_visit", env.msgid, payload)
    except PeerUnavailable as exc:
        with t.db.tx() as tx:
            tx.add("visits", row | {"status": "manual", "person": {},
                                    "manual_reimbursement": True, "manual_reason": str(exc)})
        logger.warning("visit marked for manual reimbursement",
                       extra={"mdtrt_id": mdtrt_id, "msgid": env.msgid, "why": str(exc)})
        raise PeerUnavailable(f"{exc}; visit {mdtrt_id} is marked for manual reimbursement "
                              "(手工报销)") from None
    failpoints.reach("visit.after_insured")
    person = {k: answer.get(k) for k in ("psn_name", "certno", "gend", "brdy", "psn_type")}
    result = {"mdtrt_id": mdtrt_id, "psn_no": cmd.psn_no, "ipt_otp_no": number,
              "benefit_class": answer.get("benefit_class")}
    with t.db.tx() as tx:
        reply.record(tx, result)
        tx.add("visits", row | {"status": "open", "person": person,
                                "benefit_class": answer.get("benefit_class")})
    return result


def own_visit(tx: UnitOfWork, env: Any, mdtrt_id: str, psn_no: str) -> Any:
    """A visit of this institution and person, or a clear error."""
    visit = tx.one("visits", mdtrt_id=mdtrt_id)
    if visit is None or visit.fixmedins_code != env.fixmedins_code:
        raise NotFound(f"visit {mdtrt_id} is not a visit of {env.fixmedins_code}")
    if visit.psn_no != psn_no:
        raise InvalidInput("psn_no", f"visit {mdtrt_id} belongs to another person")
    return visit


def expect_kind(t: Treating, mdtrt_id: str, inpatient: bool, infno: str) -> None:
    """Inpatient transactions (23xx, 24xx) only for stays, outpatient ones (22xx) only for
    outpatient and chronic visits."""
    with t.db.tx() as tx:
        visit = tx.one("visits", mdtrt_id=mdtrt_id)
    if visit is not None and (visit.visit_type == "inpatient") != inpatient:
        kind = "an inpatient stay" if visit.visit_type == "inpatient" else "an outpatient visit"
        raise InvalidInput("infno", f"{infno} does not apply to visit {mdtrt_id}, which is {kind}")


def cancel_visit(t: Treating, env: Any, mdtrt_id: str, psn_no: str, reply: Reply,
                 ipt_otp_no: str | None = None) -> dict[str, Any]:
    """2202/2404: cancel a registration or admission that has no settlement (2202 names the
    hospital's own visit number too, which must match)."""
    result = {"mdtrt_id": mdtrt_id, "cancelled": True}
    with t.db.tx() as tx:
        visit = _cancellable(tx, env, mdtrt_id, psn_no, ipt_otp_no)
        if visit.status == "cancelled":
            reply.record(tx, result)
            return result
    if visit.status != "manual":
        t.insured.call(visit.insuplc_admdvs, "cancel_visit", env.msgid, {"mdtrt_id": mdtrt_id})
    with t.db.tx() as tx:
        reply.record(tx, result)
        _cancellable(tx, env, mdtrt_id, psn_no, ipt_otp_no)
        tx.change("visits", {"mdtrt_id": mdtrt_id}, status="cancelled")
        for line in tx.rows("fee_details", mdtrt_id=mdtrt_id):
            tx.change("fee_details", {"mdtrt_id": mdtrt_id, "feedetl_sn": line.feedetl_sn},
                      status="cancelled")
    return result


def _cancellable(tx: UnitOfWork, env: Any, mdtrt_id: str, psn_no: str,
                 ipt_otp_no: str | None) -> Any:
    visit = own_visit(tx, env, mdtrt_id, psn_no)
    if visit.status == "settled":
        raise StateConflict(f"visit {mdtrt_id} is settled: cancel the settlement first")
    if ipt_otp_no is not None and ipt_otp_no != visit.ipt_otp_no:
        raise InvalidInput("input.data.ipt_otp_no", f"{ipt_otp_no} is not the hospital "
                                                    f"number of visit {mdtrt_id}")
    return visit


def update_visit(t: Treating, env: Any, info: Any, reply: Reply) -> dict[str, Any]:
    """2203: the visit's medical type and disease (a chronic visit's disease code)."""
    result = {"mdtrt_id": info.mdtrt_id}
    with t.db.tx() as tx:
        reply.record(tx, result)
        visit = own_visit(tx, env, info.mdtrt_id, info.psn_no)
        if visit.status != "open":
            raise StateConflict(f"visit {info.mdtrt_id} is {visit.status}: its information "
                                "can no longer change")
        if info.visit_type != visit.visit_type:
            raise InvalidInput("input.mdtrtinfo.med_type", f"a {visit.visit_type} visit cannot "
                               f"become {info.visit_type}; cancel and register again")
        disease = info.dise_codg if visit.visit_type == "chronic" else visit.disease
        if visit.visit_type == "chronic" and disease != visit.disease:
            raise InvalidInput("input.mdtrtinfo.dise_codg", "the chronic disease was fixed at "
                               "registration; cancel and register again to change it")
        tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, med_type=info.med_type)
    return result


def change_admission(t: Treating, env: Any, cmd: Any, reply: Reply) -> dict[str, Any]:
    """2403: correct an open or discharged stay's admission time or medical type (21/28). A new
    admission time is checked again by the insured place (the filing must cover it)."""
    with t.db.tx() as tx:
        visit = _changeable_stay(tx, env, cmd)
    if cmd.med_type is not None and cmd.med_type not in ("21", "28"):
        raise InvalidInput("input.adminfo.med_type", "an inpatient stay is 21 or 28")
    if cmd.begntime is not None and visit.endtime is not None and cmd.begntime > visit.endtime:
        raise InvalidInput("input.adminfo.begntime", "is after the discharge")
    changes: dict[str, Any] = {}
    if cmd.begntime is not None and cmd.begntime != visit.begntime:
        t.insured.call(visit.insuplc_admdvs, "change_visit", env.msgid,
                       {"mdtrt_id": visit.mdtrt_id, "begntime": cmd.begntime.isoformat()})
        changes["begntime"] = cmd.begntime
    if cmd.med_type is not None:
        changes["med_type"] = cmd.med_type
    result = {"mdtrt_id": cmd.mdtrt_id, "changed": sorted(changes)}
    with t.db.tx() as tx:
        reply.record(tx, result)
        if changes:
            _changeable_stay(tx, env, cmd)
            tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, **changes)
    return result


def _changeable_stay(tx: UnitOfWork, env: Any, cmd: Any) -> Any:
    visit = own_visit(tx, env, cmd.mdtrt_id, cmd.psn_no)
    if visit.visit_type != "inpatient" or visit.status not in ("open", "discharged"):
        raise StateConflict(f"visit {cmd.mdtrt_id} is not an open inpatient stay")
    return visit


def discharge(t: Treating, env: Any, cmd: Any, reply: Reply) -> dict[str, Any]:
    """2402: discharge; the stay can then be settled (2304)."""
    result = {"mdtrt_id": cmd.mdtrt_id}
    with t.db.tx() as tx:
        reply.record(tx, result)
        visit = own_visit(tx, env, cmd.mdtrt_id, cmd.psn_no)
        if visit.visit_type != "inpatient" or visit.status != "open":
            raise StateConflict(f"visit {cmd.mdtrt_id} is not an open inpatient stay")
        if cmd.endtime < visit.begntime:
            raise InvalidInput("input.dscginfo.endtime", "is before the admission")
        tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, status="discharged",
                  endtime=cmd.endtime)
    return result


def cancel_discharge(t: Treating, env: Any, mdtrt_id: str, psn_no: str, reply: Reply
                     ) -> dict[str, Any]:
    """2405: back to an open stay (not after settlement)."""
    result = {"mdtrt_id": mdtrt_id}
    with t.db.tx() as tx:
        reply.record(tx, result)
        visit = own_visit(tx, env, mdtrt_id, psn_no)
        if visit.status != "discharged":
            raise StateConflict(f"visit {mdtrt_id} is {visit.status}, not discharged")
        tx.change("visits", {"mdtrt_id": mdtrt_id}, status="open", endtime=None)
    return result


def upload_fees(t: Treating, env: Any, upload: Any, reply: Reply) -> list[dict[str, Any]]:
    """2204/2301: classify each line by this province's catalogue (就医地目录) and store it."""
    with t.db.tx() as tx:
        visit = own_visit(tx, env, upload.mdtrt_id, upload.psn_no)
        if visit.status not in ("open", "discharged"):
            raise StateConflict(f"visit {visit.mdtrt_id} is {visit.status}: no more fees")
        inst = tx.one("institutions", fixmedins_code=visit.fixmedins_code)
        person = visit.person or {}
        ctx = LineContext(visit.visit_type, inst.level, str(person.get("gend", "")),
                          _age(person.get("brdy"), visit.begntime.date()))
        rows, results = [], []
        uploaded = {r.feedetl_sn for r in tx.rows("fee_details", mdtrt_id=visit.mdtrt_id)}
        for i, line in enumerate(upload.lines):
            if line.feedetl_sn in uploaded:
                raise InvalidInput(f"input.feedetail[{i}].feedetl_sn",
                                   f"{line.feedetl_sn} was already uploaded for this visit")
            fee = t.catalogue.classify(line.med_list_codg, line.pric, line.cnt,
                                       line.fee_ocur_time.date(), ctx, line.med_list_name or "")
            entry = t.catalogue.entry(line.med_list_codg, line.fee_ocur_time.date())
            priced = price_line(fee)
            row = {"mdtrt_id": visit.mdtrt_id, "feedetl_sn": line.feedetl_sn,
                   "chrg_bchno": line.chrg_bchno or "", "med_list_codg": line.med_list_codg,
                   "medins_list_codg": line.medins_list_codg, "name": fee.name,
                   "pric": str(line.pric), "cnt": str(line.cnt), "cls": fee.cls,
                   "chrgitm_lv": entry.chrgitm_lv if entry else "03",
                   "selfpay_prop": str(fee.selfpay_prop),
                   "lmt_pric": None if fee.cap_price is None else str(fee.cap_price),
                   "restricted_ok": fee.restricted_ok, "amt": priced.amt,
                   "full_amt": priced.full, "over_amt": priced.over, "pre_amt": priced.pre,
                   "inscp_amt": priced.inscp,
                   "fee_ocur_time": line.fee_ocur_time, "status": "active", "setl_id": None}
            rows.append(row)
            results.append(row | {"med_chrgitm_type": entry.med_chrgitm_type if entry else ""})
        reply.record(tx, results)
        tx.add_many("fee_details", rows)
    return results


def _age(brdy: str | None, on: date) -> int:
    if not brdy:
        return 0
    born = date.fromisoformat(brdy)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def cancel_fees(t: Treating, env: Any, cmd: Any, reply: Reply) -> dict[str, Any]:
    """2205/2302: cancel unsettled fee details (a batch, one line, or "0000" for all)."""
    with t.db.tx() as tx:
        visit = own_visit(tx, env, cmd.mdtrt_id, cmd.psn_no)
        lines = [r for r in tx.rows("fee_details", mdtrt_id=visit.mdtrt_id)
                 if r.status == "active" and r.setl_id is None and (
                     cmd.everything or r.chrg_bchno == cmd.chrg_bchno
                     or r.feedetl_sn == cmd.feedetl_sn)]
        if not lines:
            raise NotFound("no unsettled fee details match")
        reply.record(tx, {"cancelled": len(lines)})
        for line in lines:
            tx.change("fee_details", {"mdtrt_id": line.mdtrt_id, "feedetl_sn": line.feedetl_sn},
                      status="cancelled")
    return {"cancelled": len(lines)}
