"""The insured place's side of a cross-province visit (参保地): person, filing check, money.

Each function runs inside one transaction of the insured node (`tx`) and is idempotent by the
message id it is given: the stored answer is returned for a repeat. The treating place sends
classified lines; the insured place applies its own policy and accumulators
(就医地目录, 参保地政策).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from medsettle.core import codes
from medsettle.core.benefits import AMOUNT_FIELDS, Amounts, Person, Visit, settle
from medsettle.core.calendar import business_date
from medsettle.core.errors import (
    ChronicDiseaseNotCovered,
    ChronicNotCertified,
    Forbidden,
    InvalidInput,
    NotFound,
    StateConflict,
    UnsupportedScheme,
)
from medsettle.core.filing import benefit_class
from medsettle.core.policy import ParameterSet, PolicyBook
from medsettle.services.ledger import post_settlement
from medsettle.services.ports import UnitOfWork as Tx
from medsettle.services.records import filing_from_row, line_from_payload

logger = logging.getLogger(__name__)


def find_person(tx: Tx, cert_type: str, cert_no: str, card_sn: str | None = None) -> Any:
    """The insured person a credential names (e-voucher token, ID number or card number)."""
    column = {"01": "evoucher", "02": "certno", "03": "card_no"}.get(cert_type)
    if column is None:
        raise InvalidInput("mdtrt_cert_type", f"must be 01, 02 or 03, not {cert_type!r}")
    row = tx.one("persons", **{column: cert_no})
    if row is None or (cert_type == "03" and card_sn and row.card_sn != card_sn):
        raise NotFound("mdtrt_cert_no: no insured person matches this credential at the "
                       "insured place")
    return row


def person_info(tx: Tx, book: PolicyBook, query: Mapping[str, Any], on: date) -> dict[str, Any]:
    """1101 at the insured place: base info, insurance (with the account balance) and identities."""
    row = find_person(tx, query["cert_type"], query["cert_no"], query.get("card_sn"))
    balance = tx.accumulators(row.psn_no, "").get("acct_balance")
    age = on.year - row.brdy.year - ((on.month, on.day) < (row.brdy.month, row.brdy.day))
    identities = [] if not row.maf_category else [
        {"psn_idet_type": row.maf_category, "psn_type_lv": "", "memo": "医疗救助对象",
         "begntime": None, "endtime": None}]
    return {
        "baseinfo": {"psn_no": row.psn_no, "psn_cert_type": "01", "certno": row.certno,
                     "psn_name": row.psn_name, "gend": row.gend, "naty": "01",
                     "brdy": row.brdy.isoformat(), "age": age},
        "insuinfo": [{"balc": balance, "insutype": row.insutype, "psn_type": row.psn_type,
                      "psn_insu_stas": "1" if row.insurance_active else "0",
                      "psn_insu_date": None, "paus_insu_date": None,
                      "cvlserv_flag": "1" if row.cvlserv else "0",
                      "insuplc_admdvs": row.insu_admdvs, "emp_name": row.emp_name}],
        "idetinfo": identities,
    }


def check_treating(caller: str, mdtrtarea_admvs: str, what: str) -> None:
    """Only the province that treats a visit (its caller, as the hub names it) may act on it."""
    if caller[:2] != mdtrtarea_admvs[:2]:
        raise Forbidden(f"{what} is not treated in province {caller}")


def _own_visit(tx: Tx, mdtrt_id: str, caller: str) -> Any:
    """The visit of this node's insured person that the caller's province registered."""
    visit = tx.one("insured_visits", mdtrt_id=mdtrt_id)
    if visit is None:
        raise NotFound(f"visit {mdtrt_id} was not registered at the insured place")
    check_treating(caller, visit.mdtrtarea_admvs, f"visit {mdtrt_id}")
    return visit


def _policy(book: PolicyBook, person: Any, on: date) -> ParameterSet:
    return book.find(person.insu_admdvs, codes.scheme_of_insutype(person.insutype), on)


def _class_of(tx: Tx, person: Any, policy: ParameterSet, institution_admdvs: str, on: date,
              emergency: bool) -> str:
    """The benefit class of a visit from the person's stored filings (domain.md §3)."""
    if person.direct_settlement_barred:
        raise UnsupportedScheme("the person is terminated from cross-province direct settlement")
    filings = [filing_from_row(r._mapping) for r in tx.rows("filings", psn_no=person.psn_no)]
    return str(benefit_class(filings, insu_admdvs=person.insu_admdvs,
                             institution_admdvs=institution_admdvs, on=on, emergency=emergency,
                             rules=policy.filing))


