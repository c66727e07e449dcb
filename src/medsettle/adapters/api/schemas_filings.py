"""Schemas of a province's filing (备案) API (province_filings.py), for its OpenAPI. The routes
read their bodies with services/filings.py; these models say what it reads and answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, RootModel

from medsettle.core.filing import FilingCategory, FilingChannel, FilingRoute, FilingStatus

DATE = r"^\d{4}-\d{2}-\d{2}$"


class Proxy(BaseModel):
    """Who applied for the insured person (代办), and what was checked."""

    agent_psn_no: str = ""
    relationship: str = ""
    consent_recorded: bool = False
    face_verified: bool = False


class FilingApplication(BaseModel):
    """POST /api/v1/filings: an application for a filing."""

    psn_no: str = Field(description="the insured person, of this province")
    category: FilingCategory
    destination: str = Field(pattern=r"^\d{6}$", description="where they will be treated")
    # optional but never null: left out, it is today
    start: str = Field(None, pattern=DATE,  # type: ignore[assignment]
                       description="yyyy-MM-dd; leave it out for today")
    channel: FilingChannel = FilingChannel.APP
    commitment: bool = Field(False, description="承诺制: a signed commitment instead of proof")
    materials: list[str] = Field(default_factory=list, description="the proof handed in")
    proxy: Proxy | None = None


class PostHocApplication(FilingApplication):
    """POST /api/v1/filings/post-hoc: 补办 after admission, back-dated."""

    admission_date: str = Field(pattern=DATE)
    discharge_settled: bool = Field(False, description="the stay was already settled by the "
                                                       "patient (then manual reimbursement)")


class FilingChange(BaseModel):
    """POST /api/v1/filings/{filing_no}/change: a new destination (the filing is superseded)."""

    destination: str = Field(pattern=r"^\d{6}$")


class FilingDecision(BaseModel):
    """POST /api/v1/filings/{filing_no}/decision: an operator's review."""

    approve: bool
    reason: str = ""


class Filing(BaseModel):
    """A filing as the API answers it."""

    model_config = ConfigDict(extra="forbid")

    filing_no: str
    psn_no: str
    insu_admdvs: str
    category: FilingCategory
    destination: str
    valid_from: str = Field(pattern=DATE)
    valid_until: str | None = Field(pattern=DATE)
    status: FilingStatus
    route: FilingRoute
    channel: FilingChannel
    applied_on: str = Field(pattern=DATE)
    decided_on: str | None = Field(pattern=DATE)
    review_due: str | None = Field(pattern=DATE)
    proxy: Proxy | None
    post_hoc: bool
    reason: str


class ChangedFiling(Filing):
    """The new filing, and the one it supersedes."""

    supersedes: str


class PostHocFiling(Filing):
    """A 补办 filing, and how the stay is paid."""

    settle_directly: bool
    manual_reimbursement: bool


class Filings(RootModel[list[Filing]]):
    """A person's filings, newest first."""


#: The filing routes' (request, answer) models, by (method, path).
FILING_SCHEMAS: dict[tuple[str, str], tuple[type[BaseModel] | None, type[BaseModel] | None]] = {
    ("POST", "/api/v1/filings"): (FilingApplication, Filing),
    ("POST", "/api/v1/filings/post-hoc"): (PostHocApplication, PostHocFiling),
    ("GET", "/api/v1/persons/{psn_no}/filings"): (None, Filings),
    ("POST", "/api/v1/filings/{filing_no}/change"): (FilingChange, ChangedFiling),
    ("POST", "/api/v1/filings/{filing_no}/cancel"): (None, Filing),
    ("POST", "/api/v1/filings/{filing_no}/decision"): (FilingDecision, Filing),
}
