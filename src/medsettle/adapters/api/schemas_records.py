"""Schemas of the nodes' record routes (对账 records, the settlement index, anchors), for their
OpenAPI (openapi.py). Amounts are integer fen; times ISO 8601 text."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, WithJsonSchema

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


class Seconds(BaseModel):
    seconds: dict[str, int] = Field(description="UTC second (2026-11-30T04:05:07) → index rows")


class IndexSeconds(BaseModel):
    """GET /fed/v1/index/seconds: how many of the caller's insured's settlements the hub has
    indexed in each second of the window (seconds with none are left out)."""

    ok: Literal[True]
    result: Seconds


class IndexRequest(BaseModel):
    """POST /fed/v1/index: settlements to confirm in the hub's index (a repeat adds nothing)."""

    rows: list[SettlementRecord]


class HeldCancel(BaseModel):
    """A cancel the hub did not index: its treating province did not confirm it."""

    setl_id: str
    why: str


class RowCount(BaseModel):
    """How many rows were indexed, and the cancels held (not indexed), with why."""

    rows: int
    held: list[HeldCancel] = []


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


class StoredReport(BaseModel):
    """A kept 对账 report."""

    model_config = ConfigDict(extra="forbid")

    id: int
    day: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    scope: str = Field(description="institution or hub")
    counterpart: str
    balanced: bool
    report: Findings
    created_at: str = Field(description="ISO 8601")


class StoredReports(RootModel[list[StoredReport]]):
    """GET /api/v1/reconciliation-reports: the reports of a day, oldest first."""


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


class ExchangeRequest(BaseModel):
    """POST /fed/v1/anchor-exchange (hub-signed): the hub's heads for the province to keep."""

    hub_heads: HubHeads


class ProvinceHead(BaseModel):
    head: Head | None = Field(description="the province's chain head; null when its ledger "
                                          "is empty")


class ExchangeAnswer(BaseModel):
    ok: Literal[True]
    result: ProvinceHead


class RoundRequest(BaseModel):
    """POST /fed/v1/anchors/round: nothing to send; the signature says who asks."""

    model_config = ConfigDict(extra="forbid")


class Round(BaseModel):
    anchors: dict[str, str] = Field(description="each province's outcome, by region code")


class RoundAnswer(BaseModel):
    ok: Literal[True]
    result: Round


class Anchors(BaseModel):
    node: str
    anchors: list[Head]


class AnchorsAnswer(BaseModel):
    ok: Literal[True]
    result: Anchors


class HitDoc(BaseModel):
    """A supervision rule hit (core/supervision/hits.Hit.to_dict), with its evidence."""

    rule: str = Field(pattern=r"^R\d{2}$")
    name: str = ""
    unit: Literal["settlement", "person", "institution", "institution_day"]
    key: str = Field(max_length=120, description="what was hit")
    severity: Literal["warning", "hard_stop"] = "warning"
    message: str
    threshold: str = Field(description="the parameter and its value")
    source: str = Field(description="where the threshold comes from")
    measured: dict[str, str] = Field(default_factory=dict)
    settlements: list[str] = Field(default_factory=list)
    lines: list[str] = Field(default_factory=list, description="settlement_id/serial")
    institution: str = ""
    person: str = ""
    amount: int = Field(0, description="fen")


class HitsRequest(BaseModel):
    """POST /fed/v1/supervision/hits: a province's batch hits of a month (they replace the
    ones it reported before for that month)."""

    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    hits: list[HitDoc]


class Kept(BaseModel):
    kept: int


class HitsAnswer(BaseModel):
    ok: Literal[True]
    result: Kept


class DecisionRequest(BaseModel):
    """POST /fed/v1/supervision/decisions: a decided case, for the treating province to deduct
    the institution's credit and recover what was refused (拒付); once per case."""

    case_id: str = Field(min_length=1)
    institution: str = Field(pattern=r"^H\d{11}$")
    insured: str = Field(pattern=r"^\d{6}$", description="the insured place")
    severity: str = "none"
    refused: int = Field(0, ge=0, description="fen refused to the institution")


class Decided(BaseModel):
    """The institution's credit after the decision (`already` when the case was applied)."""

    institution: str
    score: int
    points: int | None = None
    suspended: bool
    suspended_until: str | None = None
    recovered: int | None = Field(None, description="fen")
    already: bool | None = None


class DecisionAnswer(BaseModel):
    ok: Literal[True]
    result: Decided


class PaidInstitutions(BaseModel):
    """POST /fed/v1/clearing/{month}/pay-institutions: what each institution was paid now (fen);
    a repeat pays nobody twice."""

    ok: Literal[True]
    result: dict[str, int]
