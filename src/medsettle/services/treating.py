"""The treating place's side of a visit (就医地): institutions, visits, fee details by its catalogue.

The HIS gateway calls these with typed commands (services/commands). Anything that needs the
insured place goes through `InsuredPort` (this node itself for its own insured, otherwise the
hub) with a typed request (services/exchange). A message's last write transaction records its
answer through `Reply` before it writes, so the answer and the effects commit together.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from medsettle.core import codes
from medsettle.core.calendar import age_on, business_time
from medsettle.core.catalogue import Catalogue, LineContext
from medsettle.core.errors import (
    ChronicNotOpened,
    InstitutionSuspended,
    InvalidInput,
    NotFound,
    PeerUnavailable,
    StateConflict,
)
from medsettle.core.ids import derived_id, reversal_msgid
from medsettle.core.lines import price_line
from medsettle.core.records import StoredLine, TreatedVisit, VisitStatus
from medsettle.services import commands as c
from medsettle.services import exchange as x
from medsettle.services import failpoints
from medsettle.services.ports import Database, Reply, UnitOfWork

logger = logging.getLogger(__name__)


class InsuredPort(Protocol):
    """How the treating place reaches an insured place (typed requests and answers)."""

    def call(self, insured_region: str, op: str, msgid: str, request: object) -> Any: ...

    def locate(self, certno: str) -> str: ...


@dataclass
class Treating:
    """A province node acting as the treating place."""

    db: Database
    region: str  # the province code, e.g. "440000"
    insured: InsuredPort
    catalogue: Catalogue
    #: sign_no → (institution, when last read as signed in): a cache (SIGN_IN_TRUSTED)
    signed_in: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def new_id(self, now: datetime) -> str:
        """A 30-character id: region(6) + local time(14) + 10 random digits."""
        return f"{self.region}{business_time(now):%Y%m%d%H%M%S}{secrets.randbelow(10**10):010d}"

    def message_id(self, origin: c.Origin, purpose: str) -> str:
        """The id of what a message creates (a visit, a settlement, a cancel): the same on every
        retry, so the insured node sees the same request again."""
        return derived_id(self.region, origin.institution, origin.msgid, purpose)


def his_scope(institution: str) -> str:
    """The message-log scope of an institution's HIS messages: msgids are one institution's."""
    return f"his:{institution}"


def institution(tx: UnitOfWork, code: str) -> Any:
    """One of this node's designated institutions, fit to settle directly."""
    inst = tx.one("institutions", fixmedins_code=code)
    if inst is None:
        raise NotFound(f"institution {code} is not a designated institution of this province")
    if inst.suspended:
        raise InstitutionSuspended(suspension_message(tx, inst))
    if not inst.networked:
        raise InstitutionSuspended(f"institution {code} is not networked for direct settlement")
    return inst


def suspension_message(tx: UnitOfWork, inst: Any) -> str:
    """Why and until when a suspended institution is refused: the operator's reason, else the
    credit decision's, and the end of a credit suspension (else: until reinstated)."""
    credit = tx.one("institution_credit", fixmedins_code=inst.fixmedins_code)
    reason = inst.suspension_reason or (credit.reason if credit is not None else "")
    until = credit.suspended_until if credit is not None else None
    return (f"institution {inst.fixmedins_code} is suspended from cross-province direct "
            f"settlement {f'until {until}' if until else 'until it is reinstated'}"
            f"{f' ({reason})' if reason else ''}; the patient claims manual reimbursement")


def sign_in(t: Treating, code: str, operator: str, now: datetime) -> tuple[str, datetime]:
    """9001: a sign-in number the HIS sends in its later messages, and the time of sign-in."""
    sign_no = t.new_id(now)
    with t.db.tx() as tx:
        institution(tx, code)
        tx.add("sign_ins", {"sign_no": sign_no, "fixmedins_code": code,
                            "opter_no": operator, "signed_at": now})
    return sign_no, now


def sign_out(t: Treating, code: str, sign_no: str, now: datetime) -> datetime:
    """9002 (签退): end the institution's sign-in `sign_no`; its later messages are refused.
    A repeated sign-out answers the time of the first (a retry after a lost answer)."""
    with t.db.tx() as tx:
        row = tx.hold("sign_ins", sign_no=sign_no)
        if row is None or row.fixmedins_code != code:
            raise InvalidInput("input.signOut.sign_no",
                               "unknown sign_no for this institution; send the sign_no 9001 "
                               "returned")
        if row.signed_out_at is None:
            tx.change("sign_ins", {"sign_no": sign_no}, signed_out_at=now)
    t.signed_in.pop(sign_no, None)
    return row.signed_out_at or now


