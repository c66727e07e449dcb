"""The insured node's federation operations: one transaction each, idempotent by msgid.

A treating node (through the hub) or this node itself, for its own insured patients, calls
`run_op` with a typed request (services/exchange) and names itself as the caller. The use case
checks that the caller owns what it touches, and the answer of a state-changing operation is
stored with the change in the same transaction, so a retry of the same msgid returns it and
never settles twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from medsettle.core.calendar import business_date
from medsettle.core.errors import Forbidden, InvalidInput, MsgidReused, StateConflict
from medsettle.core.jsonform import decode, encode
from medsettle.core.policy import PolicyBook
from medsettle.services import directory, evoucher, filings, insured, insured_settle
from medsettle.services.exchange import ANSWERS, REQUESTS
from medsettle.services.ports import Database, UnitOfWork

#: The only operation the hub itself (the operators' reconciliation) may ask for.
HUB_OPS = {"cancel_settlement"}
Handler = Callable[[UnitOfWork, PolicyBook, Any, datetime, str, str], Any]


@dataclass(frozen=True)
class Operation:
    """One federation operation: its use case, and whether it only reads."""

    run: Handler
    read_only: bool = False


OPERATIONS: dict[str, Operation] = {
    "person_info": Operation(lambda tx, book, r, now, caller, msgid: insured.person_info(
        tx, evoucher.resolve_query(tx, r, now), business_date(now)), read_only=True),
    "open_visit": Operation(lambda tx, book, r, now, caller, msgid: insured.open_visit(
        tx, book, evoucher.resolve_visit(tx, r), caller)),
    "cancel_visit": Operation(lambda tx, book, r, now, caller, msgid: insured.cancel_visit(
        tx, r, caller)),
    "change_visit": Operation(lambda tx, book, r, now, caller, msgid: insured.change_visit(
        tx, book, r, caller)),
    "pre_settle": Operation(lambda tx, book, r, now, caller, msgid: insured_settle.compute(
        tx, book, r, persist=False, now=now, caller=caller, msgid=msgid), read_only=True),
    "settle": Operation(lambda tx, book, r, now, caller, msgid: insured_settle.compute(
        tx, book, r, persist=True, now=now, caller=caller, msgid=msgid)),
    "cancel_settlement": Operation(lambda tx, book, r, now, caller, msgid:
                                   insured_settle.cancel_settlement(tx, r, now, caller, msgid)),
    "reverse": Operation(lambda tx, book, r, now, caller, msgid: insured_settle.reverse(
        tx, r, now, caller, msgid)),
    "accumulations": Operation(lambda tx, book, r, now, caller, msgid:
                               insured_settle.accumulations(tx, book, r.person_id,
                                                            business_date(now), caller),
                               read_only=True),
    "file_referral": Operation(lambda tx, book, r, now, caller, msgid:
                               filings.referral_from_his(tx, book, r, business_date(now), caller)),
    "revoke_filing": Operation(lambda tx, book, r, now, caller, msgid:
                               filings.revoke_from_his(tx, book, r, business_date(now), caller)),
    # reads another province's insured-person app asks of this one (no message log)
    "institutions": Operation(lambda tx, book, r, now, caller, msgid:
                              directory.find_institutions(tx, r), read_only=True),
    "settlement_lines": Operation(lambda tx, book, r, now, caller, msgid:
                                  directory.settlement_lines(tx, r, caller), read_only=True),
}
assert set(OPERATIONS) == set(REQUESTS) == set(ANSWERS)


def request_hash(request: object) -> str:
    """A stable hash of a request, to tell a retry from a different message with the same id:
    SHA-256 of its canonical JSON (keys sorted, no spaces, UTF-8), the bytes the standard
    library's `json.dumps(..., sort_keys=True, ensure_ascii=False, separators=(",", ":"))`
    writes (a digest kept before a release must match a retry after it), written by orjson."""
    return hashlib.sha256(orjson.dumps(encode(request), option=orjson.OPT_SORT_KEYS)
                          ).hexdigest()


def run_op(db: Database, book: PolicyBook, op: str, msgid: str, request: object,
           now: datetime, caller: str) -> Any:
    """Run one operation for the insured place on behalf of `caller` (the treating province, or
    "hub" for the operators' reconciliation); a repeat of (op, msgid) gets the stored answer."""
    operation = OPERATIONS.get(op)
    if operation is None:
        raise InvalidInput("op", f"unknown federation operation {op!r}")
    if not isinstance(request, REQUESTS[op]):
        raise InvalidInput("payload", f"is not a {op} request")
    if caller == "hub" and op not in HUB_OPS:
        raise Forbidden(f"the hub itself may not ask for {op}")
    if operation.read_only:
        with db.read() as tx:
            return operation.run(tx, book, request, now, caller, msgid)
    with db.tx() as tx:
        digest = request_hash(request)
        key = insured_settle.message_key(caller, msgid, getattr(request, "institution", None))
        stored = tx.claim_message(op, key, op, digest, now)
        if stored is not None:
            return decode(ANSWERS[op], _stored_answer(stored, op, msgid, digest), "answer")
        answer = operation.run(tx, book, request, now, caller, msgid)
        tx.store_answer(op, key, encode(answer), True)
        return answer


def _stored_answer(stored: Any, op: str, msgid: str, digest: str) -> dict[str, Any]:
    if stored.body_hash == insured_settle.TOMBSTONE:
        raise StateConflict(f"msgid {msgid} was reversed (冲正): its {op} was undone")
    if stored.body_hash != digest:
        raise MsgidReused(f"msgid {msgid} was already used for a different {op}")
    if stored.response.get("pending"):
        raise StateConflict(f"msgid {msgid} is still being processed")
    return dict(stored.response)
