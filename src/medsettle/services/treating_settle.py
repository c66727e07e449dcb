"""Settlement at the treating place: pre-settle, settle, cancel, reversal, and the queries.

The treating place sends its classified lines to the insured place, which computes and records
the settlement in one transaction; the treating place then records its side. A settle whose
answer never comes is marked for manual reimbursement and reversed at the insured place
(冲正) as soon as it can be reached.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from medsettle.core.benefits import AMOUNT_FIELDS
from medsettle.core.errors import (
    InvalidInput,
    MedSettleError,
    NotFound,
    PeerUnavailable,
    StateConflict,
)
from medsettle.core.ids import reversal_msgid
from medsettle.core.money import fen_to_yuan
from medsettle.services import failpoints
from medsettle.services.ledger import post_settlement
from medsettle.services.ports import Reply, UnitOfWork
from medsettle.services.records import line_payload
from medsettle.services.replies import AnswerWith
from medsettle.services.treating import (
    Treating,
    cancel_visit,
    his_scope,
    institution,
    own_visit,
)

logger = logging.getLogger(__name__)
SETTLE_INFNOS = ("2207", "2304")


def settle(t: Treating, env: Any, cmd: Any, *, inpatient: bool, persist: bool,
           now: datetime, reply: Reply) -> dict[str, Any]:
    """2206/2303 pre-settle (persist False) and 2207/2304 settle (True). The insured place
    computes and records the money in one transaction; the treating place then records its
    side and the answer in one transaction. The settlement id comes from the msgid, so a retry
    after a crash between the two asks the insured place for the same settlement again and
    gets its stored answer."""
    with t.db.tx() as tx:
        visit = own_visit(tx, env, cmd.mdtrt_id, cmd.psn_no)
        inst = institution(tx, visit.fixmedins_code)
        lines = _unsettled_lines(tx, visit.mdtrt_id)
    _check_settleable(visit, lines, cmd, inpatient=inpatient, persist=persist)
    setl_id = t.message_id(env.fixmedins_code, env.msgid, "settle") if persist else None
    payload = {"mdtrt_id": visit.mdtrt_id, "setl_id": setl_id, "psn_no": visit.psn_no,
               "insutype": visit.insutype, "visit_type": visit.visit_type,
               "med_type": visit.med_type, "disease": visit.disease, "level": inst.level,
               "dedc_level": inst.dedc_level, "acct_used": cmd.acct_used,
               "lines": [line_payload(r._mapping) for r in lines],
               "fixmedins_code": inst.fixmedins_code, "mdtrtarea_admvs": inst.admdvs,
               "insu_admdvs": visit.insuplc_admdvs,
               "disease_opened": visit.disease in (inst.chronic_opened or [])
               if visit.disease else True}
    op = "settle" if persist else "pre_settle"
    if persist:
        failpoints.reach("settle.before_insured")
    try:
        answer = t.insured.call(visit.insuplc_admdvs, op, env.msgid, payload)
    except PeerUnavailable as exc:
        if not persist:
            raise
        _mark_for_manual(t, visit.mdtrt_id, env.msgid, str(exc))
        raise PeerUnavailable(f"{exc}; nothing is settled: visit {visit.mdtrt_id} is marked "
                              "for manual reimbursement (手工报销) and any late settlement is "
                              "reversed (冲正)") from None
    setl_time = settlement_time(answer, now)
    view = _setl_view(answer, visit, env, cmd, setl_id, setl_time, inpatient)
    if persist:
        failpoints.reach("settle.after_insured")
        with t.db.tx() as tx:
            reply.record(tx, view)
            current = own_visit(tx, env, visit.mdtrt_id, visit.psn_no)
            _check_settleable(current, _unsettled_lines(tx, visit.mdtrt_id), cmd,
                              inpatient=inpatient, persist=persist)
            row = _treating_row(visit, answer, payload, env.msgid, setl_time)
            tx.add("settlements", row)
            post_settlement(tx, "treating", "settle", str(setl_id), answer["amounts"], row, now)
            for line in lines:
                tx.change("fee_details", {"mdtrt_id": line.mdtrt_id,
                                          "feedetl_sn": line.feedetl_sn}, setl_id=setl_id)
            tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, status="settled")
        failpoints.reach("settle.after_commit")
    return view


def _unsettled_lines(tx: UnitOfWork, mdtrt_id: str) -> list[Any]:
    return [r for r in tx.rows("fee_details", order_by="feedetl_sn", mdtrt_id=mdtrt_id)
            if r.status == "active" and r.setl_id is None]


def settlement_time(answer: dict[str, Any], now: datetime) -> datetime:
    """The moment the insured place recorded the settlement (every side keeps that one time);
    `now` for a pre-settlement."""
    given = answer.get("setl_time")
    if isinstance(given, datetime):
        return given
    return datetime.fromisoformat(given) if given else now


def _check_settleable(visit: Any, lines: list[Any], cmd: Any, *, inpatient: bool,
                      persist: bool) -> None:
    if visit.status == "settled":
        raise StateConflict(f"该就诊已结算，不能重复结算: visit {visit.mdtrt_id} is settled")
    if visit.status not in ("open", "discharged"):
        raise StateConflict(f"visit {visit.mdtrt_id} is {visit.status}")
    if visit.manual_reimbursement:
        raise StateConflict(f"visit {visit.mdtrt_id} is marked for manual reimbursement "
                            f"(手工报销): {visit.manual_reason}")
    if (visit.visit_type == "inpatient") != inpatient:
        raise InvalidInput("infno", f"visit {visit.mdtrt_id} is {visit.visit_type}: use "
                                    f"{'2303/2304' if not inpatient else '2206/2207'}")
    if inpatient and persist and visit.status != "discharged" and not cmd.mid_setl:
        raise StateConflict("discharge the patient (2402) before settling, or send "
                            "mid_setl_flag 1 for an interim settlement")
    if not lines:
        raise InvalidInput("input.data.mdtrt_id", "no fee details to settle: upload them first")
    total = sum(r.amt for r in lines)
    if cmd.medfee_sumamt != total:
        raise InvalidInput("input.data.medfee_sumamt", f"¥{fen_to_yuan(cmd.medfee_sumamt)} does "
                           f"not match the uploaded fee details ¥{fen_to_yuan(total)}")


def _mark_for_manual(t: Treating, mdtrt_id: str, msgid: str, why: str) -> None:
    with t.db.tx() as tx:
        tx.change("visits", {"mdtrt_id": mdtrt_id}, manual_reimbursement=True,
                  manual_reason=why, reversal_pending=msgid)
    logger.warning("settlement unanswered: visit marked for manual reimbursement, reversal "
                   "pending", extra={"mdtrt_id": mdtrt_id, "msgid": msgid})


def retry_pending_reversals(t: Treating, now: datetime) -> int:
    """Reverse at the insured place every settle whose answer never came; returns how many.
    Each attempt sends the same reversal msgid and cancel id (derived from the original msgid),
    so the insured place recognises a retry and never sees a reused msgid."""
    with t.db.tx() as tx:
        pending = [v for v in tx.rows("visits", manual_reimbursement=True)
                   if v.reversal_pending]
    done = 0
    for visit in pending:
        msgid = reversal_msgid(t.region, visit.fixmedins_code, visit.reversal_pending)
        try:
            t.insured.call(visit.insuplc_admdvs, "reverse", msgid, {
                "omsgid": visit.reversal_pending, "oinfno": "2207",
                "cancel_setl_id": t.message_id(visit.fixmedins_code, msgid, "reverse"),
                "mdtrt_id": visit.mdtrt_id, "fixmedins_code": visit.fixmedins_code,
                "psn_no": visit.psn_no})
        except MedSettleError as exc:
            logger.info("reversal still pending", extra={"mdtrt_id": visit.mdtrt_id,
                                                         "why": str(exc)})
            continue
        with t.db.tx() as tx:
            tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, reversal_pending=None)
        done += 1
    return done


def _treating_row(visit: Any, answer: dict[str, Any], payload: dict[str, Any], msgid: str,
                  setl_time: datetime) -> dict[str, Any]:
    return {"setl_id": payload["setl_id"], "role": "treating", "kind": "settle",
            "ref_setl_id": None, "status": "settled", "mdtrt_id": visit.mdtrt_id,
            "psn_no": visit.psn_no, "insu_admdvs": visit.insuplc_admdvs,
            "mdtrtarea_admvs": payload["mdtrtarea_admvs"],
            "fixmedins_code": payload["fixmedins_code"], "med_type": visit.med_type,
            "visit_type": visit.visit_type, "insutype": visit.insutype, "setl_time": setl_time,
            "medical_year": answer.get("medical_year", ""), **answer["amounts"],
            "balc": answer.get("balc", 0), "policy_id": answer.get("policy_id", ""),
            "benefit_class": answer.get("benefit_class", ""), "delta": None, "msgid": msgid}


def _setl_view(answer: dict[str, Any], visit: Any, env: Any, cmd: Any, setl_id: str | None,
               setl_time: datetime, inpatient: bool) -> dict[str, Any]:
    """Everything the HIS gets back in setlinfo, amounts still in fen."""
    person = visit.person or {}
    return {"amounts": answer["amounts"], "balc": answer.get("balc", 0),
            "mdtrt_id": visit.mdtrt_id, "setl_id": setl_id or "", "psn_no": visit.psn_no,
            "psn_name": answer.get("psn_name", person.get("psn_name", "")),
            "certno": answer.get("certno", person.get("certno", "")),
            "gend": answer.get("gend", person.get("gend", "")),
            "brdy": answer.get("brdy", person.get("brdy", "")),
            "insutype": visit.insutype,
            "psn_type": answer.get("psn_type") or person.get("psn_type", ""),
            "cvlserv_flag": answer.get("cvlserv_flag", "0"), "setl_time": setl_time,
            "mdtrt_cert_type": getattr(cmd, "mdtrt_cert_type", ""), "med_type": visit.med_type,
            "medins_setl_id": env.msgid, "clr_optins": env.mdtrtarea_admvs,
            "clr_way": "1", "clr_type": "21" if inpatient else "11",
            "scheme": answer.get("scheme", ""), "benefit_class": answer.get("benefit_class")}


def cancel(t: Treating, env: Any, cmd: Any, now: datetime, reply: Reply) -> dict[str, Any]:
    """2208/2305: cancel a settlement; the insured place restores every accumulator."""
    with t.db.tx() as tx:
        original = _cancellable_settlement(tx, env, cmd.setl_id, cmd.mdtrt_id, cmd.psn_no)
        visit = own_visit(tx, env, original.mdtrt_id, cmd.psn_no)
    return _cancel(t, visit, original, env, now, reply)


def _cancellable_settlement(tx: UnitOfWork, env: Any, setl_id: str, mdtrt_id: str,
                            psn_no: str) -> Any:
    original = tx.one("settlements", setl_id=setl_id, role="treating")
    if original is None or original.mdtrt_id != mdtrt_id:
        raise NotFound(f"settlement {setl_id} of visit {mdtrt_id} does not exist")
    own_visit(tx, env, original.mdtrt_id, psn_no)
    if original.status != "settled" or original.kind != "settle":
        raise StateConflict(f"settlement {setl_id} is already {original.status}")
    return original


def _cancel(t: Treating, visit: Any, original: Any, env: Any, now: datetime,
            reply: Reply) -> dict[str, Any]:
    cancel_id = t.message_id(env.fixmedins_code, env.msgid, "cancel")
    answer = t.insured.call(visit.insuplc_admdvs, "cancel_settlement", env.msgid,
                            {"setl_id": original.setl_id, "cancel_setl_id": cancel_id,
                             "fixmedins_code": original.fixmedins_code})
    setl_time = settlement_time(answer, now)
    negated = {name: -getattr(original, name) for name in AMOUNT_FIELDS}
    view = _setl_view({"amounts": negated, "balc": answer.get("balc", 0)}, visit, env, None,
                      cancel_id, setl_time, visit.visit_type == "inpatient")
    view["ref_setl_id"] = original.setl_id
    with t.db.tx() as tx:
        reply.record(tx, view)
        _cancellable_settlement(tx, env, original.setl_id, original.mdtrt_id, visit.psn_no)
        row = dict(original._mapping) | negated | {
            "setl_id": cancel_id, "kind": "cancel", "ref_setl_id": original.setl_id,
            "setl_time": setl_time, "balc": answer.get("balc", 0), "msgid": env.msgid}
        tx.add("settlements", row)
        post_settlement(tx, "treating", "cancel", cancel_id, negated, row, now)
        tx.change("settlements", {"setl_id": original.setl_id, "role": "treating"},
                  status="cancelled")
        for line in tx.rows("fee_details", setl_id=original.setl_id):
            tx.change("fee_details", {"mdtrt_id": line.mdtrt_id, "feedetl_sn": line.feedetl_sn},
                      setl_id=None)
        tx.change("visits", {"mdtrt_id": visit.mdtrt_id},
                  status="discharged" if visit.endtime else "open")
    return view


def reverse(t: Treating, env: Any, cmd: Any, now: datetime, reply: Reply) -> dict[str, Any]:
    """2601 冲正: undo what the institution's own original message did, if it happened;
    idempotent. Only the sender's own messages count: the original is looked up by the sending
    institution and msgid, and the insured place checks the same before it reverses anything."""
    code = env.fixmedins_code
    with t.db.tx() as tx:
        logged = tx.one("message_log", scope=his_scope(code), msgid=cmd.omsgid)
        settled = [r for r in tx.rows("settlements", msgid=cmd.omsgid, role="treating")
                   if r.kind == "settle"]
        opened = tx.rows("visits", msgid=cmd.omsgid)
        for record in [*settled, *opened]:  # another institution's message: refused, named
            own_visit(tx, env, record.mdtrt_id, record.psn_no)
        senders = {row.scope for row in tx.rows("message_log", msgid=cmd.omsgid)
                   if row.scope.startswith("his:")}
    if senders and his_scope(code) not in senders:
        raise NotFound(f"message {cmd.omsgid} is not a message of {code}")
    if logged is not None and logged.infno != cmd.oinfno:
        raise InvalidInput("input.data.oinfno", f"message {cmd.omsgid} was a {logged.infno}, "
                                                f"not a {cmd.oinfno}")
    done = {"omsgid": cmd.omsgid, "reversed": True}
    if cmd.oinfno in SETTLE_INFNOS:
        if settled and settled[0].status == "settled":
            with t.db.tx() as tx:
                visit = own_visit(tx, env, settled[0].mdtrt_id, cmd.psn_no)
            _cancel(t, visit, settled[0], env, now, AnswerWith(reply, done))
            return done
        if not settled and env.insuplc_admdvs:
            return _reverse_at_insured(t, env, cmd, opened, reply)
        return {"omsgid": cmd.omsgid, "reversed": False}
    if cmd.oinfno in ("2201", "2401"):
        if opened and opened[0].status in ("open", "manual", "discharged"):
            cancel_visit(t, env, opened[0].mdtrt_id, cmd.psn_no, AnswerWith(reply, done))
            return done
        return {"omsgid": cmd.omsgid, "reversed": False}
    if cmd.oinfno in ("2204", "2301"):
        if logged is None or not logged.ok:  # never received or refused: nothing to undo
            return {"omsgid": cmd.omsgid, "reversed": False}
        return _reverse_fees(t, env, logged, cmd, reply)
    raise StateConflict(f"a {cmd.oinfno} cannot be reversed here; send its cancel transaction")


def _reverse_at_insured(t: Treating, env: Any, cmd: Any, opened: list[Any],
                        reply: Reply) -> dict[str, Any]:
    """A settle the treating place never recorded may still have happened at the insured place
    (its answer was lost): reverse it there, as this institution and for this person."""
    answer = t.insured.call(env.insuplc_admdvs, "reverse", env.msgid, {
        "omsgid": cmd.omsgid, "oinfno": cmd.oinfno,
        "cancel_setl_id": t.message_id(env.fixmedins_code, env.msgid, "reverse"),
        "fixmedins_code": env.fixmedins_code, "psn_no": cmd.psn_no})
    result = {"omsgid": cmd.omsgid, "reversed": bool(answer.get("reversed"))}
    with t.db.tx() as tx:
        reply.record(tx, result)
        for visit in tx.rows("visits", reversal_pending=cmd.omsgid):
            if visit.fixmedins_code == env.fixmedins_code:
                tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, reversal_pending=None)
    return result


def _reverse_fees(t: Treating, env: Any, logged: Any, cmd: Any, reply: Reply
                  ) -> dict[str, Any]:
    rows = (logged.response.get("output") or {}).get("result", [])
    with t.db.tx() as tx:
        for mdtrt_id in {row["mdtrt_id"] for row in rows if "mdtrt_id" in row}:
            own_visit(tx, env, mdtrt_id, cmd.psn_no)  # only the sender's own fees, of this person
        count = 0
        for row in rows:
            for line in tx.rows("fee_details", feedetl_sn=row["feedetl_sn"]):
                if line.mdtrt_id != row.get("mdtrt_id", line.mdtrt_id):
                    continue
                if line.setl_id is not None or line.status != "active":
                    continue
                tx.change("fee_details", {"mdtrt_id": line.mdtrt_id,
                                          "feedetl_sn": line.feedetl_sn}, status="cancelled")
                count += 1
        result = {"omsgid": cmd.omsgid, "reversed": count > 0}
        reply.record(tx, result)
    return result


def settlements_of(t: Treating, env: Any, query: Any) -> list[dict[str, Any]]:
    """5203: this institution's settlement records of a person (by setl_id or mdtrt_id)."""
    with t.db.tx() as tx:
        keys = {"setl_id": query.setl_id} if query.setl_id else {"mdtrt_id": query.mdtrt_id}
        rows = [r for r in tx.rows("settlements", role="treating", **keys)
                if r.psn_no == query.psn_no and r.fixmedins_code == env.fixmedins_code]
    return [dict(r._mapping) for r in rows]


def fee_details_of(t: Treating, env: Any, query: Any) -> list[dict[str, Any]]:
    """5204: the fee details of a visit or settlement."""
    with t.db.tx() as tx:
        keys = {"setl_id": query.setl_id} if query.setl_id else {"mdtrt_id": query.mdtrt_id}
        rows = tx.rows("fee_details", order_by="feedetl_sn", **keys)
        if rows:
            own_visit(tx, env, rows[0].mdtrt_id, query.psn_no)
    return [dict(r._mapping) for r in rows]


def visits_of(t: Treating, env: Any, query: Any, *, chronic_only: bool = False
              ) -> list[dict[str, Any]]:
    """5201 (visits) and 5205 (chronic visits) of a person at this institution in a period."""
    with t.db.tx() as tx:
        rows = [r for r in tx.rows("visits", order_by="begntime", psn_no=query.psn_no)
                if r.fixmedins_code == env.fixmedins_code
                and (query.begntime is None or r.begntime >= query.begntime)
                and (query.endtime is None or r.begntime <= query.endtime)
                and (not chronic_only or r.visit_type == "chronic")]
    return [dict(r._mapping) for r in rows]
