"""The request and response envelopes (interface.md §2, §3) as models.

`RequestEnvelope` is what a HIS sends around a transaction's input; `ResponseEnvelope` reads the
platform's answer from any deployment: `infcode` as a number or a string ("0"), `err_msg` or
`message`, and the error code MedSettle puts first in `err_msg` (`[not_filed] …`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, StringConstraints, model_validator

from medsettle.sdk.types import Admdvs, Answer, Message, OptText, WireTime

#: MedSettle's error code in brackets: at the start (`[not_filed] …`) or after the Chinese lead
#: (`未备案：… [not_filed] (no filing …)`).
_CODE = re.compile(r"(?:^|\s)\[([a-z_]+)\]")


def _infcode(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"infcode must be an integer, not {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,9}", value.strip()):
        return int(value.strip())
    raise ValueError(f"infcode must be an integer (or its text), not {value!r}")


class RequestEnvelope(Message):
    """A request envelope; `input` is a transaction's request model, dumped."""

    infno: Annotated[str, StringConstraints(pattern=r"^\d{4}[A-Z]?$")]
    msgid: Annotated[str, StringConstraints(pattern=r"^[\x21-\x7e]{1,30}$")]
    mdtrtarea_admvs: Admdvs
    insuplc_admdvs: OptText = ""
    recer_sys_code: Annotated[str, StringConstraints(min_length=1, max_length=10)]
    dev_no: OptText = ""
    dev_safe_info: OptText = ""
    cainfo: OptText = ""
    signtype: OptText = ""
    infver: Annotated[str, StringConstraints(min_length=1, max_length=6)]
    opter_type: Annotated[str, StringConstraints(pattern=r"^[123]$")]
    opter: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    opter_name: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    inf_time: WireTime
    fixmedins_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]\d{11}$")]
    fixmedins_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    sign_no: OptText = ""
    input: dict[str, Any]


class ResponseEnvelope(Answer):
    """A response envelope; `output` stays raw until the transaction's answer model reads it."""

    infcode: Annotated[int, BeforeValidator(_infcode)]
    inf_refmsgid: str | None = None
    refmsg_time: str | None = None
    respond_time: str | None = None
    err_msg: str | None = ""
    warn_msg: str | None = ""
    output: Any = None

    @model_validator(mode="before")
    @classmethod
    def _message_is_err_msg(cls, data: Any) -> Any:
        """Some deployments name `err_msg` `message`."""
        if isinstance(data, dict) and not data.get("err_msg") and data.get("message"):
            return {**data, "err_msg": data["message"]}
        return data

    @property
    def ok(self) -> bool:
        """infcode 0: the transaction succeeded."""
        return self.infcode == 0

    @property
    def code(self) -> str:
        """MedSettle's error code in `err_msg` (`not_filed`), or "" if it has none."""
        found = _CODE.search(self.err_msg or "")
        return found.group(1) if found else ""
