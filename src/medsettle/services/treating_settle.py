"""Settlement at the treating place: pre-settle, settle, cancel, reversal, pending reversals.

The treating place sends its classified lines to the insured place, which computes and records
the settlement in one transaction; the treating place then records its side and the answer in
one transaction. The settlement id comes from the msgid, so a retry after a crash between the
two asks the insured place for the same settlement again and gets its stored answer. A settle
whose answer never comes is marked for manual reimbursement and reversed at the insured place
(冲正) as soon as it can be reached.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from medsettle.core.benefits import Amounts
from medsettle.core.errors import (
    InvalidInput,
    MedSettleError,
    NotFound,
    PeerUnavailable,
    StateConflict,
)
from medsettle.core.ids import derived_id
from medsettle.core.lines import FeeLine
from medsettle.core.money import fen_to_yuan
from medsettle.core.records import (
    Identity,
    Role,
    SettlementKind,
    SettlementRecord,
    SettlementStatus,
    StoredLine,
    TreatedVisit,
    VisitStatus,
)
from medsettle.services import commands as c
from medsettle.services import exchange as x
from medsettle.services import failpoints
from medsettle.services.ledger import book_settlement
from medsettle.services.ports import Database, Reply, UnitOfWork
from medsettle.services.replies import AnswerWith
from medsettle.services.treating import (
    Treating,
    cancel_visit,
    his_scope,
    institution,
    node_reversal,
    own_visit,
)

logger = logging.getLogger(__name__)
SETTLE_INFNOS = ("2207", "2304")


@dataclass(frozen=True)
class SettlementView:
    """A settlement, pre-settlement or cancel as the hospital is told it (amounts in fen)."""

    visit: TreatedVisit
    settlement_id: str  # "" for a pre-settlement
    amounts: Amounts
    balance: int
    settled_at: datetime
    scheme: str
    benefit_class: str
    identity: Identity | None
    cancels: str | None = None
    warnings: tuple[str, ...] = ()  # supervision's real-time warnings (the answer's warn_msg)


def settle(t: Treating, cmd: c.Settle, now: datetime, reply: Reply) -> SettlementView:
    """2206/2303 pre-settle and 2207/2304 settle."""
    with t.db.read() as tx:  # the settling transaction checks the visit and lines again
        reply.check(tx)
        visit = own_visit(tx, cmd.visit)
        inst = institution(tx, visit.institution)
        lines = _unsettled_lines(tx, visit.visit_id)
    _check_settleable(visit, lines, cmd)
    settlement_id = t.message_id(cmd.visit.origin, "settle") if cmd.persist else None
    request = x.SettleVisit(
        visit_id=visit.visit_id, person_id=visit.person_id, insutype=visit.insutype,
        visit_type=visit.visit_type, med_type=visit.med_type, level=inst.level,
        institution=inst.fixmedins_code, treating_region=inst.admdvs,
        insured_region=visit.insured_region, lines=tuple(_fee_line(line) for line in lines),
        settlement_id=settlement_id, use_account=cmd.use_account, disease=visit.disease,
        deductible_level=inst.dedc_level,
        disease_opened=visit.disease in (inst.chronic_opened or []) if visit.disease else True)
    msgid = cmd.visit.origin.msgid
    if cmd.persist:
        failpoints.reach("settle.before_insured")
    try:
        answer: x.Computed = t.insured.call(visit.insured_region,
                                            "settle" if cmd.persist else "pre_settle", msgid,
                                            request)
    except PeerUnavailable as exc:
        if not cmd.persist:
            raise
        _mark_for_manual(t, visit.visit_id, msgid, str(exc))
        raise PeerUnavailable(f"{exc}; nothing is settled: visit {visit.visit_id} is marked "
                              "for manual reimbursement (手工报销) and any late settlement is "
                              "reversed (冲正)") from None
    view = SettlementView(visit, settlement_id or "", answer.amounts, answer.balance,
                          answer.settled_at or now, answer.scheme, answer.benefit_class,
                          answer.identity, warnings=answer.warnings)
    if not cmd.persist or settlement_id is None:
        return view
    failpoints.reach("settle.after_insured")
    record = SettlementRecord(
        settlement_id=settlement_id, role=Role.TREATING, kind=SettlementKind.SETTLE,
        status=SettlementStatus.SETTLED, visit_id=visit.visit_id, person_id=visit.person_id,
        insured_region=visit.insured_region, treating_region=inst.admdvs,
        institution=inst.fixmedins_code, med_type=visit.med_type, visit_type=visit.visit_type,
        insutype=visit.insutype, settled_at=view.settled_at, medical_year=answer.medical_year,
        amounts=answer.amounts, msgid=msgid, balance=answer.balance,
        policy_id=answer.policy_id, policy_hash=answer.policy_hash,
        benefit_class=answer.benefit_class, invoice_no=cmd.invoice_no)
    if not _keep_settlement(t, reply, view, record, [line.serial for line in lines], now):
        raise _undo_unkept_settle(t, visit, msgid)
    failpoints.reach("settle.after_commit")
    return view


class _Unkept(Exception):
    """The visit or its lines changed since they were read: roll the settlement back."""


def _keep_settlement(t: Treating, reply: Reply, view: SettlementView, record: SettlementRecord,
                     serials: list[str], now: datetime) -> bool:
    """Record the treating place's side of a settlement and its answer in one transaction;
    False, with nothing kept, if the visit or its lines changed since they were read (another
    message from another terminal: 2205 cancelled the lines, 2202/2404 the visit, …)."""
    try:
        with t.db.tx() as tx:
            reply.record(tx, view)
            if not tx.settle_treated_visit(record.visit_id, serials, record.settlement_id):
                raise _Unkept
            tx.add_settlement(record)
            book_settlement(tx, record, now)  # last: it holds the ledger chain until commit
    except _Unkept:
        return False
    return True


def _undo_unkept_settle(t: Treating, visit: TreatedVisit, msgid: str) -> StateConflict:
    """The insured place settled what the treating place could not record: reverse it there
    (冲正) at once, or, if that fails, mark the visit as a settle whose reversal the node sends
    until it is done (as for a settle that went unanswered). The refusal says which."""
    reversal, request = node_reversal(t, visit, msgid)
    try:
        t.insured.call(visit.insured_region, "reverse", reversal, request)
    except MedSettleError as exc:
        _mark_for_manual(t, visit.visit_id, msgid, "the visit or its fee lines changed while "
                         "it was settled; the insured place's settlement awaits reversal: "
                         f"[{exc.code}] {exc}")
        return StateConflict("nothing settled: the visit or its fee lines changed meanwhile; "
                             "the node reverses (冲正) the insured place's settlement when it "
                             "answers; visit marked for 手工报销")
    logger.warning("settle reversed at the insured place: the treating place could not record "
                   "it", extra={"mdtrt_id": visit.visit_id, "msgid": msgid,
                                "reversal_msgid": reversal})
    return StateConflict("nothing settled: the visit or its fee lines changed meanwhile, so "
                         "the insured place's settlement was reversed (冲正); query the visit "
                         "(5201) and settle again")


def _fee_line(line: StoredLine) -> FeeLine:
    return FeeLine(cls=line.cls, price=line.price, count=line.count,  # type: ignore[arg-type]
                   selfpay_prop=line.selfpay_prop, cap_price=line.cap_price,
                   restricted_ok=line.restricted_ok, code=line.code)


def _unsettled_lines(tx: UnitOfWork, visit_id: str) -> list[StoredLine]:
    return [line for line in tx.fee_lines(visit_id=visit_id)
            if line.active and line.settlement_id is None]


def _check_settleable(visit: TreatedVisit, lines: list[StoredLine], cmd: c.Settle) -> None:
    if visit.status is VisitStatus.SETTLED:
        raise StateConflict(f"该就诊已结算，不能重复结算: visit {visit.visit_id} is settled")
    if visit.status not in (VisitStatus.OPEN, VisitStatus.DISCHARGED):
        raise StateConflict(f"visit {visit.visit_id} is {visit.status}")
    if visit.manual:
        raise StateConflict(f"visit {visit.visit_id} is marked for manual reimbursement "
                            f"(手工报销): {visit.manual_reason}")
    if (visit.visit_type == "inpatient") != cmd.inpatient:
        raise InvalidInput("infno", f"visit {visit.visit_id} is {visit.visit_type}: use "
                                    f"{'2303/2304' if not cmd.inpatient else '2206/2207'}")
    if cmd.inpatient and cmd.persist and visit.status is not VisitStatus.DISCHARGED and (
            not cmd.interim):
        raise StateConflict("discharge the patient (2402) before settling, or send "
                            "mid_setl_flag 1 for an interim settlement")
    if not lines:
        raise InvalidInput("visit_id", "no fee details to settle: upload them first")
    total = sum(line.amount for line in lines)
    if cmd.total != total:
        raise InvalidInput("total", f"¥{fen_to_yuan(cmd.total)} does not match the uploaded "
                                    f"fee details ¥{fen_to_yuan(total)}")


def _mark_for_manual(t: Treating, visit_id: str, msgid: str, why: str) -> None:
    with t.db.tx() as tx:
        tx.change_treated_visit(visit_id, manual_reason=why, reversal_pending=msgid)
    logger.warning("settlement unanswered: visit marked for manual reimbursement, reversal "
                   "pending", extra={"mdtrt_id": visit_id, "msgid": msgid})


#: The wait after a reversal attempt failed the first time; it doubles with every failure...
REVERSAL_BACKOFF = timedelta(seconds=2)
#: ...up to this: a reversal is never given up (the money must come back), only slowed down.
REVERSAL_BACKOFF_CAP = timedelta(minutes=10)
#: From this many failed attempts on, each failure is logged as an ERROR: operators must look.
REVERSAL_ALERT_AFTER = 10
#: Seconds of calls to insured places one round may start; the rest wait for the next round,
#: so the heartbeat that runs the rounds is not held up.
REVERSAL_ROUND_SECONDS = 5.0


def reversal_backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 2 s, 4 s, 8 s, … at most 10 minutes."""
    return min(REVERSAL_BACKOFF * (1 << min(max(attempts - 1, 0), 20)), REVERSAL_BACKOFF_CAP)


