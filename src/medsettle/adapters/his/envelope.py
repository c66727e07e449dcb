"""The request and response envelopes of the national HIS interface (interface.md §2, §3).

`parse_envelope` reads the request; `success` and `failure` build the response. Times are passed
in by the caller (no clock here). `body_hash` lets the gateway tell a true retry of a `msgid`
(same message: return the stored answer) from a reused `msgid` with a different message; it
covers what the message asks (MESSAGE_KEYS), not when or by whom it was sent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from medsettle.adapters.his.reader import Node, is_blank
from medsettle.core.codes import validate_admdvs, validate_institution_code
from medsettle.core.errors import InvalidInput

#: The largest serialized `input` the interface allows (interface.md §2).
INPUT_MAX_CHARS = 40000
#: 9101 carries a file of up to 1 MB as a JSON array of byte values ("255," is 4 characters).
UPLOAD_INPUT_MAX_CHARS = 4_100_000
#: A raw body beyond this is refused before parsing (a 9101 upload written with spaces after
#: its commas, plus the envelope).
BODY_MAX_BYTES = 5_500_000
#: The most characters of `err_msg` (s(200)).
ERR_MSG_MAX = 200

_INFNO = re.compile(r"\d{4}[A-Z]?", re.ASCII)
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)
#: What makes two envelopes the same message: a retry may rebuild the envelope with a new
#: inf_time, operator or sign_no, and is still the same message.
MESSAGE_KEYS = ("infno", "msgid", "mdtrtarea_admvs", "insuplc_admdvs", "fixmedins_code",
                "input")
_MSGID = re.compile(r"[\x21-\x7e]{1,30}", re.ASCII)
_OPTER_TYPES = frozenset({"1", "2", "3"})
#: Local envelope keys some deployments add (interface.md §2), kept to be echoed by a dialect.
LOCAL_KEYS = ("serv_code", "serv_sign", "appname", "medins_code", "insur_code")


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed request envelope; `input` is still raw, for `inputs.parse_input`."""

    infno: str
    msgid: str
    mdtrtarea_admvs: str
    insuplc_admdvs: str | None
    recer_sys_code: str
    infver: str
    opter_type: str
    opter: str
    opter_name: str
    inf_time: datetime
    fixmedins_code: str
    fixmedins_name: str
    sign_no: str | None
    input: dict[str, Any]
    body_hash: str
    echoed: dict[str, str] = field(default_factory=dict)  # its LOCAL_KEYS that are strings


def canonical_json(value: object) -> str:
    """The canonical JSON text of a value: sorted keys, no spaces, UTF-8 characters kept."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def load_json(raw: bytes | str) -> object:
    """Decode and parse the body, or raise InvalidInput("body")."""
    if len(raw) > BODY_MAX_BYTES:
        raise InvalidInput("body", f"is larger than {BODY_MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise InvalidInput("body", "is not UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("body", f"is not valid JSON: {exc}") from None
    if _ESCAPED_SURROGATE.search(text):
        check_text(value)
    return value


def check_text(value: object, path: str = "") -> None:
    """Refuse a string with a lone UTF-16 surrogate (JSON "\\ud800"), which is not text and
    cannot be stored: InvalidInput naming the field where it is."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(path or "body", "contains a lone surrogate (such as \\ud800), "
                                               "which is not text") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            check_text(key, name)
            check_text(item, name)
    elif isinstance(value, list):  # a body that is a list: its items are body[0], body[1], …
        for i, item in enumerate(value):
            check_text(item, f"{path or 'body'}[{i}]")


def _read_input(node: Node, infno: str) -> dict[str, Any]:
    """The `input` object, at most INPUT_MAX_CHARS characters once serialized (a 9101 upload:
    UPLOAD_INPUT_MAX_CHARS)."""
    value = node.data.get("input")
    if is_blank(value):
        raise InvalidInput("input", "is required")
    if not isinstance(value, dict):
        raise InvalidInput("input", "must be a JSON object")
    limit = UPLOAD_INPUT_MAX_CHARS if infno == "9101" else INPUT_MAX_CHARS
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    if size > limit:
        raise InvalidInput("input", f"is {size} characters serialized; at most {limit} allowed")
    return value


def _read_msgid(node: Node) -> str:
    """The sender's message id: 1–30 printable ASCII characters."""
    msgid = node.text("msgid", maxlen=30)
    if _MSGID.fullmatch(msgid) is None:
        raise InvalidInput("msgid", f"expected 1-30 printable ASCII characters, got {msgid!r}")
    return msgid


def _read_infno(node: Node) -> str:
    """The transaction code: four digits and an optional capital letter (3401A)."""
    infno = node.text("infno", maxlen=5)
    if _INFNO.fullmatch(infno) is None:
        raise InvalidInput("infno", f"expected four digits and an optional letter, got {infno!r}")
    return infno


