"""The insured place's money (参保地): pre-settle, settle, cancel, reversal, accumulators.

Each function runs inside one transaction of the insured node on behalf of `caller`, the
treating province (or "hub" for the operators' reconciliation), and only for what it owns: a
visit it registered, a settlement of its institution. A settlement's accumulator change, its
record, its ledger entry and (in insured_ops) the stored answer commit together.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from medsettle.core import codes
from medsettle.core.benefits import Person, Visit, settle
from medsettle.core.calendar import business_date
from medsettle.core.errors import Forbidden, InvalidInput, NotFound, StateConflict
from medsettle.core.records import (
    InsuredVisit,
    Role,
    SettlementKind,
    SettlementRecord,
    SettlementStatus,
    VisitStatus,
)
from medsettle.services.exchange import (
    AccumulatorsOfYear,
    Cancelled,
    CancelSettlement,
    Computed,
    Indexed,
    Reverse,
    Reversed,
    SettleVisit,
)
from medsettle.services.insured import (
    check_institution,
    check_treating,
    class_of,
    identity,
    own_visit,
    person,
)
from medsettle.services.insured import policy_of as _policy
from medsettle.services.ledger import book_settlement
from medsettle.services.ports import UnitOfWork as Tx
from medsettle.services.supervision_realtime import screen

logger = logging.getLogger(__name__)
SETTLE_INFNOS = ("2207", "2304")
#: The body hash of a tombstone: a settle reversed (冲正), before it arrived or after.
TOMBSTONE = "reversed-before-arrival"


def message_key(caller: str, msgid: str, institution: str | None = None) -> str:
    """The insured node's message-log key of a caller's msgid: msgids are unique per sender,
    and one institution's msgid never touches another's."""
    return f"{caller}:{institution or ''}:{msgid}"


def compute(tx: Tx, book: Any, req: SettleVisit, *, persist: bool, now: datetime,
            caller: str, msgid: str) -> Computed:
    """Pre-settle (persist False) or settle (True): the insured place's policy on the lines,
    on its own business date. Only the institution that registered the visit may settle it."""
    # A settle holds the person named before it reads the visit: another settle of the same
    # visit (another msgid) that held it first has settled it by now, and this one is refused.
    held = tx.lock_person(req.person_id) if persist else None
    visit = own_visit(tx, req.visit_id, caller)
    _check_settleable(visit, req)  # the person named is the visit's
    row = held if held is not None else person(tx, visit.person_id)
    if codes.province_of(req.insured_region) != codes.province_of(row.insu_admdvs):
        raise InvalidInput("insured_region", f"{req.insured_region} is not where the person is "
                                             "insured: the settlement is indexed and cleared "
                                             "under it")
    on = business_date(now)
    policy = _policy(book, row, on)
    cls = class_of(tx, row, policy, visit.treating_region, visit.begins.date(), visit.emergency)
    warnings = screen(tx, visit, row, req, now, persist=persist, settlement_id=req.settlement_id)
    year = policy.medical_year(on)
    scheme = codes.scheme_of_insutype(row.insutype)
    result = settle(policy, Person(
        scheme=scheme, category=codes.category_of_psn_type(row.psn_type), benefit_class=cls,
        acc=tx.accumulators(row.psn_no, year), cvlserv=row.cvlserv,
        maf_category=row.maf_category, chronic_certified=frozenset(row.chronic_certified or []),
        use_acct=req.use_account, contribution_tier=row.contribution_tier), Visit(
        type=visit.visit_type, level=req.level, setl_date=on, lines=req.lines,  # type: ignore[arg-type]
        disease=req.disease, emergency=visit.emergency, dedc_level=req.deductible_level,
        disease_opened=req.disease_opened))
    computed = Computed(
        amounts=result.amounts, balance=result.acc_after.get("acct_balance"),
        benefit_class=cls, policy_id=result.policy_id, medical_year=year, scheme=scheme,
        identity=identity(row), steps=tuple(step.code for step in result.steps),
        warnings=warnings, policy_hash=result.policy_hash)
    if not persist:
        return computed
    if req.settlement_id is None:
        raise InvalidInput("settlement_id", "a settlement needs its id")
    record = SettlementRecord(
        settlement_id=req.settlement_id, role=Role.INSURED, kind=SettlementKind.SETTLE,
        status=SettlementStatus.SETTLED, visit_id=visit.visit_id, person_id=visit.person_id,
        insured_region=row.insu_admdvs, treating_region=visit.treating_region,
        institution=visit.institution, med_type=visit.med_type, visit_type=visit.visit_type,
        insutype=req.insutype, settled_at=now, medical_year=year, amounts=result.amounts,
        msgid=msgid, balance=computed.balance, policy_id=result.policy_id,
        policy_hash=result.policy_hash, benefit_class=cls, delta={".".join(k): v for k, v in result.delta.items()})
    tx.apply_delta(row.psn_no, year, result.delta)
    tx.add_settlement(record)
    tx.change_insured_visit(visit.visit_id, status=VisitStatus.SETTLED)
    book_settlement(tx, record, now)  # last: it holds the node's ledger chain until commit
    return replace(computed, settlement_id=record.settlement_id, settled_at=now)


def _check_settleable(visit: InsuredVisit, req: SettleVisit) -> None:
    check_institution(visit, req.institution)
    if req.person_id != visit.person_id:
        raise InvalidInput("person_id", f"visit {visit.visit_id} belongs to another person")
    if visit.status is not VisitStatus.OPEN:
        raise StateConflict(f"visit {visit.visit_id} is {visit.status}: it cannot be "
                            "settled again (该就诊已结算，不能重复结算)")


def indexed(record: SettlementRecord) -> Indexed:
    """What the hub indexes of a settlement record."""
    return Indexed(settlement_id=record.settlement_id, kind=record.kind.value,
                   visit_id=record.visit_id, person_id=record.person_id,
                   insured_region=record.insured_region,
                   treating_region=record.treating_region, institution=record.institution,
                   visit_type=record.visit_type, settled_at=record.settled_at,
                   amounts=record.amounts, msgid=record.msgid, cancels=record.cancels)


def cancel_settlement(tx: Tx, req: CancelSettlement, now: datetime, caller: str,
                      msgid: str) -> Cancelled:
    """Cancel (撤销) or reverse (冲正) a settlement: the exact negative, every delta subtracted.
    Only the treating province of the settlement may ask ("hub": the operators'
    reconciliation), and, when it names one, for the institution that settled it. A settlement
    already cancelled answers the cancel that stands (idempotent by settlement), so a treating
    place whose first answer was lost, and whose HIS asks again in a new message, books the
    same cancel instead of keeping the settlement in force."""
    original = tx.settlement(req.settlement_id, Role.INSURED)
    if original is None:
        raise NotFound(f"settlement {req.settlement_id} does not exist at the insured place")
    if caller != "hub":
        check_treating(caller, original.treating_region, f"settlement {original.settlement_id}")
    if req.institution not in (None, original.institution):
        raise Forbidden(f"settlement {original.settlement_id} was not made by "
                        f"{req.institution}")
    tx.lock_person(original.person_id)  # then read again: a concurrent cancel may have won
    original = tx.settlement(req.settlement_id, Role.INSURED)
    if original is None:
        raise StateConflict(f"settlement {req.settlement_id} is already cancelled")
    if original.status is not SettlementStatus.SETTLED:
        return _standing_cancel(tx, original)
    delta = {tuple(path.split(".")): value for path, value in (original.delta or {}).items()}
    tx.accumulators(original.person_id, original.medical_year).reversed(delta)  # refuses < 0
    tx.apply_delta(original.person_id, original.medical_year, delta, sign=-1)
    balance = tx.accumulators(original.person_id, "").get("acct_balance")
    cancel = original.cancel(req.cancel_id, now, balance, msgid)
    tx.add_settlement(cancel)
    tx.mark_settlement(original.settlement_id, Role.INSURED, SettlementStatus.CANCELLED)
    tx.change_insured_visit(original.visit_id, status=VisitStatus.OPEN)
    book_settlement(tx, cancel, now)  # last: it holds the node's ledger chain until commit
    logger.info("settlement cancelled", extra={"setl_id": original.settlement_id,
                                               "msgid": msgid})
    return Cancelled(cancel=indexed(cancel), original=indexed(original), balance=balance)


def _standing_cancel(tx: Tx, original: SettlementRecord) -> Cancelled:
    """The cancel that already stands for `original` (as when it was made)."""
    standing = [r for r in tx.settlements(Role.INSURED, cancels=original.settlement_id)
                if r.kind is SettlementKind.CANCEL]
    if not standing:
        raise StateConflict(f"settlement {original.settlement_id} is already "
                            f"{original.status.value} without a cancel record")
    balance = tx.accumulators(original.person_id, "").get("acct_balance")
    logger.info("settlement already cancelled: the standing cancel answered",
                extra={"setl_id": original.settlement_id, "cancel": standing[0].settlement_id})
    return Cancelled(cancel=indexed(standing[0]), original=indexed(original), balance=balance)


def reverse(tx: Tx, req: Reverse, now: datetime, caller: str, msgid: str) -> Reversed:
    """冲正 by original msgid: undo the settlement or registration it made, if any; idempotent.
    Only a settlement of the caller's province and of the institution named counts. When there
    is none yet, the original is marked reversed (a tombstone in the message log), so a settle
    that arrives late is refused instead of settling a visit the treating place gave up."""
    key = message_key(caller, req.original, req.institution)
    tombstoned = req.original_infno in SETTLE_INFNOS and _tombstone(tx, "settle", key, msgid,
                                                                    now)
    found = [r for r in tx.settlements(Role.INSURED, msgid=req.original)
             if r.kind is SettlementKind.SETTLE]
    settled = [r for r in found if r.institution == req.institution
               and r.treating_region[:2] == caller[:2]]
    if found and not settled:
        raise NotFound(f"message {req.original} settled nothing of {req.institution}")
    if tombstoned:
        return Reversed(False)
    if settled:
        original = settled[0]
        if req.person_id not in (None, original.person_id):
            raise InvalidInput("person_id", f"message {req.original} settled another person")
        tx.lock_person(original.person_id)  # a concurrent reversal may have won: read again
        current = tx.settlement(original.settlement_id, Role.INSURED)
        if current is None or current.status is not SettlementStatus.SETTLED:
            return Reversed(False, already=True)
        return Reversed(True, cancelled=cancel_settlement(
            tx, CancelSettlement(original.settlement_id, req.cancel_id), now, caller, msgid))
    if req.visit_id and req.original_infno in ("2201", "2401"):
        return _reverse_registration(tx, req, caller, key, msgid, now)
    return Reversed(False)


def _reverse_registration(tx: Tx, req: Reverse, caller: str, key: str, msgid: str,
                          now: datetime) -> Reversed:
    """Undo a registration of the caller's institution: its message is marked reversed first
    (waiting for it if it is still in flight), so one that has not arrived is refused when it
    comes late; then the visit it opened, if any, is cancelled. A settled visit is refused."""
    _tombstone(tx, "open_visit", key, msgid, now)
    visit = tx.insured_visit(str(req.visit_id))
    if visit is None or visit.institution != req.institution or (
            visit.treating_region[:2] != caller[:2]):
        return Reversed(False)
    tx.lock_person(visit.person_id)  # then read again: a concurrent settle may have won
    visit = own_visit(tx, visit.visit_id, caller, req.institution)
    if visit.status is VisitStatus.SETTLED:
        raise StateConflict(f"visit {visit.visit_id} is settled: cancel the settlement first")
    if visit.status is not VisitStatus.OPEN:
        return Reversed(False)
    tx.change_insured_visit(visit.visit_id, status=VisitStatus.CANCELLED)
    return Reversed(True, visit_id=visit.visit_id)


def _tombstone(tx: Tx, op: str, key: str, by: str, now: datetime) -> bool:
    """Mark the message reversed in the message log; True if it never arrived. A late
    arrival is then refused, and so is a resend of one that did arrive (the treating place may
    have crashed before it recorded the answer, and its HIS resends the message after
    reversing it): neither gets back a settlement or a visit the reversal undid. On PostgreSQL
    this waits for the message if it is still in flight."""
    kept = tx.keep_answer(op, key, op, TOMBSTONE, {"reversed": True, "by": by}, False, now)
    if kept is None:
        return True
    tx.change("message_log", {"scope": op, "msgid": key}, body_hash=TOMBSTONE,
              response={"reversed": True, "by": by})
    return False


def accumulations(tx: Tx, book: Any, person_id: str, on: date, caller: str
                  ) -> AccumulatorsOfYear:
    """5206: the person's accumulators of the medical year containing `on`, for a province
    where the person has a visit registered (or the insured province itself)."""
    row = person(tx, person_id)
    if caller != row.insu_admdvs[:2] + "0000" and not tx.treated_in(person_id, caller):
        raise Forbidden(f"person {person_id} has no visit in province {caller}")
    year = _policy(book, row, on).medical_year(on)
    return AccumulatorsOfYear(year, tx.accumulators(person_id, year).to_nested())
