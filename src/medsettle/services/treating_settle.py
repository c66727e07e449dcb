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
from medsettle.core.money import fen_to_yuan
from medsettle.services.ledger import post_settlement
from medsettle.services.records import line_payload
from medsettle.services.treating import (
    Treating,
    business_date,
    cancel_visit,
    institution,
    own_visit,
)

logger = logging.getLogger(__name__)
SETTLE_INFNOS = ("2207", "2304")


def settle(t: Treating, env: Any, cmd: Any, *, inpatient: bool, persist: bool,
           now: datetime) -> dict[str, Any]:
    """2206/2303 pre-settle (persist False) and 2207/2304 settle (True)."""
    with t.db.tx() as tx:
        visit = own_visit(tx, env, cmd.mdtrt_id, cmd.psn_no)
        inst = institution(tx, visit.fixmedins_code)
        lines = [r for r in tx.rows("fee_details", order_by="feedetl_sn", mdtrt_id=visit.mdtrt_id)
                 if r.status == "active" and r.setl_id is None]
    _check_settleable(visit, lines, cmd, inpatient=inpatient, persist=persist)
    setl_id = t.new_id(now) if persist else None
    payload = {"mdtrt_id": visit.mdtrt_id, "setl_id": setl_id, "psn_no": visit.psn_no,
               "insutype": visit.insutype, "visit_type": visit.visit_type,
               "med_type": visit.med_type, "disease": visit.disease, "level": inst.level,
               "dedc_level": inst.dedc_level, "setl_date": business_date(now).isoformat(),
               "acct_used": cmd.acct_used, "lines": [line_payload(r._mapping) for r in lines],
               "fixmedins_code": inst.fixmedins_code, "mdtrtarea_admvs": inst.admdvs,
               "insu_admdvs": visit.insuplc_admdvs,
               "disease_opened": visit.disease in (inst.chronic_opened or [])
               if visit.disease else True}
    op = "settle" if persist else "pre_settle"
    try:
        answer = t.insured.call(visit.insuplc_admdvs, op, env.msgid, payload)
    except PeerUnavailable as exc:
        if not persist:
            raise
        _mark_for_manual(t, visit.mdtrt_id, env.msgid, str(exc))
        raise PeerUnavailable(f"{exc}; nothing is settled: visit {visit.mdtrt_id} is marked "
                              "for manual reimbursement (手工报销) and any late settlement is "
                              "reversed (冲正)") from None
    if persist:
        with t.db.tx() as tx:
            row = _treating_row(visit, answer, payload, env.msgid, now)
            tx.add("settlements", row)
            post_settlement(tx, "treating", "settle", str(setl_id), answer["amounts"], row, now)
            for line in lines:
                tx.change("fee_details", {"mdtrt_id": line.mdtrt_id,
                                          "feedetl_sn": line.feedetl_sn}, setl_id=setl_id)
            tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, status="settled")
    return _setl_view(answer, visit, env, cmd, setl_id, now, inpatient)


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
    """Reverse at the insured place every settle whose answer never came; returns how many."""
    with t.db.tx() as tx:
        pending = [v for v in tx.rows("visits", manual_reimbursement=True)
                   if v.reversal_pending]
    done = 0
    for visit in pending:
        try:
            t.insured.call(visit.insuplc_admdvs, "reverse", f"R{visit.reversal_pending}"[:30],
                           {"omsgid": visit.reversal_pending, "cancel_setl_id": t.new_id(now),
                            "mdtrt_id": visit.mdtrt_id, "oinfno": "2207"})
        except MedSettleError as exc:
            logger.info("reversal still pending", extra={"mdtrt_id": visit.mdtrt_id,
                                                         "why": str(exc)})
            continue
        with t.db.tx() as tx:
            tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, reversal_pending=None)
        done += 1
    return done


def _treating_row(visit: Any, answer: dict[str, Any], payload: dict[str, Any], msgid: str,
                  now: datetime) -> dict[str, Any]:
    return {"setl_id": payload["setl_id"], "role": "treating", "kind": "settle",
            "ref_setl_id": None, "status": "settled", "mdtrt_id": visit.mdtrt_id,
            "psn_no": visit.psn_no, "insu_admdvs": visit.insuplc_admdvs,
            "mdtrtarea_admvs": payload["mdtrtarea_admvs"],
            "fixmedins_code": payload["fixmedins_code"], "med_type": visit.med_type,
            "visit_type": visit.visit_type, "insutype": visit.insutype, "setl_time": now,
            "medical_year": answer.get("medical_year", ""), **answer["amounts"],
            "balc": answer.get("balc", 0), "policy_id": answer.get("policy_id", ""),
            "benefit_class": answer.get("benefit_class", ""), "delta": None, "msgid": msgid}