#: How long a node trusts a sign-in it has checked without reading it again: a 9002 handled by
#: another process of the node, or committed while this one was checking, is seen within it.
SIGN_IN_TRUSTED = timedelta(seconds=30)


def check_signed_in(t: Treating, sign_no: str | None, code: str, now: datetime) -> None:
    """Every message but 9001 and 9002 carries a sign_no this institution received and has
    not signed out."""
    if not sign_no:
        raise InvalidInput("sign_no", "sign in with 9001 first and send the returned sign_no")
    cached = t.signed_in.get(sign_no)
    if cached is not None and cached[0] == code and now - cached[1] < SIGN_IN_TRUSTED:
        return
    with t.db.read() as tx:
        row = tx.one("sign_ins", sign_no=sign_no)
    if row is None or row.fixmedins_code != code:
        raise InvalidInput("sign_no", "unknown sign_no for this institution; sign in with 9001")
    if row.signed_out_at is not None:
        ended = business_time(row.signed_out_at).strftime("%Y-%m-%d %H:%M:%S")
        raise InvalidInput("sign_no", f"signed out with 9002 at {ended}; sign in again with "
                                      "9001")
    t.signed_in[sign_no] = (code, now)


def insured_region(t: Treating, query: c.LookUpPerson) -> str:
    """Where the person is insured: the e-voucher names it; a card or ID number needs the HIS's
    insuplc_admdvs or the hub's locator index."""
    if query.cert_type == "01":
        return codes.evoucher_admdvs(query.cert_no)
    if query.insured_region:
        return query.insured_region
    number = query.cert_no if query.cert_type == "02" else query.id_number
    if not number:
        raise InvalidInput("insured_region", "send the card's issuing region (insuplc_admdvs)")
    return t.insured.locate(number)


def person_info(t: Treating, query: c.LookUpPerson) -> x.PersonFound:
    """1101: read the credential and ask the insured place for the person."""
    found: x.PersonFound = t.insured.call(insured_region(t, query), "person_info", "",
                                          x.FindPerson(query.cert_type, query.cert_no,
                                                       query.card_sn))
    return found


def _insured_region_of(origin: c.Origin) -> str:
    if not origin.insured_region:
        raise InvalidInput("insured_region", "required with psn_no: take it from 1101 insuinfo")
    return origin.insured_region


def open_visit(t: Treating, cmd: c.Register, *, inpatient: bool, reply: Reply) -> TreatedVisit:
    """2201 register or 2401 admit: the insured place checks insurance and filing, then the
    treating place records the visit. If the insured place cannot answer, the visit is kept,
    marked for manual reimbursement (手工报销), with the node's reversal (冲正) of the
    registration pending: the insured place may still register it late (an open stay there would
    hold the person's filings), so the heartbeat reverses it there once it answers."""
    region = _insured_region_of(cmd.origin)
    visit_id = t.message_id(cmd.origin, "visit")
    with t.db.read() as tx:  # checks: the insert that records the visit repeats them
        reply.check(tx)
        inst = institution(tx, cmd.origin.institution)
        earlier = tx.treated_visit(visit_id)
    if earlier is not None:  # an earlier attempt of this message could not reach the insured
        raise StateConflict(f"visit {visit_id} of this message is marked for manual "
                            f"reimbursement (手工报销): {earlier.manual_reason}")
    visit_type = "inpatient" if inpatient else cmd.visit_type
    disease = cmd.disease if visit_type == "chronic" else None
    if disease is not None and disease not in (inst.chronic_opened or []):
        raise ChronicNotOpened(f"{inst.fixmedins_code} has not opened {disease} for "
                               "cross-province settlement")
    visit = TreatedVisit(
        visit_id=visit_id, person_id=cmd.person_id, insured_region=region,
        institution=inst.fixmedins_code, med_type=cmd.med_type, visit_type=visit_type,
        hospital_no=cmd.hospital_no, begins=cmd.begins, status=VisitStatus.OPEN,
        insutype=cmd.insutype, msgid=cmd.origin.msgid, disease=disease,
        emergency=cmd.emergency)
    request = x.OpenVisit(
        visit_id=visit_id, person_id=cmd.person_id, insutype=cmd.insutype,
        visit_type=visit_type, med_type=cmd.med_type, treating_region=inst.admdvs,
        institution=inst.fixmedins_code, begins=cmd.begins, emergency=cmd.emergency,
        disease=disease, cert_type=cmd.cert_type, cert_no=cmd.cert_no, card_sn=cmd.card_sn)
    try:
        opened: x.VisitOpened = t.insured.call(region, "open_visit", cmd.origin.msgid, request)
    except PeerUnavailable as exc:
        with t.db.tx() as tx:
            tx.add_treated_visit(replace(_manual(visit, str(exc)),
                                         reversal_pending=cmd.origin.msgid))
        logger.warning("visit marked for manual reimbursement, registration reversal pending",
                       extra={"mdtrt_id": visit_id, "msgid": cmd.origin.msgid, "why": str(exc)})
        raise PeerUnavailable(f"{exc}; visit {visit_id} is marked for manual reimbursement "
                              "(手工报销)") from None
    failpoints.reach("visit.after_insured")
    visit = replace(visit, benefit_class=opened.benefit_class, person=opened.identity)
    with t.db.tx() as tx:
        reply.record(tx, visit)
        tx.add_treated_visit(visit)
    return visit


