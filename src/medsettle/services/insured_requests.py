"""The requests a treating place sends an insured place, checked field by field before use.

A node signed by the hub is trusted to be who it says, not to send well-formed payloads: every
field an operation reads is checked here, and a bad one is refused as InvalidInput naming
`payload.<field>`, so no payload can reach the use cases half-formed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from medsettle.core.errors import InvalidInput

Reader = Callable[[object, str], object]


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise InvalidInput(field, "must be a non-empty string of at most 200 characters")
    return value


def _optional(read: Reader) -> Reader:
    def optional(value: object, field: str) -> object:
        return None if value is None or value == "" else read(value, field)
    return optional


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, "must be true or false")
    return value


def _moment(value: object, field: str) -> datetime:
    try:
        return datetime.fromisoformat(_text(value, field))
    except ValueError:
        raise InvalidInput(field, f"must be an ISO date-time, got {value!r}") from None


def _day(value: object, field: str) -> date:
    try:
        return date.fromisoformat(_text(value, field))
    except ValueError:
        raise InvalidInput(field, f"must be an ISO date, got {value!r}") from None


def _decimal(value: object, field: str) -> str:
    text = _text(value, field)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(field, f"must be a decimal string, got {value!r}") from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(field, "must be a finite, non-negative decimal")
    return text


def _one_of(*allowed: str) -> Reader:
    def one_of(value: object, field: str) -> str:
        if value not in allowed:
            raise InvalidInput(field, f"must be one of {', '.join(allowed)}")
        return str(value)
    return one_of


_LINE: dict[str, Reader] = {
    "cls": _one_of("A", "B", "C", "none"), "pric": _decimal, "cnt": _decimal,
    "selfpay_prop": _decimal, "lmt_pric": _optional(_decimal), "restricted_ok": _flag,
    "code": _optional(_text)}


def _lines(value: object, field: str) -> list[dict[str, object]]:
    if not isinstance(value, list) or not value or len(value) > 10000:
        raise InvalidInput(field, "must be a non-empty list of fee lines")
    return [_object(line, f"{field}[{i}]", _LINE) for i, line in enumerate(value)]


def _object(value: object, field: str, spec: Mapping[str, Reader]) -> dict[str, object]:
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be a JSON object")
    return {name: read(value.get(name), f"{field}.{name}") for name, read in spec.items()}


_VISIT_TYPE = _one_of("outpatient", "inpatient", "chronic")
_SETTLE: dict[str, Reader] = {
    "mdtrt_id": _text, "psn_no": _text, "insutype": _text, "visit_type": _VISIT_TYPE,
    "med_type": _text, "disease": _optional(_text), "level": _text,
    "dedc_level": _optional(_text), "acct_used": _flag, "lines": _lines,
    "fixmedins_code": _text, "mdtrtarea_admvs": _text, "insu_admdvs": _text,
    "disease_opened": _flag}

#: Per operation: the fields it reads and how each is checked (and converted).
SPECS: dict[str, dict[str, Reader]] = {
    "person_info": {"cert_type": _text, "cert_no": _text, "card_sn": _optional(_text)},
    "open_visit": {
        "mdtrt_id": _text, "psn_no": _text, "insutype": _text, "visit_type": _VISIT_TYPE,
        "med_type": _text, "mdtrtarea_admvs": _text, "fixmedins_code": _text,
        "begntime": _moment, "emergency": _flag, "disease": _optional(_text),
        "cert_type": _optional(_text), "cert_no": _optional(_text),
        "card_sn": _optional(_text)},
    "cancel_visit": {"mdtrt_id": _text},
    "change_visit": {"mdtrt_id": _text, "begntime": _moment},
    "pre_settle": _SETTLE | {"setl_id": _optional(_text)},
    "settle": _SETTLE | {"setl_id": _text},
    "cancel_settlement": {"setl_id": _text, "cancel_setl_id": _text,
                          "fixmedins_code": _optional(_text)},
    "reverse": {"omsgid": _text, "oinfno": _text, "cancel_setl_id": _text,
                "fixmedins_code": _text, "psn_no": _optional(_text),
                "mdtrt_id": _optional(_text)},
    "accumulations": {"psn_no": _text},
    "file_referral": {"psn_no": _text, "mdtrtarea_admdvs": _text, "begndate": _day},
    "revoke_filing": {"psn_no": _text, "trt_dcla_detl_sn": _text},
}


def read_request(op: str, payload: object) -> dict[str, Any]:
    """The checked request of operation `op` (times and dates parsed), or InvalidInput."""
    spec = SPECS.get(op)
    if spec is None:
        raise InvalidInput("op", f"unknown federation operation {op!r}")
    return _object(payload, "payload", spec)
