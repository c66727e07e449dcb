"""Field rules shared by several transactions: ids, credentials, med_type, insutype, diagnoses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from medsettle.adapters.his.reader import Node
from medsettle.core.codes import (
    CERT_TYPES,
    SCHEME_OF_INSUTYPE,
    VisitType,
    validate_card_sn,
    validate_chronic_disease_code,
    validate_disease_code,
    validate_evoucher_token,
    validate_id_card,
    validate_social_security_card_no,
    visit_type_of_med_type,
)
from medsettle.core.errors import InvalidCode, InvalidInput

#: One fee line may not exceed ¥10,000,000.
LINE_MAX_FEN = 10**9
#: A message's total (a bill, a settlement) may not exceed ¥100,000,000.
TOTAL_MAX_FEN = 10**10
#: Reconciliation totals cover a month of an institution: up to ¥10,000,000,000.
PERIOD_MAX_FEN = 10**12
#: The most diagnoses one message may list.
DIAGNOSES_MAX = 100

_ID = re.compile(r"[0-9A-Za-z_\-]{1,30}", re.ASCII)
_PSN_CERT_TYPE = re.compile(r"[0-9A-Za-z]{1,6}", re.ASCII)
_CERT_VALIDATORS = {
    "01": validate_evoucher_token,
    "02": validate_id_card,
    "03": validate_social_security_card_no,
}


def validate_id(value: object, field: str) -> str:
    """A platform or hospital identifier (psn_no, mdtrt_id, setl_id…): 1–30 letters, digits, _ -."""
    if not isinstance(value, str):
        raise InvalidCode(field, f"must be a JSON string, not {type(value).__name__} {value!r}")
    if _ID.fullmatch(value) is None:
        raise InvalidCode(field, f"expected 1-30 letters, digits, '_' or '-', got {value!r}")
    return value


def validate_insutype(value: object, field: str) -> str:
    """An insutype MedSettle settles: 310 employee or 390 resident basic insurance."""
    if not isinstance(value, str) or value not in SCHEME_OF_INSUTYPE:
        raise InvalidCode(field, f"expected an insutype 310 or 390, got {value!r}")
    return value


def validate_psn_cert_type(value: object, field: str) -> str:
    """A person certificate type (psn_cert_type, dict; 01 resident ID card), 1–6 alphanumerics."""
    if not isinstance(value, str) or _PSN_CERT_TYPE.fullmatch(value) is None:
        raise InvalidCode(field, f"expected a psn_cert_type of 1-6 letters or digits, got {value!r}")
    return value


def med_type(node: Node, key: str, allowed: frozenset[VisitType]) -> tuple[str, VisitType]:
    """A required med_type and its visit type, which must be one of `allowed`."""
    code = node.text(key, maxlen=6)
    visit = visit_type_of(code, node.at(key))
    if visit not in allowed:
        kinds = " or ".join(sorted(allowed))
        raise InvalidCode(node.at(key), f"med_type {code} is {visit}; this transaction takes "
                          f"{kinds}")
    return code, visit


def visit_type_of(code: str, field: str) -> VisitType:
    """The visit type of a med_type, with errors naming `field`."""
    try:
        return visit_type_of_med_type(code)
    except InvalidCode as exc:
        raise InvalidCode(field, exc.message) from None


def disease_code(node: Node, key: str | tuple[str, ...], visit: VisitType) -> str | None:
    """An optional disease: a chronic code (M + 5 digits) for chronic visits, else ICD-10."""
    if visit == "chronic":
        return node.opt_code(key, validate_chronic_disease_code)
    return node.opt_code(key, validate_disease_code)


@dataclass(frozen=True, slots=True)
class Credential:
    """The medical credential shown (mdtrt_cert_type 01 e-voucher, 02 ID card, 03 card)."""

    cert_type: str
    cert_no: str
    card_sn: str | None


def credential(node: Node, *, card_sn_required: bool) -> Credential:
    """mdtrt_cert_type, mdtrt_cert_no checked by its type, and card_sn (required for 03 if asked)."""
    cert_type = node.choice("mdtrt_cert_type", CERT_TYPES)
    cert_no = node.code("mdtrt_cert_no", _CERT_VALIDATORS[cert_type])
    card_sn = node.opt_code("card_sn", validate_card_sn)
    if card_sn is None and cert_type == "03" and card_sn_required:
        raise InvalidInput(node.at("card_sn"), "is required when mdtrt_cert_type is 03")
    return Credential(cert_type, cert_no, card_sn)


def certificate(node: Node) -> tuple[str | None, str | None]:
    """psn_cert_type and certno; certno is checked as an ID card when the type is 01 or absent."""
    cert_type = node.opt_code("psn_cert_type", validate_psn_cert_type)
    if cert_type in (None, "01"):
        return cert_type, node.opt_code("certno", validate_id_card)
    return cert_type, node.opt_text("certno", maxlen=50)


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One `diseinfo[]` entry of 2203, 2401 and 2402."""

    diag_type: str
    diag_srt_no: int
    diag_code: str
    diag_name: str
    maindiag: bool | None
    diag_dept: str | None
    dise_dor_no: str | None
    dise_dor_name: str | None
    diag_time: datetime | None
    valid: bool | None


def diagnosis(node: Node) -> Diagnosis:
    """Read one diagnosis entry."""
    return Diagnosis(
        diag_type=node.text("diag_type", maxlen=3),
        diag_srt_no=node.count("diag_srt_no"),
        diag_code=node.code("diag_code", validate_disease_code),
        diag_name=node.text("diag_name", maxlen=255),
        maindiag=node.opt_flag("maindiag_flag"),
        diag_dept=node.opt_text("diag_dept", maxlen=50),
        dise_dor_no=node.opt_text("dise_dor_no", maxlen=30),
        dise_dor_name=node.opt_text("dise_dor_name", maxlen=50),
        diag_time=node.opt_moment("diag_time"),
        valid=node.opt_flag("vali_flag"),
    )


def diagnoses(root: Node) -> tuple[Diagnosis, ...]:
    """The optional `diseinfo[]` list."""
    return tuple(diagnosis(n) for n in root.items("diseinfo", required=False,
                                                    max_items=DIAGNOSES_MAX))
