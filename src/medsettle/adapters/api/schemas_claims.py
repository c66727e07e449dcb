"""Schemas of a province's manual reimbursement API (手工报销, province_money.py), for its
OpenAPI. The routes read claims with services/reimbursement.parse_claim; these models say what
it reads and what the routes answer. Prices and counts are decimal strings, amounts integer
fen."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DECIMAL = r"^\d+(\.\d+)?$"
LEVEL = r"^L[0-9]$"


class ClaimLine(BaseModel):
    """One classified fee line: 甲 A, 乙 B, 丙 C, or none (not covered)."""

    cls: Literal["A", "B", "C", "none"]
    pric: str = Field(pattern=DECIMAL, description="price, yuan")
    cnt: str = Field(pattern=DECIMAL)
    selfpay_prop: str = Field("0", pattern=DECIMAL, description="乙 self-pay ratio, 0–1")
    lmt_pric: str | None = Field(None, pattern=DECIMAL, description="price cap, yuan")
    restricted_ok: bool = True
    code: str = ""


class TreatingPlace(BaseModel):
    admdvs: str = Field(pattern=r"^\d{6}$")
    fixmedins_code: str = Field(pattern=r"^H\d{11}$")
    level: str = Field(pattern=LEVEL)
    dedc_level: str | None = Field(None, pattern=LEVEL)


class ClaimRequest(BaseModel):
    """POST /api/v1/reimbursements: a claim; the same claim_id with the same content again
    returns the stored claim."""

    claim_id: str = Field(pattern=r"^[0-9A-Za-z_-]{1,30}$")
    psn_no: str = Field(pattern=r"^[0-9A-Za-z]{1,30}$")
    mdtrt_id: str | None = Field(None, pattern=r"^[0-9A-Za-z_-]{1,30}$")
    treating: TreatingPlace
    visit_type: Literal["inpatient", "outpatient", "chronic"]
    disease: str | None = Field(None, description="required for chronic")
    begntime: str = Field(description="yyyy-MM-dd or yyyy-MM-ddTHH:mm:ss")
    setl_date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$",
                                  description="the begntime's day when left out")
    emergency: bool = False
    acct_used: bool = False
    lines: list[ClaimLine] = Field(min_length=1, max_length=2000)


class Rejection(BaseModel):
    """POST /api/v1/reimbursements/{claim_id}/reject."""

    reason: str


class StoredLine(ClaimLine):
    """A claim's line as kept (decimals normalised)."""

    model_config = ConfigDict(extra="forbid")

    lmt_pric: str | None


class Claim(BaseModel):
    """A claim as the API answers it."""

    model_config = ConfigDict(extra="forbid")

    claim_id: str
    psn_no: str
    mdtrt_id: str | None
    treating_admdvs: str
    fixmedins_code: str
    visit_type: str
    disease: str | None
    level: str
    begntime: str
    setl_date: str
    emergency: bool
    lines: list[StoredLine]
    status: Literal["computed", "approved", "paid", "rejected"]
    benefit_class: str
    amounts: dict[str, int] = Field(description="the settlement's amounts by national name, "
                                                "fen")
    delta: dict[str, int] | None = Field(description="what the claim added to the person's "
                                                     "accumulators, by accumulator, fen or "
                                                     "count")
    medical_year: str
    reason: str
    submitted_at: str
    paid_at: str | None
    owed: int = Field(description="what the person is owed: fund and account payments, fen")


#: The reimbursement routes' (request, answer) models, by (method, path).
CLAIM_SCHEMAS: dict[tuple[str, str], tuple[type[BaseModel] | None, type[BaseModel] | None]] = {
    ("POST", "/api/v1/reimbursements"): (ClaimRequest, Claim),
    ("GET", "/api/v1/reimbursements/{claim_id}"): (None, Claim),
    ("POST", "/api/v1/reimbursements/{claim_id}/approve"): (None, Claim),
    ("POST", "/api/v1/reimbursements/{claim_id}/pay"): (None, Claim),
    ("POST", "/api/v1/reimbursements/{claim_id}/reject"): (Rejection, Claim),
}
