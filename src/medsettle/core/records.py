"""The records a node keeps of visits and settlements, with their states as enums.

A visit is recorded twice: by the treating place (就医地), which registered it and keeps its fee
lines, and by the insured place (参保地), which checked the person's filing and computes the
money. A settlement is recorded by both places too (both rows for a visit of a node's own
insured person) and indexed at the hub for clearing. The database adapter maps these records to
rows in one place; use cases never build a row by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from medsettle.core.benefits import AMOUNT_FIELDS, Amounts


class Role(StrEnum):
    """Which place's record of a settlement this is."""

    INSURED = "insured"
    TREATING = "treating"


class SettlementKind(StrEnum):
    """A settlement (结算) or the record of its cancel (撤销/冲正), with negated amounts."""

    SETTLE = "settle"
    CANCEL = "cancel"


class SettlementStatus(StrEnum):
    """A settle record is settled until it is cancelled; a cancel record stays settled."""

    SETTLED = "settled"
    CANCELLED = "cancelled"


class VisitStatus(StrEnum):
    """The states of a visit: open (registered or admitted), discharged (inpatient, before
    settlement), settled, cancelled, or manual (the insured place could not be reached: the
    patient claims manual reimbursement, 手工报销)."""

    OPEN = "open"
    DISCHARGED = "discharged"
    SETTLED = "settled"
    CANCELLED = "cancelled"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class SettlementRecord:
    """One place's record of a settlement or of its cancel (amounts in fen)."""

    settlement_id: str
    role: Role
    kind: SettlementKind
    status: SettlementStatus
    visit_id: str
    person_id: str
    insured_region: str
    treating_region: str
    institution: str
    med_type: str
    visit_type: str
    insutype: str
    settled_at: datetime
    medical_year: str
    amounts: Amounts
    msgid: str
    cancels: str | None = None  # a cancel record: the settlement it cancels
    balance: int = 0  # the personal account's balance after it
    policy_id: str = ""
    benefit_class: str = ""
    delta: Mapping[str, int] | None = None  # accumulator changes ("dedc_paid.inpatient": fen)
    policy_hash: str = ""  # content hash of the parameter set (with policy_id: exactly which)
    invoice_no: str = ""  # the hospital's invoice number (发票号), as 2207/2304 sent it

    @property
    def cross_province(self) -> bool:
        """Whether the insured and treating provinces differ (the hub indexes it)."""
        return self.insured_region[:2] != self.treating_region[:2]

    def cancel(self, cancel_id: str, at: datetime, balance: int, msgid: str) -> SettlementRecord:
        """The record of this settlement's cancel: the exact negative, under its own id, naming
        the same parameter set (policy_id, policy_hash) as the settlement it cancels."""
        negated = Amounts(**{name: -getattr(self.amounts, name) for name in AMOUNT_FIELDS})
        return replace(self, settlement_id=cancel_id, kind=SettlementKind.CANCEL,
                       status=SettlementStatus.SETTLED, cancels=self.settlement_id,
                       settled_at=at, amounts=negated, balance=balance, delta=None,
                       msgid=msgid)


@dataclass(frozen=True, slots=True)
class TreatedVisit:
    """The treating place's record of a visit it registered (挂号) or admitted (入院)."""

    visit_id: str
    person_id: str
    insured_region: str
    institution: str
    med_type: str
    visit_type: str
    hospital_no: str  # the hospital's own visit or stay number (ipt_otp_no / ipt_no)
    begins: datetime
    status: VisitStatus
    insutype: str
    msgid: str
    disease: str | None = None
    ends: datetime | None = None
    emergency: bool = False
    benefit_class: str | None = None
    person: Identity | None = None  # as the insured place reported them
    manual_reason: str | None = None  # why it is marked for manual reimbursement
    reversal_pending: str | None = None  # msgid of a settle/registration whose answer never came
    reversal_attempts: int = 0  # failed attempts to send that reversal so far
    reversal_next_at: datetime | None = None  # when to try it again (None: at the next round)

    @property
    def manual(self) -> bool:
        """Marked for manual reimbursement (手工报销)."""
        return self.manual_reason is not None


@dataclass(frozen=True, slots=True)
class Identity:
    """A person as the insured place reports them (kept with the treating place's visit)."""

    person_id: str
    name: str
    id_number: str
    gender: str
    birth_date: date
    person_type: str
    insutype: str
    civil_servant: bool = False


@dataclass(frozen=True, slots=True)
class StoredLine:
    """A fee line the treating place classified by its catalogue and keeps (amounts in fen)."""

    visit_id: str
    serial: str  # feedetl_sn
    batch: str  # chrg_bchno
    code: str  # the national catalogue code
    hospital_code: str
    name: str
    price: Decimal
    count: Decimal
    cls: str  # A 甲, B 乙, C 丙, none (not in the catalogue)
    level: str  # chrgitm_lv: 01 甲, 02 乙, 03 丙
    selfpay_prop: Decimal
    cap_price: Decimal | None
    restricted_ok: bool
    amount: int
    full_self_paid: int
    over_cap: int
    preselfpay: int
    in_scope: int
    occurred_at: datetime
    active: bool = True
    settlement_id: str | None = None


@dataclass(frozen=True, slots=True)
class InsuredVisit:
    """The insured place's record of a visit of one of its insured persons."""

    visit_id: str
    person_id: str
    treating_region: str
    institution: str
    visit_type: str
    med_type: str
    begins: datetime
    status: VisitStatus
    benefit_class: str
    emergency: bool = False


def field_names(record: type) -> tuple[str, ...]:
    """The field names of a record type, in order."""
    return tuple(f.name for f in fields(record))
