"""The e-voucher (医保电子凭证, "医保码") the app shows as a QR code: a fresh token per showing,
good for TOKEN_MINUTES, that a hospital's 1101 accepts at the insured place until it expires.

A token has the national shape "EC" + the person's insured admdvs + 24 random letters and digits
(core/codes.py), so the treating node routes it to the insured province as it routes any
e-voucher. The persons table's static `evoucher` column (loaded data, the simulator) keeps
working as before: only tokens issued here are looked up in `evouchers`.
"""

from __future__ import annotations

import logging
import secrets
import string
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from medsettle.core import codes
from medsettle.core.errors import NotFound
from medsettle.core.privacy import pseudonym
from medsettle.services.exchange import FindPerson, OpenVisit
from medsettle.services.ports import UnitOfWork

logger = logging.getLogger(__name__)
TOKEN_MINUTES = 5
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class Voucher:
    """An issued token and until when a hospital may read it."""

    token: str
    expires_at: datetime


def issue(tx: UnitOfWork, person: Any, now: datetime) -> Voucher:
    """A fresh token for `person` (a persons row), valid for TOKEN_MINUTES."""
    token = "EC" + person.insu_admdvs + "".join(secrets.choice(_ALPHABET) for _ in range(24))
    codes.validate_evoucher_token(token, "token")
    expires = now + timedelta(minutes=TOKEN_MINUTES)
    tx.add("evouchers", {"token": token, "psn_no": person.psn_no, "issued_at": now,
                         "expires_at": expires})
    logger.info("e-voucher issued", extra={"person": pseudonym(person.psn_no)})
    return Voucher(token, expires)


def _holder(tx: UnitOfWork, token: str) -> tuple[Any, Any] | None:
    row = tx.one("evouchers", token=token)
    if row is None:
        return None
    person = tx.one("persons", psn_no=row.psn_no)
    return None if person is None else (row, person)


def resolve_query(tx: UnitOfWork, query: FindPerson, now: datetime) -> FindPerson:
    """1101 with an app-issued token: the same question by the holder's ID number, while the
    token is fresh (NotFound naming cert_no once it has expired). Other credentials as asked."""
    if query.cert_type != "01":
        return query
    found = _holder(tx, query.cert_no)
    if found is None:
        return query
    row, person = found
    if now >= row.expires_at:
        raise NotFound("the e-voucher (医保码) has expired: ask the patient to show a fresh one",
                       field="cert_no")
    return FindPerson("02", person.certno)


def resolve_visit(tx: UnitOfWork, request: OpenVisit) -> OpenVisit:
    """Admission or registration showing an app-issued token: the check that the credential is
    the patient's uses the holder's ID number. The hospital read the token with 1101 while it
    was fresh; that it has expired since does not make it another person's."""
    if request.cert_type != "01" or not request.cert_no:
        return request
    found = _holder(tx, request.cert_no)
    if found is None:
        return request
    return replace(request, cert_type="02", cert_no=found[1].certno, card_sn=None)