def parse_envelope(raw: bytes | str) -> Envelope:
    """Parse and validate a request body; unknown envelope keys are ignored (interface.md §2)."""
    return envelope_of(load_object(raw))


def load_object(raw: bytes | str) -> dict[str, Any]:
    """The request body, which must be a JSON object; else InvalidInput("body")."""
    obj = load_json(raw)
    if not isinstance(obj, dict):
        raise InvalidInput("body", "must be a JSON object")
    return obj


def envelope_of(obj: dict[str, Any]) -> Envelope:
    """Validate a parsed request body (its input in clear) as an envelope."""
    node = Node(obj, "")
    infno = _read_infno(node)
    return Envelope(
        infno=infno,
        msgid=_read_msgid(node),
        mdtrtarea_admvs=node.code("mdtrtarea_admvs", validate_admdvs),
        insuplc_admdvs=node.opt_code("insuplc_admdvs", validate_admdvs),
        recer_sys_code=node.text("recer_sys_code", maxlen=10),
        infver=node.text("infver", maxlen=6),
        opter_type=node.choice("opter_type", _OPTER_TYPES),
        opter=node.text("opter", maxlen=30),
        opter_name=node.text("opter_name", maxlen=50),
        inf_time=node.moment("inf_time"),
        fixmedins_code=node.code("fixmedins_code", validate_institution_code),
        fixmedins_name=node.text("fixmedins_name", maxlen=100),
        sign_no=node.opt_text("sign_no", maxlen=30),
        input=_read_input(node, infno),
        body_hash=hashlib.sha256(canonical_json(
            {key: obj.get(key) or None for key in MESSAGE_KEYS}).encode("utf-8")).hexdigest(),
        echoed={key: value.strip()[:200] for key in LOCAL_KEYS
                if isinstance(value := obj.get(key), str)},
    )


@dataclass(frozen=True, slots=True)
class FileAnswer:
    """A 9102 answer: the file itself, sent as its bytes rather than in an envelope."""

    filename: str
    content: bytes


def ref_msgid(admdvs: str, now: datetime, serial: int) -> str:
    """The receiver message id: admdvs(6) + yyyyMMddHHmmss(14) + serial(10) = 30 characters."""
    region = validate_admdvs(admdvs, "admdvs")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 <= serial < 10**10:
        raise InvalidInput("serial", f"must be an integer in [0, 10^10), got {serial!r}")
    return f"{region}{now:%Y%m%d%H%M%S}{serial:010d}"


def wire_time(moment: datetime) -> str:
    """A response time as `yyyyMMddHHmmssSSS` (17 characters)."""
    return f"{moment:%Y%m%d%H%M%S}{moment.microsecond // 1000:03d}"


def _response(infcode: int, output: object, *, ref: str, received: datetime, now: datetime,
              err_msg: str, warn_msg: str) -> dict[str, Any]:
    return {
        "infcode": infcode,
        "inf_refmsgid": ref,
        "refmsg_time": wire_time(received),
        "respond_time": wire_time(now),
        "err_msg": err_msg,
        "warn_msg": warn_msg,
        "cainfo": "",
        "signtype": "",
        "output": output,
    }


def success(output: object, *, ref: str, received: datetime, now: datetime,
            warn_msg: str = "") -> dict[str, Any]:
    """The response to a transaction that succeeded: infcode 0 and its output."""
    return _response(0, output, ref=ref, received=received, now=now, err_msg="",
                     warn_msg=warn_msg)


def failure(err_msg: str, *, ref: str, received: datetime, now: datetime) -> dict[str, Any]:
    """The response to a failed transaction: infcode -1, output null, err_msg ≤ 200 characters."""
    text = err_msg.strip() or "交易失败"
    if len(text) > ERR_MSG_MAX:
        text = text[: ERR_MSG_MAX - 1] + "…"
    return _response(-1, None, ref=ref, received=received, now=now, err_msg=text, warn_msg="")


def read_infcode(response: Mapping[str, object]) -> int:
    """The infcode of a response from any deployment: an int, or a string such as "0"."""
    value = response.get("infcode")
    if isinstance(value, bool):
        raise InvalidInput("infcode", f"must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip(), re.ASCII):
        return int(value.strip())
    raise InvalidInput("infcode", f"must be an integer, got {value!r}")


def read_err_msg(response: Mapping[str, object]) -> str:
    """The error text of a response: `err_msg`, or `message` in some deployments; "" if none."""
    for key in ("err_msg", "message"):
        value = response.get(key)
        if isinstance(value, str) and not is_blank(value):
            return value
    return ""