def retry_pending_reversals(t: Treating, now: datetime, *,
                            budget: float = REVERSAL_ROUND_SECONDS,
                            clock: Callable[[], float] = time.monotonic) -> int:
    """Reverse at the insured place every settle whose answer never came, and every
    registration marked manual (the insured place did not answer it: it may register it late),
    queued when it was marked or when its cancel's reversal did not get through; returns how
    many.
    Each attempt sends the same reversal msgid and cancel id (derived from the original msgid),
    so the insured place recognises a retry and never sees a reused msgid.

    Only the reversals due by `now` are sent, those never tried first: a failed attempt is
    counted and the next one waits `reversal_backoff(attempts)` (logged as a WARNING, as an
    ERROR from REVERSAL_ALERT_AFTER attempts on). Once an insured province did not answer, its
    other reversals wait for the next round; no call starts after `budget` seconds (by `clock`)
    of the round. Any answer ends the pending state, also `reversed: false` (the original
    settled nothing there, and the insured place now refuses it if it comes late)."""
    with t.db.read() as tx:
        pending = tx.visits_awaiting_reversal()
    due = sorted((v for v in pending if v.reversal_next_at is None or v.reversal_next_at <= now),
                 key=lambda v: (v.reversal_next_at is not None, v.reversal_next_at or now))
    started = clock()
    unreachable: set[str] = set()  # provinces that did not answer this round
    done = 0
    for n, visit in enumerate(due):
        if clock() - started >= budget:
            logger.warning("reversal round out of time: the rest wait for the next round",
                           extra={"left": len(due) - n, "seconds": round(clock() - started, 3)})
            break
        if visit.insured_region[:2] in unreachable:
            continue
        original = str(visit.reversal_pending)
        msgid, request = node_reversal(t, visit, original)
        try:
            t.insured.call(visit.insured_region, "reverse", msgid, request)
        except MedSettleError as exc:
            if isinstance(exc, PeerUnavailable):
                unreachable.add(visit.insured_region[:2])
            _reversal_failed(t, visit, msgid, exc, now)
            continue
        with t.db.tx() as tx:
            tx.change_treated_visit(visit.visit_id, reversal_pending=None, reversal_attempts=0,
                                    reversal_next_at=None)
        logger.info("pending reversal sent", extra={
            "mdtrt_id": visit.visit_id, "msgid": original, "reversal_msgid": msgid,
            "attempts": visit.reversal_attempts + 1})
        done += 1
    return done