def _setl_view(answer: dict[str, Any], visit: Any, env: Any, cmd: Any, setl_id: str | None,
               now: datetime, inpatient: bool) -> dict[str, Any]:
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
            "cvlserv_flag": answer.get("cvlserv_flag", "0"), "setl_time": now,
            "mdtrt_cert_type": getattr(cmd, "mdtrt_cert_type", ""), "med_type": visit.med_type,
            "medins_setl_id": env.msgid, "clr_optins": env.mdtrtarea_admvs,
            "clr_way": "1", "clr_type": "21" if inpatient else "11",
            "scheme": answer.get("scheme", ""), "benefit_class": answer.get("benefit_class")}


def cancel(t: Treating, env: Any, cmd: Any, now: datetime) -> dict[str, Any]:
    """2208/2305: cancel a settlement; the insured place restores every accumulator."""
    with t.db.tx() as tx:
        original = tx.one("settlements", setl_id=cmd.setl_id, role="treating")
        if original is None or original.mdtrt_id != cmd.mdtrt_id:
            raise NotFound(f"settlement {cmd.setl_id} of visit {cmd.mdtrt_id} does not exist")
        if original.status != "settled" or original.kind != "settle":
            raise StateConflict(f"settlement {cmd.setl_id} is already {original.status}")
        visit = own_visit(tx, env, original.mdtrt_id, cmd.psn_no)
    return _cancel(t, visit, original, env.msgid, env, now)


def _cancel(t: Treating, visit: Any, original: Any, msgid: str, env: Any,
            now: datetime) -> dict[str, Any]:
    cancel_id = t.new_id(now)
    answer = t.insured.call(visit.insuplc_admdvs, "cancel_settlement", msgid,
                            {"setl_id": original.setl_id, "cancel_setl_id": cancel_id})
    with t.db.tx() as tx:
        negated = {name: -getattr(original, name) for name in AMOUNT_FIELDS}
        row = dict(original._mapping) | negated | {
            "setl_id": cancel_id, "kind": "cancel", "ref_setl_id": original.setl_id,
            "setl_time": now, "balc": answer.get("balc", 0), "msgid": msgid}
        tx.add("settlements", row)
        post_settlement(tx, "treating", "cancel", cancel_id, negated, row, now)
        tx.change("settlements", {"setl_id": original.setl_id, "role": "treating"},
                  status="cancelled")
        for line in tx.rows("fee_details", setl_id=original.setl_id):
            tx.change("fee_details", {"mdtrt_id": line.mdtrt_id, "feedetl_sn": line.feedetl_sn},
                      setl_id=None)
        tx.change("visits", {"mdtrt_id": visit.mdtrt_id},
                  status="discharged" if visit.endtime else "open")
    view = _setl_view({"amounts": negated, "balc": answer.get("balc", 0)}, visit, env, None,
                      cancel_id, now, visit.visit_type == "inpatient")
    return view | {"ref_setl_id": original.setl_id}


def reverse(t: Treating, env: Any, cmd: Any, now: datetime) -> dict[str, Any]:
    """2601 冲正: undo what the original message did, if it happened; idempotent."""
    with t.db.tx() as tx:
        logged = tx.one("message_log", scope="his", msgid=cmd.omsgid)
        settled = [r for r in tx.rows("settlements", msgid=cmd.omsgid, role="treating")
                   if r.kind == "settle"]
        opened = tx.one("visits", msgid=cmd.omsgid)
    if logged is not None and logged.infno != cmd.oinfno:
        raise InvalidInput("input.data.oinfno", f"message {cmd.omsgid} was a {logged.infno}, "
                                                f"not a {cmd.oinfno}")
    if cmd.oinfno in SETTLE_INFNOS:
        if settled and settled[0].status == "settled":
            with t.db.tx() as tx:
                visit = own_visit(tx, env, settled[0].mdtrt_id, cmd.psn_no)
            _cancel(t, visit, settled[0], env.msgid, env, now)
            return {"omsgid": cmd.omsgid, "reversed": True}
        if not settled and env.insuplc_admdvs:
            answer = t.insured.call(env.insuplc_admdvs, "reverse", env.msgid,
                                    {"omsgid": cmd.omsgid, "cancel_setl_id": t.new_id(now),
                                     "oinfno": cmd.oinfno})
            return {"omsgid": cmd.omsgid, "reversed": bool(answer.get("reversed"))}
        return {"omsgid": cmd.omsgid, "reversed": False}
    if cmd.oinfno in ("2201", "2401"):
        if opened is not None and opened.status in ("open", "manual", "discharged"):
            cancel_visit(t, env, opened.mdtrt_id, cmd.psn_no)
            return {"omsgid": cmd.omsgid, "reversed": True}
        return {"omsgid": cmd.omsgid, "reversed": False}
    if cmd.oinfno in ("2204", "2301"):
        if logged is None or not logged.ok:  # never received or refused: nothing to undo
            return {"omsgid": cmd.omsgid, "reversed": False}
        return _reverse_fees(t, env, logged, cmd)
    raise StateConflict(f"a {cmd.oinfno} cannot be reversed here; send its cancel transaction")


def _reverse_fees(t: Treating, env: Any, logged: Any, cmd: Any) -> dict[str, Any]:
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
    return {"omsgid": cmd.omsgid, "reversed": count > 0}


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
