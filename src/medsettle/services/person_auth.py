"""Signing an insured person in to the app with their ID number and a one-time code (demo-grade:
the code is written to the node's log instead of being sent by SMS).

The node keeps, per ID number (by a hash under the node's lookup key, never in clear), the
SHA-256 of the pending code, when it expires, and the wrong codes typed since the last success:
the fifth wrong code locks the ID for LOCK_MINUTES, whatever code comes next. A code is good
once, for CODE_MINUTES. Each try reads and writes the count under the row's lock, so parallel
wrong codes are checked one after another and never more than MAX_FAILURES of them. Whether
an ID number is insured here is never told to someone who has not signed in: an unknown number
gets the same answers as a known one (no code is made for it, so it can never sign in).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from medsettle.core import codes
from medsettle.core.errors import AuthenticationFailed, InvalidInput, StateConflict
from medsettle.core.privacy import mask_id, pseudonym
from medsettle.services.ports import UnitOfWork

logger = logging.getLogger(__name__)
CODE_MINUTES = 5
RESEND_SECONDS = 30
MAX_FAILURES = 5
LOCK_MINUTES = 15


@dataclass(frozen=True, slots=True)
class CodeSent:
    """A code was made (or would have been, for an unknown number); `code` only for the log and
    a demo node, never for an answer of a real one."""

    expires_at: datetime
    code: str | None


def certno_key(tx: UnitOfWork, certno: str) -> str:
    """What the sign-in table keeps of an ID number: a hash under the node's lookup key, which
    nobody who reads the table can recompute for a guessed number."""
    return tx.keyed_hash("sign-in", certno)


def _code_hash(key: str, code: str) -> str:
    return hashlib.sha256(f"{key}:{code}".encode()).hexdigest()


def checked_certno(value: object) -> str:
    """An ID number as typed (a lower-case x accepted), with its check character verified."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("certno", "type your 18-character ID number (身份证号)")
    return codes.validate_id_card(value.strip().upper(), "certno")


def _state(tx: UnitOfWork, key: str) -> Any:
    """The ID number's sign-in row, made if new, read and held until the transaction ends: a
    concurrent try of the same number waits, then reads the count this one wrote (otherwise
    parallel wrong codes each read the same count and all of them are checked)."""
    row = tx.hold("person_sign_in", certno_hash=key)
    if row is None:
        tx.add_ignore("person_sign_in", [{"certno_hash": key, "failures": 0}])
        row = tx.hold("person_sign_in", certno_hash=key)  # or the one a concurrent try made
    return row


def _check_unlocked(row: Any, now: datetime) -> None:
    if row.locked_until is not None and now < row.locked_until:
        raise AuthenticationFailed(f"too many wrong codes: this ID number is locked until "
                                   f"{row.locked_until.isoformat(timespec='minutes')} (UTC)")


def request_code(tx: UnitOfWork, certno: object, now: datetime) -> CodeSent:
    """Make a fresh one-time code for an ID number insured here and write it to the log."""
    number = checked_certno(certno)
    key = certno_key(tx, number)
    row = _state(tx, key)
    _check_unlocked(row, now)
    if row.code_sent_at is not None and now < row.code_sent_at + timedelta(
            seconds=RESEND_SECONDS):
        raise StateConflict(f"a code was sent less than {RESEND_SECONDS} seconds ago; wait a "
                            "moment before asking again")
    expires = now + timedelta(minutes=CODE_MINUTES)
    person = tx.one("persons", certno=number)
    if person is None:  # answered like a known number, but no code can ever match
        tx.change("person_sign_in", {"certno_hash": key}, code_hash=None, code_sent_at=now,
                  code_expires_at=expires)
        logger.info("sign-in code asked for an ID number not insured here",
                    extra={"certno": mask_id(number)})
        return CodeSent(expires, None)
    code = f"{secrets.randbelow(10**6):06d}"
    tx.change("person_sign_in", {"certno_hash": key}, code_hash=_code_hash(key, code),
              code_sent_at=now, code_expires_at=expires)
    logger.warning("one-time sign-in code (demo: sent to the log instead of by SMS)",
                   extra={"certno": mask_id(number), "person": pseudonym(person.psn_no),
                          "code": code})
    return CodeSent(expires, code)


def verify_code(tx: UnitOfWork, certno: object, code: object, now: datetime) -> Verified:
    """The person whose ID number and current code these are (the code is used up), or the
    refusal to raise once the transaction has committed: a wrong or expired code counts
    towards the lock-out, and that count must be kept."""
    number = checked_certno(certno)
    if not isinstance(code, str) or not (len(code.strip()) == 6 and code.strip().isdigit()):
        raise InvalidInput("code", "type the 6-digit code")
    key = certno_key(tx, number)
    row = _state(tx, key)
    _check_unlocked(row, now)
    good = (row.code_hash is not None and row.code_expires_at is not None
            and now < row.code_expires_at
            and hmac.compare_digest(row.code_hash, _code_hash(key, code.strip())))
    person = tx.one("persons", certno=number) if good else None
    if person is None:
        failures = int(row.failures) + 1
        if failures >= MAX_FAILURES:
            until = now + timedelta(minutes=LOCK_MINUTES)
            tx.change("person_sign_in", {"certno_hash": key}, failures=0, locked_until=until,
                      code_hash=None)
            logger.warning("person sign-in locked", extra={"certno": mask_id(number)})
            return Verified(None, AuthenticationFailed(
                f"{MAX_FAILURES} wrong codes: this ID number is locked for {LOCK_MINUTES} "
                "minutes"))
        tx.change("person_sign_in", {"certno_hash": key}, failures=failures)
        return Verified(None, AuthenticationFailed(
            f"wrong or expired code ({MAX_FAILURES - failures} tries left)"))
    tx.change("person_sign_in", {"certno_hash": key}, failures=0, code_hash=None,
              locked_until=None)
    logger.info("person signed in", extra={"person": pseudonym(person.psn_no)})
    return Verified(person, None)


@dataclass(frozen=True, slots=True)
class Verified:
    """The outcome of a code: the person's row, or the refusal (raised after commit)."""

    person: Any
    refusal: AuthenticationFailed | None