def pending_reversals(db: Database) -> tuple[int, int]:
    """How many reversals are still to send, and the most failed attempts of any (what the
    node's metrics show: from REVERSAL_ALERT_AFTER on, a settlement may stand unreversed)."""
    with db.read() as tx:
        pending = tx.visits_awaiting_reversal()
    return len(pending), max((v.reversal_attempts for v in pending), default=0)


def _reversal_failed(t: Treating, visit: TreatedVisit, msgid: str, exc: MedSettleError,
                     now: datetime) -> None:
    """Count a failed attempt, set the next one after the backoff, and say so."""
    attempts = visit.reversal_attempts + 1
    retry_in = reversal_backoff(attempts)
    with t.db.tx() as tx:
        tx.change_treated_visit(visit.visit_id, reversal_attempts=attempts,
                                reversal_next_at=now + retry_in)
    alert = attempts >= REVERSAL_ALERT_AFTER
    logger.log(logging.ERROR if alert else logging.WARNING,
               "pending reversal keeps failing: a settlement or registration may still stand "
               "at the insured place; operators must look" if alert
               else "pending reversal failed, retried later",
               extra={"mdtrt_id": visit.visit_id, "msgid": str(visit.reversal_pending),
                      "reversal_msgid": msgid, "insured_region": visit.insured_region,
                      "attempts": attempts, "why": f"[{exc.code}] {exc}",
                      "retry_in_s": int(retry_in.total_seconds())})


