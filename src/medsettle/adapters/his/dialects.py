"""Dialect profiles: how one institution's HIS differs from the national document, chosen when
the institution is registered (`institutions.dialect`; NULL is national).

A profile says what the gateway accepts beyond the document, and how it writes its answers:

- `accept`, tolerances applied to the input before it is read, each only where no amount can
  be mis-settled (an amount is never guessed, filled in or rewritten):
  - `unwrapped_input`: the fields of a `{"data": {...}}` transaction sent without `data`;
  - `date_only_begntime`: a date `yyyy-MM-dd` where a start time is expected (the visit's
    begntime, a query's begntime or endtime): the start of that day (a query's endtime: its
    end). A visit's amounts depend on the date it began, never on the time of day;
  - `infer_cert_type`: a blank `mdtrt_cert_type` taken from `mdtrt_cert_no` when the number
    has the form of exactly one credential (e-voucher token 01, ID card 02, card number 03);
- `infcode`: "number" (national) or "string" ("0", "-1");
- `err_msg_key`: "err_msg" (national) or "message";
- `echo_keys`: local envelope keys (serv_code, serv_sign, appname, medins_code, insur_code)
  that the answer carries back, with the request's value ("" when it had none).

Unknown envelope keys are ignored in every profile, as the national document asks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from medsettle.adapters.his.envelope import LOCAL_KEYS
from medsettle.adapters.his.reader import is_blank
from medsettle.core.codes import (
    validate_evoucher_token,
    validate_id_card,
    validate_social_security_card_no,
)
from medsettle.core.errors import InvalidInput

TOLERANCES = ("unwrapped_input", "date_only_begntime", "infer_cert_type")
ECHO_KEYS = LOCAL_KEYS


@dataclass(frozen=True)
class Dialect:
    """One HIS's dialect: what the gateway accepts from it and how it answers it."""

    name: str = "national"
    accept: frozenset[str] = frozenset()
    infcode: str = "number"
    err_msg_key: str = "err_msg"
    echo_keys: tuple[str, ...] = field(default=())


NATIONAL = Dialect()
#: Named profiles an institution may be registered with.
PRESETS: dict[str, Dialect] = {
    "national": NATIONAL,
    "tolerant": Dialect("tolerant", accept=frozenset(TOLERANCES)),
    "string-infcode": Dialect("string-infcode", accept=frozenset(TOLERANCES), infcode="string"),
    "message": Dialect("message", accept=frozenset(TOLERANCES), err_msg_key="message"),
    "chongqing": Dialect("chongqing", accept=frozenset(TOLERANCES), infcode="string",
                         echo_keys=("serv_code", "serv_sign")),
}
_OPTIONS = {"base", "accept", "infcode", "err_msg_key", "echo_keys"}


def _names(value: object, field_name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list) or any(v not in allowed for v in value):
        raise InvalidInput(field_name, f"expected a list of {', '.join(allowed)}, got {value!r}")
    return tuple(value)