def _manual(visit: TreatedVisit, why: str) -> TreatedVisit:
    return replace(visit, status=VisitStatus.MANUAL, manual_reason=why)


def own_visit(tx: UnitOfWork, ref: c.VisitRef) -> TreatedVisit:
    """A visit of the sender's institution and of this person, or a clear error."""
    visit = tx.treated_visit(ref.visit_id)
    if visit is None or visit.institution != ref.origin.institution:
        raise NotFound(f"visit {ref.visit_id} is not a visit of {ref.origin.institution}")
    if visit.person_id != ref.person_id:
        raise InvalidInput("person_id", f"visit {ref.visit_id} belongs to another person")
    if ref.inpatient is not None and (visit.visit_type == "inpatient") != ref.inpatient:
        kind = "an inpatient stay" if visit.visit_type == "inpatient" else "an outpatient visit"
        raise InvalidInput("infno", f"this transaction does not apply to visit {ref.visit_id}, "
                                    f"which is {kind}")
    return visit


def cancel_visit(t: Treating, ref: c.VisitRef, reply: Reply) -> dict[str, Any]:
    """2202/2404: cancel a registration or admission that has no settlement (2202 names the
    hospital's own visit number too, which must match)."""
    result = {"visit_id": ref.visit_id, "cancelled": True}
    with t.db.tx() as tx:
        reply.check(tx)
        visit = _cancellable(tx, ref)
        if visit.status is VisitStatus.CANCELLED:
            reply.record(tx, result)
            return result
    pending: dict[str, Any] = {}
    if visit.status is VisitStatus.MANUAL:
        pending = _reverse_manual_registration(t, visit)
    else:
        t.insured.call(visit.insured_region, "cancel_visit", ref.origin.msgid,
                       x.CancelVisit(ref.visit_id, ref.origin.institution))
    with t.db.tx() as tx:
        reply.record(tx, result)
        _cancellable(tx, ref)
        tx.change_treated_visit(ref.visit_id, status=VisitStatus.CANCELLED, **pending)
        tx.cancel_fee_lines(ref.visit_id, [line.serial for line in
                                           tx.fee_lines(visit_id=ref.visit_id)])
    return result


def _reverse_manual_registration(t: Treating, visit: TreatedVisit) -> dict[str, Any]:
    """A visit marked manual at registration (the insured place did not answer) may still have
    been registered there, late: reverse (冲正) the registration there, which also refuses it if
    it has not arrived yet. If the insured place cannot be reached, the visit keeps the
    reversal pending (the changes returned) and the heartbeat sends it until it is done.
    The reversal is the same message as the one queued when the visit was marked (and maybe
    sent already by the heartbeat): the insured place answers a repeat as it did the first."""
    msgid, request = node_reversal(t, visit, visit.msgid)
    try:
        t.insured.call(visit.insured_region, "reverse", msgid, request)
    except PeerUnavailable as exc:
        logger.warning("registration reversal pending: the insured place did not answer",
                       extra={"mdtrt_id": visit.visit_id, "msgid": visit.msgid, "why": str(exc)})
        return {"reversal_pending": visit.msgid}
    return {"reversal_pending": None, "reversal_attempts": 0, "reversal_next_at": None}