def cancel(t: Treating, cmd: c.CancelSettlement, now: datetime, reply: Reply
           ) -> SettlementView:
    """2208/2305: cancel a settlement; the insured place restores every accumulator."""
    with t.db.tx() as tx:
        reply.check(tx)
        original = _cancellable_settlement(tx, cmd.visit, cmd.settlement_id)
        visit = own_visit(tx, cmd.visit)
    return _cancel(t, visit, original, cmd.visit, now, reply)


def _cancellable_settlement(tx: UnitOfWork, ref: c.VisitRef, settlement_id: str
                            ) -> SettlementRecord:
    original = tx.settlement(settlement_id, Role.TREATING)
    if original is None or original.visit_id != ref.visit_id:
        raise NotFound(f"settlement {settlement_id} of visit {ref.visit_id} does not exist")
    own_visit(tx, ref)
    if original.status is not SettlementStatus.SETTLED or (
            original.kind is not SettlementKind.SETTLE):
        raise StateConflict(f"settlement {settlement_id} is already {original.status}")
    return original


def _cancel(t: Treating, visit: TreatedVisit, original: SettlementRecord, ref: c.VisitRef,
            now: datetime, reply: Reply) -> SettlementView:
    cancel_id = t.message_id(ref.origin, "cancel")
    answer: x.Cancelled = t.insured.call(
        visit.insured_region, "cancel_settlement", ref.origin.msgid,
        x.CancelSettlement(original.settlement_id, cancel_id, original.institution))
    cancel_id = answer.cancel.settlement_id  # the insured place's: a standing cancel's own id
    record = original.cancel(cancel_id, answer.cancel.settled_at, answer.balance,
                             ref.origin.msgid)
    view = SettlementView(visit, cancel_id, record.amounts, answer.balance, record.settled_at,
                          "", original.benefit_class, visit.person,
                          cancels=original.settlement_id)
    with t.db.tx() as tx:
        reply.record(tx, view)
        _cancellable_settlement(tx, ref, original.settlement_id)
        tx.add_settlement(record)
        tx.mark_settlement(original.settlement_id, Role.TREATING, SettlementStatus.CANCELLED)
        tx.link_fee_lines(visit.visit_id, [line.serial for line in
                                           tx.fee_lines(settlement_id=original.settlement_id)],
                          None)
        tx.change_treated_visit(visit.visit_id, status=VisitStatus.DISCHARGED
                                if visit.ends else VisitStatus.OPEN)
        book_settlement(tx, record, now)  # last: it holds the node's ledger chain until commit
    return view