def open_visit(tx: Tx, book: PolicyBook, req: Mapping[str, Any], caller: str) -> dict[str, Any]:
    """Admission or registration: check insurance, filing and chronic certification; record it.
    Only for a visit in the caller's own province."""
    check_treating(caller, req["mdtrtarea_admvs"], f"visit {req['mdtrt_id']}")
    person = tx.one("persons", psn_no=req["psn_no"])
    if person is None:
        raise NotFound(f"person {req['psn_no']} is not insured here")
    identity = {"psn_name": person.psn_name, "certno": person.certno, "gend": person.gend,
                "brdy": person.brdy.isoformat(), "psn_type": person.psn_type,
                "insutype": person.insutype}
    existing = tx.one("insured_visits", mdtrt_id=req["mdtrt_id"])
    if existing is not None:
        check_treating(caller, existing.mdtrtarea_admvs, f"visit {existing.mdtrt_id}")
        if existing.psn_no != person.psn_no:
            raise InvalidInput("psn_no", f"visit {existing.mdtrt_id} belongs to another person")
        return {"benefit_class": existing.benefit_class, "mdtrt_id": existing.mdtrt_id,
                **identity}
    if not person.insurance_active:
        raise UnsupportedScheme("the person's insurance is not active (参保状态异常)")
    if req.get("cert_type"):
        shown = find_person(tx, req["cert_type"], req["cert_no"], req.get("card_sn"))
        if shown.psn_no != person.psn_no:
            raise InvalidInput("mdtrt_cert_no", "the credential shown belongs to another person")
    begin: datetime = req["begntime"]
    policy = _policy(book, person, begin.date())
    cls = _class_of(tx, person, policy, req["mdtrtarea_admvs"], begin.date(), req["emergency"])
    if req["visit_type"] == "chronic":
        _check_chronic(policy, person, req.get("disease"))
    tx.add("insured_visits", {
        "mdtrt_id": req["mdtrt_id"], "psn_no": person.psn_no,
        "mdtrtarea_admvs": req["mdtrtarea_admvs"], "fixmedins_code": req["fixmedins_code"],
        "visit_type": req["visit_type"], "med_type": req["med_type"], "begntime": begin,
        "status": "open", "benefit_class": cls, "emergency": req["emergency"]})
    return {"benefit_class": cls, "mdtrt_id": req["mdtrt_id"], **identity}


def _check_chronic(policy: ParameterSet, person: Any, disease: str | None) -> None:
    if disease is None:
        raise InvalidInput("dise_codg", "a chronic-disease visit must name its disease code")
    chronic = policy.benefits.get("chronic")
    if chronic is None or disease not in chronic.diseases:
        raise ChronicDiseaseNotCovered(f"{disease} is not a 门诊慢特病 of the insured place")
    if disease not in (person.chronic_certified or []):
        raise ChronicNotCertified(f"the person is not certified for {disease}")


def change_visit(tx: Tx, book: PolicyBook, req: Mapping[str, Any], caller: str
                 ) -> dict[str, Any]:
    """2403 at the insured place: a corrected admission time, accepted only if the person's
    filings still give the stay a benefit class."""
    visit = _own_visit(tx, req["mdtrt_id"], caller)
    if visit.status != "open":
        raise StateConflict(f"visit {req['mdtrt_id']} is {visit.status}")
    person = tx.one("persons", psn_no=visit.psn_no)
    begin: datetime = req["begntime"]
    policy = _policy(book, person, begin.date())
    cls = _class_of(tx, person, policy, visit.mdtrtarea_admvs, begin.date(), visit.emergency)
    tx.change("insured_visits", {"mdtrt_id": visit.mdtrt_id}, begntime=begin,
              benefit_class=cls)
    return {"mdtrt_id": visit.mdtrt_id, "benefit_class": cls}