def node_reversal(t: Treating, visit: TreatedVisit, original: str) -> tuple[str, x.Reverse]:
    """The node's own reversal (冲正) of the visit's message `original`: its registration (when
    `original` is the visit's msgid) or a settle. Its msgid and cancel id are derived from the
    original msgid, the same on every attempt, so the insured place recognises a retry."""
    msgid = reversal_msgid(t.region, visit.institution, original)
    infno = ("2401" if visit.visit_type == "inpatient" else "2201") if (
        original == visit.msgid) else "2207"
    return msgid, x.Reverse(
        original=original, original_infno=infno,
        cancel_id=derived_id(t.region, visit.institution, msgid, "reverse"),
        institution=visit.institution, person_id=visit.person_id, visit_id=visit.visit_id)


def _cancellable(tx: UnitOfWork, ref: c.VisitRef) -> TreatedVisit:
    visit = own_visit(tx, ref)
    if visit.status is VisitStatus.SETTLED:
        raise StateConflict(f"visit {ref.visit_id} is settled: cancel the settlement first")
    if ref.hospital_no is not None and ref.hospital_no != visit.hospital_no:
        raise InvalidInput("hospital_no", f"{ref.hospital_no} is not the hospital number of "
                                          f"visit {ref.visit_id}")
    return visit


def update_visit(t: Treating, cmd: c.UpdateVisit, reply: Reply) -> dict[str, Any]:
    """2203: the visit's medical type and disease (a chronic visit's disease code)."""
    result = {"visit_id": cmd.visit.visit_id}
    with t.db.tx() as tx:
        reply.record(tx, result)
        visit = own_visit(tx, cmd.visit)
        if visit.status is not VisitStatus.OPEN:
            raise StateConflict(f"visit {visit.visit_id} is {visit.status}: its information "
                                "can no longer change")
        if cmd.visit_type != visit.visit_type:
            raise InvalidInput("med_type", f"a {visit.visit_type} visit cannot become "
                                           f"{cmd.visit_type}; cancel and register again")
        if visit.visit_type == "chronic" and cmd.disease != visit.disease:
            raise InvalidInput("disease", "the chronic disease was fixed at registration; "
                                          "cancel and register again to change it")
        tx.change_treated_visit(visit.visit_id, med_type=cmd.med_type)
    return result


def change_admission(t: Treating, cmd: c.ChangeAdmission, reply: Reply) -> dict[str, Any]:
    """2403: correct an open or discharged stay's admission time or medical type (21/28). A new
    admission time is checked again by the insured place (the filing must cover it)."""
    with t.db.tx() as tx:
        reply.check(tx)
        visit = _changeable_stay(tx, cmd.visit)
    if cmd.med_type is not None and cmd.med_type not in ("21", "28"):
        raise InvalidInput("med_type", "an inpatient stay is 21 or 28")
    if cmd.begins is not None and visit.ends is not None and cmd.begins > visit.ends:
        raise InvalidInput("begins", "is after the discharge")
    changes: dict[str, Any] = {}
    if cmd.begins is not None and cmd.begins != visit.begins:
        t.insured.call(visit.insured_region, "change_visit", cmd.visit.origin.msgid,
                       x.ChangeVisit(visit.visit_id, cmd.begins, visit.institution))
        changes["begins"] = cmd.begins
    if cmd.med_type is not None:
        changes["med_type"] = cmd.med_type
    result = {"visit_id": visit.visit_id, "changed": sorted(changes)}
    with t.db.tx() as tx:
        reply.record(tx, result)
        if changes:
            _changeable_stay(tx, cmd.visit)
            tx.change_treated_visit(visit.visit_id, **changes)
    return result


def _changeable_stay(tx: UnitOfWork, ref: c.VisitRef) -> TreatedVisit:
    visit = own_visit(tx, ref)
    if visit.visit_type != "inpatient" or visit.status not in (VisitStatus.OPEN,
                                                              VisitStatus.DISCHARGED):
        raise StateConflict(f"visit {ref.visit_id} is not an open inpatient stay")
    return visit