def reverse(t: Treating, cmd: c.Reversal, now: datetime, reply: Reply) -> dict[str, object]:
    """2601 冲正: undo what the institution's own original message did, if it happened;
    idempotent. Only the sender's own messages count: msgids are one institution's, so the
    original is looked up by the sending institution and msgid (another institution's message
    with the same msgid is not touched), and the insured place checks the same before it
    reverses anything."""
    code = cmd.origin.institution
    with t.db.tx() as tx:
        reply.check(tx)
        logged = tx.one("message_log", scope=his_scope(code), msgid=cmd.original)
        settled = [r for r in tx.settlements(Role.TREATING, msgid=cmd.original, institution=code)
                   if r.kind is SettlementKind.SETTLE]
        opened = tx.treated_visits(msgid=cmd.original, institution=code)
        for visit_id, person_id in [*((r.visit_id, r.person_id) for r in settled),
                                    *((v.visit_id, v.person_id) for v in opened)]:
            own_visit(tx, c.VisitRef(cmd.origin, visit_id, person_id))  # another person: refused
    if logged is not None and logged.infno != cmd.original_infno:
        raise InvalidInput("original_infno", f"message {cmd.original} was a {logged.infno}, "
                                             f"not a {cmd.original_infno}")
    done: dict[str, object] = {"original": cmd.original, "reversed": True}
    if cmd.original_infno in SETTLE_INFNOS:
        if settled and settled[0].status is SettlementStatus.SETTLED:
            ref = c.VisitRef(cmd.origin, settled[0].visit_id, cmd.person_id)
            with t.db.tx() as tx:
                visit = own_visit(tx, ref)
            _cancel(t, visit, settled[0], ref, now, AnswerWith(reply, done))
            return done
        if not settled and cmd.origin.insured_region:
            return _reverse_at_insured(t, cmd, reply)
        return {"original": cmd.original, "reversed": False}
    if cmd.original_infno in ("2201", "2401"):
        if opened and opened[0].status is not VisitStatus.CANCELLED:  # settled: refused there
            cancel_visit(t, c.VisitRef(cmd.origin, opened[0].visit_id, cmd.person_id),
                         AnswerWith(reply, done))
            return done
        if not opened and cmd.origin.insured_region:  # the insured place may have opened it
            return _reverse_at_insured(t, cmd, reply, visit_id=derived_id(
                t.region, code, cmd.original, "visit"))
        return {"original": cmd.original, "reversed": False}
    if cmd.original_infno in ("2204", "2301"):
        if logged is None or not logged.ok:  # never received or refused: nothing to undo
            return {"original": cmd.original, "reversed": False}
        return _reverse_fees(t, cmd, logged, reply)
    raise StateConflict(f"a {cmd.original_infno} cannot be reversed here; send its cancel "
                        "transaction")


def _reverse_at_insured(t: Treating, cmd: c.Reversal, reply: Reply,
                        visit_id: str | None = None) -> dict[str, object]:
    """A settle or registration the treating place never recorded may still have happened at
    the insured place (its answer was lost): reverse it there, as this institution and for
    this person (a registration by the visit id the original message would have made)."""
    answer: x.Reversed = t.insured.call(
        str(cmd.origin.insured_region), "reverse", cmd.origin.msgid, x.Reverse(
            original=cmd.original, original_infno=cmd.original_infno,
            cancel_id=t.message_id(cmd.origin, "reverse"), institution=cmd.origin.institution,
            person_id=cmd.person_id, visit_id=visit_id))
    result: dict[str, object] = {"original": cmd.original, "reversed": answer.reversed}
    with t.db.tx() as tx:
        reply.record(tx, result)
        for visit in tx.treated_visits(reversal_pending=cmd.original):
            if visit.institution == cmd.origin.institution:
                tx.change_treated_visit(visit.visit_id, reversal_pending=None)
    return result


def _reverse_fees(t: Treating, cmd: c.Reversal, logged: object, reply: Reply
                  ) -> dict[str, object]:
    """Cancel the lines an accepted upload added (refused while a settlement holds them)."""
    answer = getattr(logged, "response", {}) or {}
    rows = (answer.get("output") or {}).get("result", [])
    with t.db.tx() as tx:
        uploaded: dict[str, list[str]] = {}
        for row in rows:
            if "mdtrt_id" in row:
                uploaded.setdefault(row["mdtrt_id"], []).append(row["feedetl_sn"])
        count = 0
        for visit_id, serials in uploaded.items():
            own_visit(tx, c.VisitRef(cmd.origin, visit_id, cmd.person_id))
            open_lines = _unsettled_upload(tx, visit_id, serials)
            tx.cancel_fee_lines(visit_id, open_lines)
            count += len(open_lines)
        result: dict[str, object] = {"original": cmd.original, "reversed": count > 0}
        reply.record(tx, result)
    return result


def _unsettled_upload(tx: UnitOfWork, visit_id: str, serials: list[str]) -> list[str]:
    """The serials of an upload's lines still in force; StateConflict if a settlement holds
    any of them (the upload stands until that settlement is cancelled)."""
    lines = [line for line in tx.fee_lines(visit_id=visit_id)
             if line.serial in serials and line.active]
    if any(line.settlement_id is not None for line in lines):
        raise StateConflict(f"the fee details of visit {visit_id} are settled: cancel the "
                            "settlement first (2208/2305)")
    return [line.serial for line in lines]
