"""Request and response schemas of the nodes' JSON routes, for their OpenAPI (openapi.py).

The routes read their bodies themselves (common.py: 400 naming the field); these models say
what they read and answer. The federation operations' payloads and results are the typed
requests and answers of services/exchange.py, as core/jsonform.py carries them: decimals as
decimal strings, times as ISO 8601 text, amounts in integer fen.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, JsonSchemaValue
from pydantic_core import core_schema

from medsettle.services.exchange import ANSWERS, REQUESTS

REF = "#/components/schemas/{model}"
DECIMAL = {"type": "string", "pattern": r"^\d+(\.\d+)?$", "description": "a decimal string"}
#: A person's accumulators of a year: nested objects by kind, down to whole numbers (fen or
#: counts), e.g. {"fund": {"outpatient": 120000}, "visits": {"inpatient": 2}}.
ACCUMULATORS = {"type": "object", "title": "Accumulators",
                "description": "nested by kind, down to whole numbers (fen or counts)",
                "additionalProperties": {"anyOf": [
                    {"type": "integer"}, {"$ref": REF.format(model="Accumulators")}]}}


class ErrorDetail(BaseModel):
    """Why a request was refused."""

    code: str = Field(description="a stable reason, e.g. invalid_input, authentication_failed")
    message: str = Field(description="what is wrong, naming the field")
    field: str | None = Field(None, description="the field at fault, when there is one")


class ErrorBody(BaseModel):
    """The answer to a refused request: nothing was changed."""

    ok: Literal[False]
    error: ErrorDetail


class Done(BaseModel):
    """A request that was carried out and answers nothing more."""

    ok: Literal[True]


class HubProcess(BaseModel):
    boot: str  # names the hub's process: a new one means it restarted (index catch-up)


class Greeted(BaseModel):
    """A register or heartbeat taken; which hub process took it."""

    ok: Literal[True]
    result: HubProcess


class RegisterRequest(BaseModel):
    """A province tells the hub where it listens (signed)."""

    endpoint: str = Field(pattern=r"^https?://[\x21-\x7e]{1,192}$")


class LocatorRequest(BaseModel):
    """Hashes of a province's insured persons' ID numbers, for the hub's locator (signed)."""

    hashes: list[str] = Field(max_length=10_000, json_schema_extra={
        "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}})


class InsuredElsewhere(BaseModel):
    certno_hash: str
    province: str  # another province that insures the same person (重复参保)


class LocatorResult(BaseModel):
    count: int  # hashes in this request
    elsewhere: list[InsuredElsewhere] = []  # of this request's hashes, those insured twice
    held: int | None = None  # an empty request (an ask): hashes the hub holds for the sender
    twice: int | None = None  # an ask: the sender's persons another province insures too


class LocatorAnswer(BaseModel):
    ok: Literal[True]
    result: LocatorResult


class NodeEntry(BaseModel):
    region: str
    endpoint: str  # where the hub reaches the node (not on the public /status)
    status: Literal["up", "down"]
    since: str
    last_seen: str


class NodesAnswer(BaseModel):
    ok: Literal[True]
    result: list[NodeEntry]


class LocateRequest(BaseModel):
    """Which province insures the person with this ID number's SHA-256 (signed)."""

    certno_hash: str = Field(pattern="^[0-9a-f]{64}$")


class Located(BaseModel):
    province: str | None = Field(description="the insuring province, or null if unknown")


class LocateAnswer(BaseModel):
    ok: Literal[True]
    result: Located


class CallRequest(BaseModel):
    """A federation operation the hub forwards to province `to` (signed)."""

    to: str = Field(pattern=r"^\d{6}$", description="the province asked")
    op: Literal[tuple(REQUESTS)]  # type: ignore[valid-type]
    msgid: str = Field(pattern=r"^[\x21-\x7e]{0,40}$",
                       description="\"\" only for person_info and accumulations")
    payload: dict[str, Any] = Field(json_schema_extra={
        "description": "the operation's request: see POST /fed/v1/ops/{op} at the province"})


class Health(BaseModel):
    """A province node's liveness and size."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["ok"]
    node: str
    persons: int
    catalogue: int


class _Schemas(GenerateJsonSchema):
    """Decimals as the decimal strings jsonform carries (never JSON numbers)."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> JsonSchemaValue:
        return dict(DECIMAL)


def op_schemas() -> tuple[dict[str, tuple[dict[str, Any], dict[str, Any]]], dict[str, Any]]:
    """Per federation operation, the schemas of its request document and of its answer, and
    the component schemas they refer to."""
    inputs: list[tuple[tuple[str, str], JsonSchemaMode, TypeAdapter[Any]]] = []
    for op in REQUESTS:
        inputs.append(((op, "request"), "validation", TypeAdapter(REQUESTS[op])))
        inputs.append(((op, "answer"), "serialization", TypeAdapter(ANSWERS[op])))
    found, defs = TypeAdapter.json_schemas(inputs, ref_template=REF, schema_generator=_Schemas)
    out = {}
    for op in REQUESTS:
        request = {"type": "object", "required": ["from", "msgid", "payload"], "properties": {
            "from": {"type": "string", "description": "the asking province, or \"hub\""},
            "msgid": {"type": "string", "pattern": r"^[\x21-\x7e]{0,40}$"},
            "payload": found[((op, "request"), "validation")]}}
        answer = {"type": "object", "required": ["ok", "result"], "properties": {
            "ok": {"const": True}, "result": found[((op, "answer"), "serialization")]}}
        out[op] = (request, answer)
    components = defs.get("$defs", {})
    if "AccumulatorsOfYear" in components:  # nested by kind down to whole numbers
        components["Accumulators"] = ACCUMULATORS
        components["AccumulatorsOfYear"]["properties"]["accumulators"] = {
            "$ref": REF.format(model="Accumulators")}
    return out, components