def discharge(t: Treating, cmd: c.Discharge, reply: Reply) -> dict[str, Any]:
    """2402: discharge; the stay can then be settled (2304)."""
    result = {"visit_id": cmd.visit.visit_id}
    with t.db.tx() as tx:
        reply.record(tx, result)
        visit = own_visit(tx, cmd.visit)
        if visit.visit_type != "inpatient" or visit.status is not VisitStatus.OPEN:
            raise StateConflict(f"visit {visit.visit_id} is not an open inpatient stay")
        if cmd.ends < visit.begins:
            raise InvalidInput("ends", "is before the admission")
        tx.change_treated_visit(visit.visit_id, status=VisitStatus.DISCHARGED, ends=cmd.ends)
    return result


def cancel_discharge(t: Treating, ref: c.VisitRef, reply: Reply) -> dict[str, Any]:
    """2405: back to an open stay (not after settlement)."""
    result = {"visit_id": ref.visit_id}
    with t.db.tx() as tx:
        reply.record(tx, result)
        visit = own_visit(tx, ref)
        if visit.status is not VisitStatus.DISCHARGED:
            raise StateConflict(f"visit {ref.visit_id} is {visit.status}, not discharged")
        tx.change_treated_visit(ref.visit_id, status=VisitStatus.OPEN, ends=None)
    return result


@dataclass(frozen=True)
class Classified:
    """A fee line as stored, with the catalogue's charge category (医疗收费项目类别)."""

    line: StoredLine
    charge_type: str


def upload_fees(t: Treating, cmd: c.UploadFees, reply: Reply) -> list[Classified]:
    """2204/2301: classify each line by this province's catalogue (就医地目录) and store it."""
    with t.db.tx() as tx:
        visit = own_visit(tx, cmd.visit)
        if visit.status not in (VisitStatus.OPEN, VisitStatus.DISCHARGED):
            raise StateConflict(f"visit {visit.visit_id} is {visit.status}: no more fees")
        inst = tx.one("institutions", fixmedins_code=visit.institution)
        who = visit.person
        ctx = LineContext(visit.visit_type, inst.level, who.gender if who else "",
                          age_on(who.birth_date, visit.begins.date()) if who else 0)
        uploaded = {line.serial for line in tx.fee_lines(visit_id=visit.visit_id)}
        results = [_classify(t, visit.visit_id, line, i, uploaded, ctx)
                   for i, line in enumerate(cmd.lines)]
        reply.record(tx, results)
        tx.add_fee_lines([r.line for r in results])
    return results


def _classify(t: Treating, visit_id: str, line: c.UploadedLine, i: int, uploaded: set[str],
              ctx: LineContext) -> Classified:
    if line.serial in uploaded:
        raise InvalidInput(f"lines[{i}].serial", f"{line.serial} was already uploaded for "
                                                 "this visit")
    on = line.occurred_at.date()
    fee = t.catalogue.classify(line.code, line.price, line.count, on, ctx, line.name)
    entry = t.catalogue.entry(line.code, on)
    priced = price_line(fee)
    return Classified(StoredLine(
        visit_id=visit_id, serial=line.serial, batch=line.batch, code=line.code,
        hospital_code=line.hospital_code, name=fee.name, price=line.price, count=line.count,
        cls=fee.cls, level=entry.chrgitm_lv if entry else "03",
        selfpay_prop=fee.selfpay_prop, cap_price=fee.cap_price,
        restricted_ok=fee.restricted_ok, amount=priced.amt, full_self_paid=priced.full,
        over_cap=priced.over, preselfpay=priced.pre, in_scope=priced.inscp,
        occurred_at=line.occurred_at), entry.med_chrgitm_type if entry else "")


def cancel_fees(t: Treating, cmd: c.CancelFees, reply: Reply) -> dict[str, Any]:
    """2205/2302: cancel unsettled fee details (a batch, one line, or "0000" for all)."""
    with t.db.tx() as tx:
        visit = own_visit(tx, cmd.visit)
        lines = [line for line in tx.fee_lines(visit_id=visit.visit_id)
                 if line.active and line.settlement_id is None and (
                     cmd.everything or line.batch == cmd.batch or line.serial == cmd.serial)]
        if not lines:
            raise NotFound("no unsettled fee details match")
        result = {"cancelled": len(lines)}
        reply.record(tx, result)
        tx.cancel_fee_lines(visit.visit_id, [line.serial for line in lines])
    return result
