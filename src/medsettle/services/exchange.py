"""What a treating place asks an insured place, and what it gets back (typed, English names).

The treating node builds these requests; the insured node's operations take them and return the
answers below. Between two nodes they travel as JSON (adapters/codec.py); for a node's own
insured persons they are passed in process. Every id in a request is derived from the
institution and its msgid (core/ids.py), so a retry asks for exactly the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from medsettle.core.benefits import Amounts
from medsettle.core.lines import FeeLine
from medsettle.core.records import Identity
from medsettle.services.directory import (
    FindInstitutions,
    InstitutionsFound,
    SettlementLines,
    SettlementLinesQuery,
)


@dataclass(frozen=True)
class FindPerson:
    """1101: who does this credential name (e-voucher token, ID number or card)?"""

    cert_type: str
    cert_no: str
    card_sn: str | None = None


@dataclass(frozen=True)
class OpenVisit:
    """2201/2401: register or admit a visit of the insured person at an institution."""

    visit_id: str
    person_id: str
    insutype: str
    visit_type: str
    med_type: str
    treating_region: str
    institution: str
    begins: datetime
    cert_type: str  # the credential the person showed: it must name this person
    cert_no: str
    card_sn: str | None = None
    emergency: bool = False
    disease: str | None = None


@dataclass(frozen=True)
class ChangeVisit:
    """2403: a corrected admission time, asked by the institution that admitted the person."""

    visit_id: str
    begins: datetime
    institution: str


@dataclass(frozen=True)
class CancelVisit:
    """2202/2404: cancel a registration or admission without a settlement, asked by the
    institution that registered it."""

    visit_id: str
    institution: str


@dataclass(frozen=True)
class SettleVisit:
    """2206/2207, 2303/2304: the visit's classified lines, to pre-settle or settle."""

    visit_id: str
    person_id: str
    insutype: str
    visit_type: str
    med_type: str
    level: str
    institution: str
    treating_region: str
    insured_region: str
    lines: tuple[FeeLine, ...]
    settlement_id: str | None = None  # None: a pre-settlement
    use_account: bool = False
    disease: str | None = None
    deductible_level: str | None = None
    disease_opened: bool = True


@dataclass(frozen=True)
class CancelSettlement:
    """2208/2305 (or the operators' reconciliation): cancel a settlement exactly."""

    settlement_id: str
    cancel_id: str
    institution: str | None = None


@dataclass(frozen=True)
class Reverse:
    """2601 and the treating node's own reversal (冲正): undo what message `original` did."""

    original: str  # the msgid
    original_infno: str
    cancel_id: str
    institution: str
    person_id: str | None = None
    visit_id: str | None = None


@dataclass(frozen=True)
class Accumulations:
    """5206: the person's accumulators of the current medical year."""

    person_id: str


@dataclass(frozen=True)
class FileReferral:
    """2501: a referral filing (转诊备案) made by the referring institution."""

    person_id: str
    destination: str
    begins: date
    institution: str


@dataclass(frozen=True)
class RevokeReferral:
    """2502: revoke a referral filing (only by the institution that filed it)."""

    person_id: str
    filing_no: str
    institution: str


#: The requests, by the operation name they travel under.
REQUESTS: dict[str, type] = {
    "person_info": FindPerson, "open_visit": OpenVisit, "change_visit": ChangeVisit,
    "cancel_visit": CancelVisit, "pre_settle": SettleVisit, "settle": SettleVisit,
    "cancel_settlement": CancelSettlement, "reverse": Reverse, "accumulations": Accumulations,
    "file_referral": FileReferral, "revoke_filing": RevokeReferral,
    # the insured person's app asks another province (services/directory.py)
    "institutions": FindInstitutions, "settlement_lines": SettlementLinesQuery,
}


@dataclass(frozen=True)
class PersonFound:
    """1101 answered: identity, insurance and special identities."""

    identity: Identity
    insured_region: str
    account_balance: int
    insurance_active: bool
    employer: str = ""
    assistance_category: str | None = None


@dataclass(frozen=True)
class VisitOpened:
    """The insured place accepted the visit, with the benefit class its filings give it."""

    visit_id: str
    benefit_class: str
    identity: Identity


@dataclass(frozen=True)
class VisitChanged:
    """The insured place accepted a corrected admission time."""

    visit_id: str
    benefit_class: str


@dataclass(frozen=True)
class VisitCancelled:
    """Whether the insured place had the visit to cancel."""

    cancelled: bool


@dataclass(frozen=True)
class Computed:
    """A pre-settlement or settlement computed by the insured place (amounts in fen)."""

    amounts: Amounts
    balance: int
    benefit_class: str
    policy_id: str
    medical_year: str
    scheme: str
    identity: Identity
    steps: tuple[str, ...] = ()
    settlement_id: str | None = None  # set for a settlement
    settled_at: datetime | None = None  # the one time every side records
    warnings: tuple[str, ...] = ()  # supervision's real-time rule hits (warn_msg)
    policy_hash: str = ""  # the parameter set's content hash ("" from a node before it)


@dataclass(frozen=True)
class Indexed:
    """What the hub indexes of a settlement record (amounts in fen)."""

    settlement_id: str
    kind: str
    visit_id: str
    person_id: str
    insured_region: str
    treating_region: str
    institution: str
    visit_type: str
    settled_at: datetime
    amounts: Amounts
    msgid: str
    cancels: str | None = None


@dataclass(frozen=True)
class Cancelled:
    """A settlement cancelled at the insured place: the cancel's record and its original, so
    that the hub never holds a cancel without the settlement it cancels."""

    cancel: Indexed
    original: Indexed
    balance: int


@dataclass(frozen=True)
class Reversed:
    """2601 at the insured place: what it undid, if anything."""

    reversed: bool
    already: bool = False
    cancelled: Cancelled | None = None
    visit_id: str | None = None


@dataclass(frozen=True)
class AccumulatorsOfYear:
    """5206 answered: the medical year and its accumulators (nested, fen or counts)."""

    year: str
    accumulators: dict[str, Any]


@dataclass(frozen=True)
class ReferralFiled:
    """2501 answered."""

    filing_no: str


@dataclass(frozen=True)
class ReferralRevoked:
    """2502 answered."""

    filing_no: str
    revoked: bool = True


#: The answers, by operation name.
ANSWERS: dict[str, type] = {
    "person_info": PersonFound, "open_visit": VisitOpened, "change_visit": VisitChanged,
    "cancel_visit": VisitCancelled, "pre_settle": Computed, "settle": Computed,
    "cancel_settlement": Cancelled, "reverse": Reversed, "accumulations": AccumulatorsOfYear,
    "file_referral": ReferralFiled, "revoke_filing": ReferralRevoked,
    "institutions": InstitutionsFound, "settlement_lines": SettlementLines,
}