def _choice(value: object, field_name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidInput(field_name, f"expected {' or '.join(allowed)}, got {value!r}")
    return str(value)


def parse_dialect(doc: object, field_name: str = "dialect") -> Dialect:
    """A profile from its registration: None (national), a preset's name, or an object
    {base?, accept?, infcode?, err_msg_key?, echo_keys?} whose keys override the base preset."""
    if doc is None:
        return NATIONAL
    if isinstance(doc, str):
        if doc not in PRESETS:
            raise InvalidInput(field_name, f"unknown profile {doc!r}; expected one of "
                                           f"{', '.join(PRESETS)} or an object")
        return PRESETS[doc]
    if not isinstance(doc, Mapping):
        raise InvalidInput(field_name, "expected a profile name or an object")
    unknown = set(doc) - _OPTIONS
    if unknown:
        raise InvalidInput(field_name, f"unknown options {', '.join(sorted(map(str, unknown)))}; "
                                       f"expected {', '.join(sorted(_OPTIONS))}")
    base = parse_dialect(doc.get("base", "national"), f"{field_name}.base")
    changes: dict[str, Any] = {"name": "custom"}
    if "accept" in doc:
        changes["accept"] = frozenset(_names(doc["accept"], f"{field_name}.accept", TOLERANCES))
    if "infcode" in doc:
        changes["infcode"] = _choice(doc["infcode"], f"{field_name}.infcode",
                                     ("number", "string"))
    if "err_msg_key" in doc:
        changes["err_msg_key"] = _choice(doc["err_msg_key"], f"{field_name}.err_msg_key",
                                         ("err_msg", "message"))
    if "echo_keys" in doc:
        changes["echo_keys"] = _names(doc["echo_keys"], f"{field_name}.echo_keys", ECHO_KEYS)
    return replace(base, **changes)


# --- reading -------------------------------------------------------------------------------------

#: Transactions whose input is `{"data": {...}}` (interface.md §4).
DATA_WRAPPED = frozenset({
    "1101", "1301", "1302", "1305", "1306", "2201", "2202", "2205", "2206", "2207", "2208", "2302",
    "2303", "2304", "2305", "2404", "2405", "2502", "2601", "3201", "3202", "5201", "5203",
    "5204", "5205", "5206"})
#: (infno, node, key) → the time a date-only value stands for.
DATE_ONLY: dict[tuple[str, str, str], str] = {
    ("1101", "data", "begntime"): "00:00:00",
    ("2201", "data", "begntime"): "00:00:00",
    ("2401", "mdtrtinfo", "begntime"): "00:00:00",
    ("2403", "adminfo", "begntime"): "00:00:00",
    ("5201", "data", "begntime"): "00:00:00", ("5201", "data", "endtime"): "23:59:59",
    ("5205", "data", "begntime"): "00:00:00", ("5205", "data", "endtime"): "23:59:59",
}
#: infno → the node that carries mdtrt_cert_type and mdtrt_cert_no.
CREDENTIAL_NODE = {"1101": "data", "2201": "data", "2206": "data", "2207": "data",
                   "2303": "data", "2304": "data", "2401": "mdtrtinfo"}
_CERT_FORMS: tuple[tuple[str, Callable[[object, str], str]], ...] = (
    ("01", validate_evoucher_token), ("02", validate_id_card),
    ("03", validate_social_security_card_no))


def _is_date(value: object) -> bool:
    return (isinstance(value, str) and len(value.strip()) == 10 and value.strip()[4] == "-"
            and value.strip()[7] == "-" and value.strip().replace("-", "").isdigit())


def cert_type_of(cert_no: object) -> str | None:
    """The credential type whose form `cert_no` has, when exactly one has it."""
    if not isinstance(cert_no, str) or not cert_no.strip():
        return None
    kinds = []
    for kind, validate in _CERT_FORMS:
        try:
            validate(cert_no.strip(), "mdtrt_cert_no")
        except InvalidInput:
            continue
        kinds.append(kind)
    return kinds[0] if len(kinds) == 1 else None


def read_input(dialect: Dialect, infno: str, input: dict[str, Any]
               ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The input in the national shape under `dialect`, and the tolerances that changed it.

    Only the keys a tolerance names are written (data, begntime, endtime, mdtrt_cert_type);
    every other value, every amount among them, is passed on as sent."""
    if not dialect.accept:
        return input, ()
    used = []
    doc = dict(input)
    if ("unwrapped_input" in dialect.accept and infno in DATA_WRAPPED and "data" not in doc
            and doc):
        doc = {"data": doc}
        used.append("unwrapped_input")
    for (code, node, key), time in DATE_ONLY.items():
        part = doc.get(node)
        if ("date_only_begntime" in dialect.accept and code == infno
                and isinstance(part, dict) and _is_date(part.get(key))):
            doc[node] = part | {key: f"{part[key].strip()} {time}"}
            used.append("date_only_begntime")
    node_name = CREDENTIAL_NODE.get(infno)
    part = doc.get(node_name) if node_name else None
    if ("infer_cert_type" in dialect.accept and node_name and isinstance(part, dict)
            and is_blank(part.get("mdtrt_cert_type"))):
        kind = cert_type_of(part.get("mdtrt_cert_no"))
        if kind is not None:
            doc[node_name] = part | {"mdtrt_cert_type": kind}
            used.append("infer_cert_type")
    return (doc, tuple(used)) if used else (input, ())


# --- writing -------------------------------------------------------------------------------------

def write_answer(dialect: Dialect, answer: dict[str, Any], echoed: Mapping[str, str]
                 ) -> dict[str, Any]:
    """A national answer as `dialect` writes it; `echoed`: the request's local envelope keys."""
    if dialect == NATIONAL:
        return answer
    out: dict[str, Any] = {}
    for key, value in answer.items():
        if key == "infcode" and dialect.infcode == "string":
            out[key] = str(value)
        elif key == "err_msg":
            out[dialect.err_msg_key] = value
        else:
            out[key] = value
    for key in dialect.echo_keys:
        out[key] = echoed.get(key, "")
    return out
