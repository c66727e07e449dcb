"""The insured node's federation operations: one transaction each, idempotent by msgid.

A treating node (through the hub) or this node itself, for its own insured patients, calls
`run_op` naming itself as the caller. The payload is checked field by field
(insured_requests), the use case checks that the caller owns what it touches, and the answer of
a state-changing operation is stored with the change in the same transaction, so a retry of the
same msgid returns it and never settles twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from medsettle.core.calendar import business_date
from medsettle.core.errors import Forbidden, MsgidReused, StateConflict
from medsettle.core.policy import PolicyBook
from medsettle.services import filings, insured
from medsettle.services.insured_requests import read_request
from medsettle.services.ports import Database, UnitOfWork

READ_ONLY = {"person_info", "pre_settle", "accumulations"}
#: The only operation the hub itself (the operators' reconciliation) may ask for.
HUB_OPS = {"cancel_settlement"}

Handler = Callable[[UnitOfWork, PolicyBook, dict[str, Any], datetime, str], dict[str, Any]]
HANDLERS: dict[str, Handler] = {
    "person_info": lambda tx, book, r, now, caller: insured.person_info(
        tx, book, r, business_date(now)),
    "open_visit": lambda tx, book, r, now, caller: insured.open_visit(tx, book, r, caller),
    "cancel_visit": lambda tx, book, r, now, caller: insured.cancel_visit(tx, r, caller),
    "change_visit": lambda tx, book, r, now, caller: insured.change_visit(tx, book, r, caller),
    "pre_settle": lambda tx, book, r, now, caller: insured.compute(
        tx, book, r, persist=False, now=now, caller=caller),
    "settle": lambda tx, book, r, now, caller: insured.compute(
        tx, book, r, persist=True, now=now, caller=caller),
    "cancel_settlement": lambda tx, book, r, now, caller: insured.cancel_settlement(
        tx, r, now, caller),
    "reverse": lambda tx, book, r, now, caller: insured.reverse(tx, r, now, caller),
    "accumulations": lambda tx, book, r, now, caller: insured.accumulations(
        tx, book, r["psn_no"], business_date(now), caller),
    "file_referral": lambda tx, book, r, now, caller: filings.referral_from_his(
        tx, book, r, business_date(now)),
    "revoke_filing": lambda tx, book, r, now, caller: filings.revoke_from_his(
        tx, book, r, business_date(now)),
}


def payload_hash(payload: Mapping[str, Any]) -> str:
    """A stable hash of a payload, to tell a retry from a different message with the same id."""
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def run_op(db: Database, book: PolicyBook, op: str, msgid: str, payload: Mapping[str, Any],
           now: datetime, caller: str) -> dict[str, Any]:
    """Run one operation for the insured place on behalf of `caller` (the treating province, or
    "hub" for the operators' reconciliation); a repeat of (op, msgid) gets the stored answer."""
    request = read_request(op, payload)
    handler = HANDLERS[op]
    if caller == "hub" and op not in HUB_OPS:
        raise Forbidden(f"the hub itself may not ask for {op}")
    request["msgid"] = msgid
    with db.tx() as tx:
        if op in READ_ONLY:
            return handler(tx, book, request, now, caller)
        digest = payload_hash(payload)
        key = insured.message_key(caller, msgid, request.get("fixmedins_code"))
        stored = tx.claim_message(op, key, op, digest, now)
        if stored is not None:
            return _stored_answer(stored, op, msgid, digest)
        answer = handler(tx, book, request, now, caller)
        tx.store_answer(op, key, answer, True)
        return answer


def _stored_answer(stored: Any, op: str, msgid: str, digest: str) -> dict[str, Any]:
    if stored.body_hash == insured.TOMBSTONE:
        raise StateConflict(f"msgid {msgid} was reversed (冲正) before it arrived: nothing is "
                            "settled")
    if stored.body_hash != digest:
        raise MsgidReused(f"msgid {msgid} was already used for a different {op}")
    if stored.response.get("pending"):
        raise StateConflict(f"msgid {msgid} is still being processed")
    return dict(stored.response)
