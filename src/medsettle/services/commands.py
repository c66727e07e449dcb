"""What a hospital asks of its treating node, as typed commands (the HIS gateway builds them
from the national messages; the use cases in treating*.py take them).

Every command that changes something carries its `Origin`: the institution that sent it, its
msgid (the key of idempotency, and the seed of the ids the message creates) and the insured
region the hospital named. A field error raised by a use case names the command's field in
English (`lines[2].serial`); the gateway tells the hospital the national path of that field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Origin:
    """Who sent a message: the institution, its msgid, and the insured region it named."""

    institution: str
    msgid: str
    insured_region: str | None = None


@dataclass(frozen=True)
class LookUpPerson:
    """1101: read a credential; `insured_region` and `id_number` help find the insured place."""

    cert_type: str
    cert_no: str
    card_sn: str | None = None
    insured_region: str | None = None
    id_number: str | None = None


@dataclass(frozen=True)
class Register:
    """2201 register an outpatient visit, or 2401 admit (inpatient)."""

    origin: Origin
    person_id: str
    insutype: str
    begins: datetime
    med_type: str
    visit_type: str
    hospital_no: str
    cert_type: str
    cert_no: str
    card_sn: str | None = None
    disease: str | None = None
    emergency: bool = False


@dataclass(frozen=True)
class VisitRef:
    """A visit of the sender's, and whose it is (2202/2404/2405, queries)."""

    origin: Origin
    visit_id: str
    person_id: str
    hospital_no: str | None = None  # 2202 repeats the hospital's own visit number
    inpatient: bool | None = None  # the transaction is only for stays (True) / visits (False)


@dataclass(frozen=True)
class UpdateVisit:
    """2203: the visit's medical type and disease."""

    visit: VisitRef
    med_type: str
    visit_type: str
    disease: str | None = None


@dataclass(frozen=True)
class ChangeAdmission:
    """2403: a corrected admission time or medical type (21/28) of a stay."""

    visit: VisitRef
    begins: datetime | None = None
    med_type: str | None = None


@dataclass(frozen=True)
class Discharge:
    """2402: the stay ends."""

    visit: VisitRef
    ends: datetime


@dataclass(frozen=True)
class UploadedLine:
    """One fee line as the hospital sends it (2204/2301)."""

    serial: str  # feedetl_sn, unique within the visit
    batch: str
    code: str  # the national catalogue code
    hospital_code: str
    name: str
    price: Decimal
    count: Decimal
    occurred_at: datetime


@dataclass(frozen=True)
class UploadFees:
    """2204/2301: fee lines of one visit."""

    visit: VisitRef
    lines: tuple[UploadedLine, ...]


@dataclass(frozen=True)
class CancelFees:
    """2205/2302: unsettled lines of a batch, one line, or every line."""

    visit: VisitRef
    batch: str | None = None
    serial: str | None = None
    everything: bool = False


@dataclass(frozen=True)
class Settle:
    """2206/2207 outpatient, 2303/2304 inpatient: pre-settle or settle the visit's lines."""

    visit: VisitRef
    total: int  # fen, as the hospital counted it: must match the uploaded lines
    inpatient: bool
    persist: bool  # False: a pre-settlement
    use_account: bool = False
    interim: bool = False  # 中途结算 of a stay not yet discharged
    cert_type: str = ""
    invoice_no: str = ""  # the hospital's invoice number (发票号), kept with the settlement


@dataclass(frozen=True)
class CancelSettlement:
    """2208/2305: cancel a settlement of the visit."""

    visit: VisitRef
    settlement_id: str


@dataclass(frozen=True)
class Reversal:
    """2601: undo what message `original` (an `original_infno`) did, if it happened."""

    origin: Origin
    person_id: str
    original: str
    original_infno: str


@dataclass(frozen=True)
class VisitsQuery:
    """5201/5205: a person's visits at the sender's institution in a period."""

    origin: Origin
    person_id: str
    begins: datetime | None = None
    ends: datetime | None = None
    chronic_only: bool = False


@dataclass(frozen=True)
class SettlementsQuery:
    """5203/5204/5261/5262: a person's settlements (or fee lines) by settlement or visit, and
    (5261) settled in a period."""

    origin: Origin
    person_id: str
    settlement_id: str | None = None
    visit_id: str | None = None
    begins: datetime | None = None
    ends: datetime | None = None