def cancel_visit(tx: Tx, req: Mapping[str, Any], caller: str) -> dict[str, Any]:
    """Cancel a registration or admission that has no settlement."""
    visit = tx.one("insured_visits", mdtrt_id=req["mdtrt_id"])
    if visit is None:
        return {"cancelled": False}
    check_treating(caller, visit.mdtrtarea_admvs, f"visit {visit.mdtrt_id}")
    if visit.status == "settled":
        raise StateConflict("the visit has a settlement: cancel the settlement first")
    tx.change("insured_visits", {"mdtrt_id": visit.mdtrt_id}, status="cancelled")
    return {"cancelled": True}


def compute(tx: Tx, book: PolicyBook, req: Mapping[str, Any], *, persist: bool,
            now: datetime, caller: str) -> dict[str, Any]:
    """Pre-settle (persist False) or settle (True): the insured place's policy on the lines, on
    its own business date. Only the institution that registered the visit may settle it."""
    visit_row = _own_visit(tx, req["mdtrt_id"], caller)
    if req["fixmedins_code"] != visit_row.fixmedins_code:
        raise Forbidden(f"visit {visit_row.mdtrt_id} was not registered by "
                        f"{req['fixmedins_code']}")
    if req["psn_no"] != visit_row.psn_no:
        raise InvalidInput("psn_no", f"visit {visit_row.mdtrt_id} belongs to another person")
    if visit_row.status != "open":
        raise StateConflict(f"visit {req['mdtrt_id']} is {visit_row.status}: it cannot be "
                            "settled again (该就诊已结算，不能重复结算)")
    person = tx.lock_person(visit_row.psn_no) if persist else tx.one("persons",
                                                                       psn_no=visit_row.psn_no)
    setl_date = business_date(now)
    policy = _policy(book, person, setl_date)
    cls = _class_of(tx, person, policy, visit_row.mdtrtarea_admvs, visit_row.begntime.date(),
                    visit_row.emergency)
    year = policy.medical_year(setl_date)
    acc = tx.accumulators(person.psn_no, year)
    scheme = codes.scheme_of_insutype(person.insutype)
    result = settle(policy, Person(
        scheme=scheme, category=codes.category_of_psn_type(person.psn_type), benefit_class=cls,
        acc=acc, cvlserv=person.cvlserv, maf_category=person.maf_category,
        chronic_certified=frozenset(person.chronic_certified or []),
        use_acct=bool(req["acct_used"])), Visit(
        type=visit_row.visit_type, level=req["level"], setl_date=setl_date,
        lines=tuple(line_from_payload(line) for line in req["lines"]),
        disease=req.get("disease"), emergency=visit_row.emergency,
        dedc_level=req.get("dedc_level"), disease_opened=bool(req.get("disease_opened", True))))
    balance = result.acc_after.get("acct_balance")
    answer = {"amounts": result.amounts.as_dict(), "balc": balance, "benefit_class": cls,
              "policy_id": result.policy_id, "medical_year": year, "scheme": scheme,
              "psn_name": person.psn_name, "certno": person.certno, "gend": person.gend,
              "brdy": person.brdy.isoformat(), "psn_type": person.psn_type,
              "insutype": person.insutype, "cvlserv_flag": "1" if person.cvlserv else "0",
              "steps": [step.code for step in result.steps]}
    if persist:
        tx.apply_delta(person.psn_no, year, result.delta)
        row = _settlement_row(req, visit_row, result.amounts, balance, now, year, cls,
                              result.policy_id, {".".join(k): v for k, v in result.delta.items()})
        tx.add("settlements", row)
        post_settlement(tx, "insured", "settle", req["setl_id"], result.amounts.as_dict(), row,
                        now)
        tx.change("insured_visits", {"mdtrt_id": visit_row.mdtrt_id}, status="settled")
        answer["setl_id"] = req["setl_id"]
        answer["setl_time"] = now.isoformat()
    return answer


