"""The HIS envelope as pydantic models, for the OpenAPI of `POST /his` (interface.md §2, §3).

They document the wire; the gateway reads messages with envelope.py and signing.py, which are
more tolerant than a schema can say (an empty optional field may be "", null or "null"; unknown
envelope keys are ignored). Each transaction's `input` and `output` are described per infno in
docs/his-integration.md §8.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

Transaction = Annotated[dict[str, Any], WithJsonSchema({
    "type": "object", "description": "the transaction's fields, by infno "
                                     "(docs/his-integration.md §8)"})]
Optional = Annotated[str | None, Field(default=None, description="may be \"\", null or \"null\"")]


class HisRequest(BaseModel):
    """One request envelope (interface.md §2)."""

    model_config = ConfigDict(title="HisRequest")

    infno: str = Field(pattern=r"^\d{4}[A-Z]?$", description="transaction code, e.g. 2207")
    msgid: str = Field(pattern=r"^[\x21-\x7e]{1,30}$",
                       description="the sender's message id: unique per institution; the key "
                                   "of idempotency and of reversal (2601)")
    mdtrtarea_admvs: str = Field(pattern=r"^\d{6}$",
                                 description="treating area, in this node's province")
    insuplc_admdvs: Optional = None
    recer_sys_code: str = Field(max_length=10, examples=["MBS_LOCAL"])
    dev_no: Optional = None
    dev_safe_info: Optional = None
    cainfo: str | None = Field(None, max_length=1024,
                               description="SM2 signature (base64 of r‖s), for institutions "
                                           "that sign with SM2")
    signtype: str | None = Field(None, max_length=10,
                                 description="\"SM2\" when signed with SM2; anything else is "
                                             "ignored for an institution that does not sign "
                                             "with SM2")
    timestamp: str | None = Field(None, pattern=r"^\d{1,12}$",
                                  description="unix seconds; required when signed with SM2")
    nonce: str | None = Field(None, pattern=r"^[0-9A-Za-z_-]{16,64}$",
                              description="new for every message; required when signed with "
                                          "SM2")
    encType: Literal["SM4"] | None = Field(None, description="\"SM4\": input is in encData")
    encData: str | None = Field(None, description="base64(IV ‖ SM4-CBC(input as JSON text))")
    infver: str = Field(max_length=6, examples=["V1.0"])
    opter_type: Literal["1", "2", "3"] = Field(
        description="1 staff, 2 self-service kiosk, 3 mobile terminal")
    opter: str = Field(max_length=30)
    opter_name: str = Field(max_length=50)
    inf_time: str = Field(description="yyyy-MM-dd HH:mm:ss", examples=["2024-03-15 10:30:00"])
    fixmedins_code: str = Field(pattern=r"^H\d{11}$")
    fixmedins_name: str = Field(max_length=100)
    sign_no: Optional = None
    input: Transaction | None = Field(None, description="required unless encType is SM4")


class HisResponse(BaseModel):
    """One response envelope (interface.md §3): always HTTP 200; infcode 0 is success."""

    model_config = ConfigDict(title="HisResponse")

    infcode: int = Field(description="0 success; -1 refused, nothing changed")
    inf_refmsgid: str = Field(pattern=r"^\d{20}\d{10}$",
                              description="admdvs(6) + yyyyMMddHHmmss(14) + serial(10)")
    refmsg_time: str = Field(pattern=r"^\d{17}$", description="yyyyMMddHHmmssSSS, received")
    respond_time: str = Field(pattern=r"^\d{17}$", description="yyyyMMddHHmmssSSS, answered")
    err_msg: str = Field(max_length=200, description="why it was refused; \"\" on success")
    warn_msg: str = Field(description="supervision's warnings on success")
    cainfo: str = Field("", description="the node's SM2 signature of the answer (base64 of "
                                        "r‖s), when the request was signed with SM2")
    signtype: Literal["SM2", ""] = ""
    output: Transaction | None = Field(description="the result; null when refused or "
                                                   "encrypted")
    encType: Literal["SM4"] | None = Field(None, description="present when the request was "
                                                             "encrypted")
    encData: str | None = Field(None, description="base64(IV ‖ SM4-CBC(output as JSON text))")
