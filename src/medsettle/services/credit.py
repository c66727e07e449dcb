"""Institutions' credit and suspension at the treating province (就医地管理), and persons'
termination from direct settlement at the insured province (domain.md §9).

A decided case arrives from the hub (`apply_decision`, once per case): the institution's credit
is deducted by the severity of the findings, it is suspended from cross-province direct
settlement when its credit falls below 60 or on fraud (the same `institutions.suspended` flag the
gateway checks: InstitutionSuspended), and the refused amount (拒付) is recovered: the
institution owes it back (payable:institution +x) and the insured province pays that much less
(receivable:province −x) in this node's ledger. Operators reinstate after rectification.

A decision and a reinstatement each hold the institution's credit row (made first if it has
none) and then the institution's row before reading either (`_held`): two decisions for one
institution, or a decision and a reinstatement, run one after the other, and the second reads
the score and suspension the first wrote, so no deduction or suspension is lost.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from medsettle.core import ledger
from medsettle.core.calendar import business_date
from medsettle.core.clearing import province_of
from medsettle.core.errors import InvalidInput, NotFound, StateConflict
from medsettle.core.money import fen_to_yuan
from medsettle.core.supervision.credit import FLOOR, START, apply_finding
from medsettle.services.ledger import post
from medsettle.services.ports import UnitOfWork

logger = logging.getLogger(__name__)


def credit_of(tx: UnitOfWork, code: str) -> tuple[int, date | None]:
    """An institution's credit score and the end of its suspension, if any."""
    row = tx.one("institution_credit", fixmedins_code=code)
    return (START, None) if row is None else (int(row.score), row.suspended_until)


def _institution(tx: UnitOfWork, code: str) -> Any:
    inst = tx.one("institutions", fixmedins_code=code)
    if inst is None:
        raise NotFound(f"institution {code} is not a designated institution of this province",
                       field="institution")
    return inst


def _held(tx: UnitOfWork, code: str, now: datetime) -> tuple[Any, int, date | None]:
    """The institution, its credit score and the end of its suspension, both rows held until
    the transaction ends: the credit row first (made at START if the institution has none),
    then the institution's, in this order by every change of either."""
    _institution(tx, code)  # NotFound before anything is written
    tx.add_ignore("institution_credit", [{"fixmedins_code": code, "score": START,
                                          "suspended_until": None, "reason": "",
                                          "updated_at": now}])
    credit = tx.hold("institution_credit", fixmedins_code=code)
    inst = tx.hold("institutions", fixmedins_code=code)
    return inst, int(credit.score), credit.suspended_until


def _save(tx: UnitOfWork, code: str, score: int, until: date | None, reason: str,
          now: datetime) -> None:
    """Store the credit of an institution whose credit row `_held` holds."""
    tx.change("institution_credit", {"fixmedins_code": code}, score=score,
              suspended_until=until, reason=reason, updated_at=now)


def apply_decision(tx: UnitOfWork, *, case_id: str, institution: str, insured: str,
                   severity: str, refused: int, now: datetime, actor: str) -> dict[str, Any]:
    """Deduct credit, suspend if due, and recover the refused amount; once per case."""
    inst, score, until = _held(tx, institution, now)
    done = [e for e in tx.rows("credit_events", case_id=case_id) if e.action == "deduct"]
    if done:
        return {"institution": institution, "score": int(done[0].score_after),
                "already": True, "suspended": bool(inst.suspended)}
    change = apply_finding(score, severity, business_date(now))
    tx.add("credit_events", {"fixmedins_code": institution, "action": "deduct",
                             "severity": severity, "points": change.points,
                             "score_after": change.score, "case_id": case_id,
                             "note": f"case {case_id}: ¥{fen_to_yuan(refused)} refused (拒付)", "actor": actor,
                             "at": now})
    if change.suspend:
        until = change.until
        tx.change("institutions", {"fixmedins_code": institution}, suspended=True,
                  suspension_reason=change.why)
        tx.add("credit_events", {"fixmedins_code": institution, "action": "suspend",
                                 "severity": severity, "points": 0, "score_after": change.score,
                                 "case_id": case_id, "note": change.why, "actor": actor,
                                 "at": now})
        logger.warning("institution suspended", extra={"fixmedins_code": institution,
                                                       "until": str(until), "why": change.why})
    _save(tx, institution, change.score, until, change.why, now)
    if refused > 0:
        post(tx, ledger.balanced(f"refusal:{case_id}", "refusal", case_id, now, [
            (f"payable:institution:{institution}", refused),
            (f"receivable:province:{province_of(insured)}", -refused)]))
    return {"institution": institution, "score": change.score, "points": change.points,
            "suspended": change.suspend or bool(inst.suspended),
            "suspended_until": None if until is None else until.isoformat(),
            "recovered": refused}


def reinstate(tx: UnitOfWork, code: str, note: str, now: datetime, actor: str
              ) -> dict[str, Any]:
    """Lift a suspension after rectification (credit back to at least 60)."""
    inst, score, _ = _held(tx, code, now)
    if not inst.suspended:
        raise StateConflict(f"institution {code} is not suspended")
    if not note.strip():
        raise InvalidInput("note", "say what was rectified")
    score = max(score, FLOOR)
    tx.change("institutions", {"fixmedins_code": code}, suspended=False, suspension_reason=None)
    _save(tx, code, score, None, f"reinstated: {note.strip()}", now)
    tx.add("credit_events", {"fixmedins_code": code, "action": "reinstate", "severity": "",
                             "points": 0, "score_after": score, "case_id": None,
                             "note": note.strip(), "actor": actor, "at": now})
    return {"institution": code, "score": score, "suspended": False}


def bar_person(tx: UnitOfWork, psn_no: str, barred: bool, reason: str) -> dict[str, Any]:
    """Terminate (or restore) a person's cross-province direct settlement."""
    person = tx.one("persons", psn_no=psn_no)
    if person is None:
        raise NotFound(f"person {psn_no} is not insured here", field="psn_no")
    if barred and not reason.strip():
        raise InvalidInput("reason", "say why direct settlement is terminated")
    tx.change("persons", {"psn_no": psn_no}, direct_settlement_barred=barred)
    return {"psn_no": psn_no, "direct_settlement_barred": barred, "reason": reason.strip()}


def credits(tx: UnitOfWork) -> list[dict[str, Any]]:
    """Every institution with its credit, suspension and latest events."""
    scores = {r.fixmedins_code: r for r in tx.rows("institution_credit")}
    events: dict[str, list[dict[str, Any]]] = {}
    for e in tx.rows("credit_events", order_by="id"):
        events.setdefault(e.fixmedins_code, []).append(dict(e._mapping))
    result = []
    for inst in tx.rows("institutions", order_by="fixmedins_code"):
        row = scores.get(inst.fixmedins_code)
        result.append({"fixmedins_code": inst.fixmedins_code, "name": inst.name,
                       "admdvs": inst.admdvs, "level": inst.level,
                       "score": START if row is None else int(row.score),
                       "suspended": bool(inst.suspended),
                       "suspended_until": None if row is None else row.suspended_until,
                       "reason": "" if row is None else row.reason,
                       "events": events.get(inst.fixmedins_code, [])[-5:]})
    return result
