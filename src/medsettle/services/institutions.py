"""A province's designated institutions (定点医疗机构) as its operators manage them: suspending
an institution from cross-province direct settlement and reinstating it (each with a reason),
and marking whether it is networked (联网) for direct settlement.

The HIS gateway reads the institution on every message, so a change applies to the next message:
a suspended or not networked institution's messages are refused with `institution_suspended`
(services/treating.institution) and its patients claim manual reimbursement.
Each change runs in the caller's transaction; the console records it in the audit log.
"""

from __future__ import annotations

from typing import Any

from medsettle.core.errors import InvalidInput, NotFound, StateConflict
from medsettle.services.ports import UnitOfWork

#: The longest reason kept.
REASON_CHARS = 500
#: What the audit log keeps of an institution (never its gateway key).
AUDITED = ("fixmedins_code", "name", "admdvs", "level", "suspended", "networked",
           "suspension_reason", "signing")
#: The columns of an institution's HIS credentials (adapters/his/keys.py issues them).
CREDENTIALS = ("signing", "api_key", "sm2_public_key", "sm4_key")


def state(tx: UnitOfWork, code: str) -> dict[str, Any]:
    """The institution as the audit log shows it, or NotFound. Its row is held until the
    transaction ends (Tx.hold): every change here reads it so, as does the console for the
    audit line's `before`, so two changes of one institution at once run one after the other
    and the second is refused, or changes what the first left (never two lines from one
    `before`)."""
    row = tx.hold("institutions", fixmedins_code=code)
    if row is None:
        raise NotFound(f"institution {code} is not a designated institution of this province")
    return {k: row._mapping[k] for k in AUDITED}


def _reason(text: str, action: str) -> str:
    reason = " ".join(text.split())
    if not reason:
        raise InvalidInput("reason", f"say why the institution is {action}")
    if len(reason) > REASON_CHARS:
        raise InvalidInput("reason", f"at most {REASON_CHARS} characters")
    return reason


def suspend(tx: UnitOfWork, code: str, reason: str) -> dict[str, Any]:
    """Suspend an institution from cross-province direct settlement (暂停直接结算)."""
    why = _reason(reason, "suspended")
    if state(tx, code)["suspended"]:
        raise StateConflict(f"institution {code} is already suspended")
    tx.change("institutions", {"fixmedins_code": code}, suspended=True, suspension_reason=why)
    return state(tx, code) | {"reason": why}


def reinstate(tx: UnitOfWork, code: str, reason: str) -> dict[str, Any]:
    """Reinstate a suspended institution (恢复直接结算)."""
    why = _reason(reason, "reinstated")
    if not state(tx, code)["suspended"]:
        raise StateConflict(f"institution {code} is not suspended")
    tx.change("institutions", {"fixmedins_code": code}, suspended=False, suspension_reason=None)
    return state(tx, code) | {"reason": why}


def set_networked(tx: UnitOfWork, code: str, networked: bool, reason: str = "") -> dict[str, Any]:
    """Mark an institution networked for direct settlement (联网) or not; the reason is
    optional."""
    before = state(tx, code)
    if before["networked"] == networked:
        raise StateConflict(f"institution {code} is already "
                            f"{'networked' if networked else 'not networked'}")
    tx.change("institutions", {"fixmedins_code": code}, networked=networked)
    why = " ".join(reason.split())[:REASON_CHARS]
    return state(tx, code) | ({"reason": why} if why else {})


def set_credentials(tx: UnitOfWork, code: str, credentials: dict[str, Any]) -> dict[str, Any]:
    """Give an institution new HIS credentials; the audit sees how it signs, never a key. (A
    running gateway keeps keys for a few seconds: the console tells it to forget them.)"""
    state(tx, code)
    unknown = set(credentials) - set(CREDENTIALS)
    if unknown:
        raise InvalidInput("credentials", f"unknown columns {sorted(unknown)}")
    tx.change("institutions", {"fixmedins_code": code}, **credentials)
    return state(tx, code)