def _settlement_row(req: Mapping[str, Any], visit: Any, amounts: Amounts, balance: int,
                    now: datetime, year: str, cls: str, policy_id: str,
                    delta: dict[str, int]) -> dict[str, Any]:
    return {"setl_id": req["setl_id"], "role": "insured", "kind": "settle", "ref_setl_id": None,
            "status": "settled", "mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no,
            "insu_admdvs": req["insu_admdvs"], "mdtrtarea_admvs": visit.mdtrtarea_admvs,
            "fixmedins_code": visit.fixmedins_code, "med_type": visit.med_type,
            "visit_type": visit.visit_type, "insutype": req["insutype"], "setl_time": now,
            "medical_year": year, **amounts.as_dict(), "balc": balance, "policy_id": policy_id,
            "benefit_class": cls, "delta": delta, "msgid": req["msgid"]}


def cancel_settlement(tx: Tx, req: Mapping[str, Any], now: datetime, caller: str
                      ) -> dict[str, Any]:
    """Cancel (撤销) or reverse (冲正) a settlement: the exact negative, every delta subtracted.
    Only the treating province of the settlement may ask ("hub": the operators' reconciliation),
    and, when it names one, for the institution that settled it."""
    original = tx.one("settlements", setl_id=req["setl_id"], role="insured")
    if original is None:
        raise NotFound(f"settlement {req['setl_id']} does not exist at the insured place")
    if caller != "hub":
        check_treating(caller, original.mdtrtarea_admvs, f"settlement {original.setl_id}")
    if req.get("fixmedins_code") not in (None, original.fixmedins_code):
        raise Forbidden(f"settlement {original.setl_id} was not made by {req['fixmedins_code']}")
    tx.lock_person(original.psn_no)  # then read again: a concurrent cancel may have won
    original = tx.one("settlements", setl_id=req["setl_id"], role="insured")
    if original.status != "settled":
        raise StateConflict(f"settlement {req['setl_id']} is already {original.status}")
    delta = {tuple(path.split(".")): value for path, value in (original.delta or {}).items()}
    tx.accumulators(original.psn_no, original.medical_year).reversed(delta)  # refuses negatives
    tx.apply_delta(original.psn_no, original.medical_year, delta, sign=-1)
    negated = {name: -getattr(original, name) for name in AMOUNT_FIELDS}
    balance = tx.accumulators(original.psn_no, "").get("acct_balance")
    row = dict(original._mapping) | negated | {
        "setl_id": req["cancel_setl_id"], "kind": "cancel", "ref_setl_id": original.setl_id,
        "status": "settled", "setl_time": now, "balc": balance, "delta": None,
        "msgid": req["msgid"]}
    tx.add("settlements", row)
    post_settlement(tx, "insured", "cancel", req["cancel_setl_id"], negated, row, now)
    tx.change("settlements", {"setl_id": original.setl_id, "role": "insured"}, status="cancelled")
    tx.change("insured_visits", {"mdtrt_id": original.mdtrt_id}, status="open")
    logger.info("settlement cancelled", extra={"setl_id": original.setl_id,
                                               "msgid": req["msgid"]})
    return {"amounts": negated, "balc": balance, "setl_id": req["cancel_setl_id"],
            "ref_setl_id": original.setl_id, "mdtrt_id": original.mdtrt_id,
            "psn_no": original.psn_no, "insu_admdvs": original.insu_admdvs,
            "mdtrtarea_admvs": original.mdtrtarea_admvs,
            "fixmedins_code": original.fixmedins_code, "visit_type": original.visit_type,
            "setl_time": now.isoformat(), "original": settlement_record(original)}


def settlement_record(row: Any) -> dict[str, Any]:
    """What the hub indexes of a settlement: a cancel's answer carries its original, so the
    hub never holds a cancel without the settlement it cancels."""
    return {"setl_id": row.setl_id, "mdtrt_id": row.mdtrt_id, "psn_no": row.psn_no,
            "insu_admdvs": row.insu_admdvs, "mdtrtarea_admvs": row.mdtrtarea_admvs,
            "fixmedins_code": row.fixmedins_code, "visit_type": row.visit_type,
            "setl_time": row.setl_time.isoformat(), "msgid": row.msgid,
            "amounts": {name: getattr(row, name) for name in AMOUNT_FIELDS}}


