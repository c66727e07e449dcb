"""The insured node's federation operations: one transaction each, idempotent by msgid.

A treating node (through the hub) or this node itself, for its own insured patients, calls
`run_op`. The answer of a state-changing operation is stored with the change in the same
transaction, so a retry of the same msgid returns it and never settles twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from medsettle.core.errors import InvalidInput, MsgidReused, StateConflict
from medsettle.core.policy import PolicyBook
from medsettle.services import filings, insured
from medsettle.services.ports import Database, UnitOfWork

READ_ONLY = {"person_info", "pre_settle", "accumulations"}
_DATES = {"setl_date": date.fromisoformat, "begntime": datetime.fromisoformat,
          "start": date.fromisoformat, "admission_date": date.fromisoformat}

Handler = Callable[[UnitOfWork, PolicyBook, dict[str, Any], datetime], dict[str, Any]]
HANDLERS: dict[str, Handler] = {
    "person_info": lambda tx, book, p, now: insured.person_info(tx, book, p, now.date()),
    "open_visit": lambda tx, book, p, now: insured.open_visit(tx, book, p),
    "cancel_visit": lambda tx, book, p, now: insured.cancel_visit(tx, p),
    "change_visit": lambda tx, book, p, now: insured.change_visit(tx, book, p),
    "pre_settle": lambda tx, book, p, now: insured.compute(tx, book, p, persist=False, now=now),
    "settle": lambda tx, book, p, now: insured.compute(tx, book, p, persist=True, now=now),
    "cancel_settlement": lambda tx, book, p, now: insured.cancel_settlement(tx, p, now),
    "reverse": lambda tx, book, p, now: insured.reverse(tx, p, now),
    "accumulations": lambda tx, book, p, now: insured.accumulations(tx, book, p["psn_no"],
                                                                    now.date()),
    "file_referral": lambda tx, book, p, now: filings.referral_from_his(tx, book, p, now.date()),
    "revoke_filing": lambda tx, book, p, now: filings.revoke_from_his(tx, book, p, now.date()),
}


def payload_hash(payload: Mapping[str, Any]) -> str:
    """A stable hash of a payload, to tell a retry from a different message with the same id."""
    text = json.dumps(payload, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def run_op(db: Database, book: PolicyBook, op: str, msgid: str, payload: Mapping[str, Any],
           now: datetime) -> dict[str, Any]:
    """Run one operation for the insured place; a repeat of (op, msgid) gets the stored answer."""
    handler = HANDLERS.get(op)
    if handler is None:
        raise InvalidInput("op", f"unknown federation operation {op!r}")
    request = {k: (_DATES[k](v) if k in _DATES and isinstance(v, str) else v)
               for k, v in payload.items()}
    request["msgid"] = msgid
    with db.tx() as tx:
        if op in READ_ONLY:
            return handler(tx, book, request, now)
        digest = payload_hash(payload)
        stored = tx.claim_message(op, msgid, op, digest, now)
        if stored is not None:
            if stored.body_hash != digest:
                raise MsgidReused(f"msgid {msgid} was already used for a different {op}")
            if stored.response.get("pending"):
                raise StateConflict(f"msgid {msgid} is still being processed")
            return dict(stored.response)
        answer = handler(tx, book, request, now)
        tx.store_answer(op, msgid, answer, True)
        return answer
