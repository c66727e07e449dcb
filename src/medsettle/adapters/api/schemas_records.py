"""Schemas of the nodes' record routes (对账 records, the settlement index, anchors), for their
OpenAPI (openapi.py). Amounts are integer fen; times ISO 8601 text."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

HEX64 = "^[0-9a-f]{64}$"
Findings = Annotated[dict[str, Any], WithJsonSchema({
    "type": "object", "description": "the report's findings (docs/reconciliation.md)"})]


class SettlementRecord(BaseModel):
    """A settlement, cancel or reversal as both sides of 对账 compare it."""

    model_config = ConfigDict(extra="forbid")

    setl_id: str
    kind: str = Field(description="settle, cancel, …")
    ref_setl_id: str | None = Field(description="the settlement a cancel cancels")
    mdtrt_id: str
    psn_no: str
    insu_admdvs: str
    mdtrtarea_admvs: str
    fixmedins_code: str
    visit_type: str
    setl_time: str = Field(description="ISO 8601")
    medfee_sumamt: int = Field(description="fen")
    fund_pay_sumamt: int = Field(description="fen")
    acct_pay: int = Field(description="fen")
    psn_cash_pay: int = Field(description="fen")
    msgid: str


class StoredSettlement(SettlementRecord):
    """A settlement as a province node keeps it."""

    status: str


class SettlementRecords(BaseModel):
    """GET /fed/v1/settlements: a province's records of the days asked for."""

    ok: Literal[True]
    result: list[StoredSettlement]


class IndexRecords(BaseModel):
    """GET /fed/v1/index: the hub's index of the days asked for."""

    ok: Literal[True]
    result: list[SettlementRecord]


class IndexRequest(BaseModel):
    """POST /fed/v1/index: settlements to confirm in the hub's index (a repeat adds nothing)."""

    rows: list[SettlementRecord]


class RowCount(BaseModel):
    rows: int


class IndexAnswer(BaseModel):
    ok: Literal[True]
    result: RowCount


class ReportRequest(BaseModel):
    """POST /fed/v1/reconciliation-reports: a daily 对账 report the hub keeps at a province."""

    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    scope: str = Field("hub", max_length=24)
    counterpart: str = Field("hub", max_length=30)
    balanced: bool = False
    report: Findings | None = None


class AnchorRequest(BaseModel):
    """POST /fed/v1/anchor: a province's ledger chain head of a day."""

    seq: int = Field(ge=1)
    hash: str = Field(pattern=HEX64)
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


class Head(BaseModel):
    seq: int
    hash: str = Field(pattern=HEX64)


class HubHeads(BaseModel):
    """The hub's own chain heads, which the province keeps (counter-anchors)."""

    log: Head | None = None
    ledger: Head | None = None


class Anchored(BaseModel):
    node: str
    seq: int
    new: bool = Field(description="false when the hub had this anchor already")
    hub_heads: HubHeads


class AnchorAnswer(BaseModel):
    ok: Literal[True]
    result: Anchored


class Anchors(BaseModel):
    node: str
    anchors: list[Head]


class AnchorsAnswer(BaseModel):
    ok: Literal[True]
    result: Anchors