def reverse(tx: Tx, req: Mapping[str, Any], now: datetime, caller: str) -> dict[str, Any]:
    """冲正 by original msgid: undo the settlement or registration it made, if any; idempotent.
    Only a settlement of the caller's province and of the institution named counts. When there
    is none yet, the original is marked reversed (a tombstone in the message log), so a settle
    that arrives late is refused instead of settling a visit the treating place gave up."""
    tombstoned = req.get("oinfno") in ("2207", "2304") and claim_for_reversal(tx, req, now,
                                                                               caller)
    found = [r for r in tx.rows("settlements", msgid=req["omsgid"], role="insured")
             if r.kind == "settle"]
    settled = [r for r in found if r.fixmedins_code == req["fixmedins_code"]
               and r.mdtrtarea_admvs[:2] == caller[:2]]
    if found and not settled:
        raise NotFound(f"message {req['omsgid']} settled nothing of {req['fixmedins_code']}")
    if tombstoned:
        return {"reversed": False, "already": False}
    if settled and req.get("psn_no") not in (None, settled[0].psn_no):
        raise InvalidInput("psn_no", f"message {req['omsgid']} settled another person")
    if settled:
        tx.lock_person(settled[0].psn_no)  # a concurrent reversal may have won: read again
        if tx.one("settlements", setl_id=settled[0].setl_id, role="insured").status != "settled":
            return {"reversed": False, "already": True, "setl_id": settled[0].setl_id}
        result = cancel_settlement(tx, {"setl_id": settled[0].setl_id,
                                        "cancel_setl_id": req["cancel_setl_id"],
                                        "msgid": req["msgid"]}, now, caller)
        return {"reversed": True, **result}
    if req.get("mdtrt_id") and req.get("oinfno") in ("2201", "2401"):
        visit = tx.one("insured_visits", mdtrt_id=req["mdtrt_id"])
        if visit is not None and visit.status == "open" and (
                visit.fixmedins_code == req["fixmedins_code"]
                and visit.mdtrtarea_admvs[:2] == caller[:2]):
            tx.change("insured_visits", {"mdtrt_id": visit.mdtrt_id}, status="cancelled")
            return {"reversed": True, "mdtrt_id": visit.mdtrt_id}
    return {"reversed": False, "already": False}


#: The body hash of a tombstone: a settle reversed before it arrived.
TOMBSTONE = "reversed-before-arrival"


def message_key(caller: str, msgid: str, fixmedins_code: str | None = None) -> str:
    """The insured node's message-log key of a caller's msgid: msgids are unique per sender,
    and one institution's msgid never touches another's."""
    return f"{caller}:{fixmedins_code or ''}:{msgid}"


def claim_for_reversal(tx: Tx, req: Mapping[str, Any], now: datetime, caller: str) -> bool:
    """Before reversing a settle by its msgid, take that settle's place in the message log with
    a tombstone; True if the settle never arrived (it will be refused if it comes late), False
    if it was processed (on PostgreSQL this waits for a settle still in flight)."""
    key = message_key(caller, req["omsgid"], req["fixmedins_code"])
    return tx.keep_answer("settle", key, "settle", TOMBSTONE,
                          {"reversed_before_arrival": True, "by": req["msgid"]}, False,
                          now) is None


def accumulations(tx: Tx, book: PolicyBook, psn_no: str, on: date, caller: str
                  ) -> dict[str, Any]:
    """5206: the person's accumulators of the medical year containing `on`, for a province
    where the person has a visit registered."""
    person = tx.one("persons", psn_no=psn_no)
    if person is None:
        raise NotFound(f"person {psn_no} is not insured here")
    if caller != person.insu_admdvs[:2] + "0000" and not any(
            v.mdtrtarea_admvs[:2] == caller[:2]
            for v in tx.rows("insured_visits", psn_no=psn_no)):
        raise Forbidden(f"person {psn_no} has no visit in province {caller}")
    year = _policy(book, person, on).medical_year(on)
    return {"year": year, "accumulators": tx.accumulators(psn_no, year).to_nested()}
