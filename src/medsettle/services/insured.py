"""The insured place's side of a cross-province visit (参保地): the person, the filing check, the
visit record. The money is in insured_settle.

Each function runs inside one transaction of the insured node (`tx`) on behalf of `caller`, the
province that asks (as the hub names it), and acts only on what that province owns. The
treating place sends classified lines; the insured place applies its own policy and
accumulators (就医地目录, 参保地政策).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from medsettle.core import codes
from medsettle.core.errors import (
    ChronicDiseaseNotCovered,
    ChronicNotCertified,
    Forbidden,
    InvalidInput,
    NotFound,
    StateConflict,
    UnsupportedScheme,
)
from medsettle.core.filing import benefit_class
from medsettle.core.policy import ParameterSet, PolicyBook
from medsettle.core.records import Identity, InsuredVisit, VisitStatus
from medsettle.services.exchange import (
    CancelVisit,
    ChangeVisit,
    FindPerson,
    OpenVisit,
    PersonFound,
    VisitCancelled,
    VisitChanged,
    VisitOpened,
)
from medsettle.services.ports import UnitOfWork as Tx
from medsettle.services.records import filing_from_row

logger = logging.getLogger(__name__)


def find_person(tx: Tx, cert_type: str, cert_no: str, card_sn: str | None = None) -> Any:
    """The insured person a credential names (e-voucher token, ID number or card number)."""
    column = {"01": "evoucher", "02": "certno", "03": "card_no"}.get(cert_type)
    if column is None:
        raise InvalidInput("cert_type", f"must be 01, 02 or 03, not {cert_type!r}")
    row = tx.one("persons", **{column: cert_no})
    if row is None or (cert_type == "03" and card_sn and row.card_sn != card_sn):
        raise NotFound("no insured person matches this credential at the insured place",
                       field="cert_no")
    return row


def person(tx: Tx, person_id: str, *, hold: bool = False) -> Any:
    """One of this node's insured persons; with `hold`, their row is held until the transaction
    ends (what changes their filings or visits takes turns on it)."""
    row = tx.lock_person(person_id) if hold else tx.one("persons", psn_no=person_id)
    if row is None:
        raise NotFound(f"person {person_id} is not insured here")
    return row


def identity(row: Any) -> Identity:
    """The person as the insured place reports them to a treating place."""
    return Identity(person_id=row.psn_no, name=row.psn_name, id_number=row.certno,
                    gender=row.gend, birth_date=row.brdy, person_type=row.psn_type,
                    insutype=row.insutype, civil_servant=bool(row.cvlserv))


def person_info(tx: Tx, query: FindPerson, on: date) -> PersonFound:
    """1101 at the insured place: identity, insurance (with the account balance) and the
    special identity that brings 医疗救助."""
    row = find_person(tx, query.cert_type, query.cert_no, query.card_sn)
    balance = tx.accumulators(row.psn_no, "").get("acct_balance")
    return PersonFound(identity=identity(row), insured_region=row.insu_admdvs,
                       account_balance=balance, insurance_active=bool(row.insurance_active),
                       employer=row.emp_name or "", assistance_category=row.maf_category)


def check_treating(caller: str, treating_region: str, what: str) -> None:
    """Only the province that treats a visit (the caller, as the hub names it) may act on it."""
    if caller[:2] != treating_region[:2]:
        raise Forbidden(f"{what} is not treated in province {caller}")


def own_visit(tx: Tx, visit_id: str, caller: str, institution: str | None = None
              ) -> InsuredVisit:
    """The visit of this node's insured person that the caller's province registered (and,
    when named, that institution of it)."""
    visit = tx.insured_visit(visit_id)
    if visit is None:
        raise NotFound(f"visit {visit_id} was not registered at the insured place")
    check_treating(caller, visit.treating_region, f"visit {visit_id}")
    if institution is not None:
        check_institution(visit, institution)
    return visit


def check_institution(visit: InsuredVisit, institution: str) -> None:
    """Forbidden unless `institution` registered the visit."""
    if institution != visit.institution:
        raise Forbidden(f"visit {visit.visit_id} was not registered by {institution}")


def policy_of(book: PolicyBook, row: Any, on: date) -> ParameterSet:
    """The insured place's parameter set in force for the person on a date."""
    return book.find(row.insu_admdvs, codes.scheme_of_insutype(row.insutype), on)


def class_of(tx: Tx, row: Any, policy: ParameterSet, treating_region: str, on: date,
             emergency: bool) -> str:
    """The benefit class of a visit from the person's stored filings (domain.md §3)."""
    if row.direct_settlement_barred:
        raise UnsupportedScheme("the person is terminated from cross-province direct settlement")
    filings = [filing_from_row(f._mapping) for f in tx.rows("filings", psn_no=row.psn_no)]
    return str(benefit_class(filings, insu_admdvs=row.insu_admdvs,
                             institution_admdvs=treating_region, on=on, emergency=emergency,
                             rules=policy.filing))


def open_visit(tx: Tx, book: PolicyBook, req: OpenVisit, caller: str) -> VisitOpened:
    """Admission or registration: check the credential shown, insurance, filing and chronic
    certification; record the visit. Only for a visit in the caller's own province, and only
    with a credential of the person: a person number alone does not open a visit (and with it
    the person's identity and accumulators)."""
    check_treating(caller, req.treating_region, f"visit {req.visit_id}")
    row = person(tx, req.person_id, hold=True)  # a filing cancelled meanwhile waits for this stay
    existing = tx.insured_visit(req.visit_id)
    if existing is not None:  # a retry of the same registration
        check_treating(caller, existing.treating_region, f"visit {existing.visit_id}")
        if existing.person_id != req.person_id:
            raise InvalidInput("person_id", f"visit {existing.visit_id} belongs to another person")
        if existing.status is VisitStatus.CANCELLED:  # reversed (冲正) or cancelled since
            raise StateConflict(f"visit {existing.visit_id} was cancelled: register anew")
        return VisitOpened(existing.visit_id, existing.benefit_class, identity(row))
    shown = find_person(tx, req.cert_type, req.cert_no, req.card_sn)
    if shown.psn_no != req.person_id:
        raise InvalidInput("cert_no", "the credential shown belongs to another person")
    if not row.insurance_active:
        raise UnsupportedScheme("the person's insurance is not active (参保状态异常)")
    policy = policy_of(book, row, req.begins.date())
    cls = class_of(tx, row, policy, req.treating_region, req.begins.date(), req.emergency)
    if req.visit_type == "chronic":
        _check_chronic(policy, row, req.disease)
    tx.add_insured_visit(InsuredVisit(
        visit_id=req.visit_id, person_id=req.person_id, treating_region=req.treating_region,
        institution=req.institution, visit_type=req.visit_type, med_type=req.med_type,
        begins=req.begins, status=VisitStatus.OPEN, benefit_class=cls,
        emergency=req.emergency))
    return VisitOpened(req.visit_id, cls, identity(row))


def _check_chronic(policy: ParameterSet, row: Any, disease: str | None) -> None:
    if disease is None:
        raise InvalidInput("disease", "a chronic-disease visit must name its disease code")
    chronic = policy.benefits.get("chronic")
    if chronic is None or disease not in chronic.diseases:
        raise ChronicDiseaseNotCovered(f"{disease} is not a 门诊慢特病 of the insured place")
    if disease not in (row.chronic_certified or []):
        raise ChronicNotCertified(f"the person is not certified for {disease}")


def change_visit(tx: Tx, book: PolicyBook, req: ChangeVisit, caller: str) -> VisitChanged:
    """2403 at the insured place: a corrected admission time, accepted only if the person's
    filings still give the stay a benefit class."""
    visit = own_visit(tx, req.visit_id, caller, req.institution)
    if visit.status is not VisitStatus.OPEN:
        raise StateConflict(f"visit {req.visit_id} is {visit.status}")
    row = person(tx, visit.person_id)
    policy = policy_of(book, row, req.begins.date())
    cls = class_of(tx, row, policy, visit.treating_region, req.begins.date(), visit.emergency)
    tx.change_insured_visit(visit.visit_id, begins=req.begins, benefit_class=cls)
    return VisitChanged(visit.visit_id, cls)


def cancel_visit(tx: Tx, req: CancelVisit, caller: str) -> VisitCancelled:
    """Cancel a registration or admission that has no settlement. The person is locked and
    the visit read again first, as a settle does: a settle that held the lock has settled it."""
    visit = tx.insured_visit(req.visit_id)
    if visit is None:
        return VisitCancelled(False)
    check_treating(caller, visit.treating_region, f"visit {visit.visit_id}")
    check_institution(visit, req.institution)
    tx.lock_person(visit.person_id)
    visit = own_visit(tx, req.visit_id, caller, req.institution)
    if visit.status is VisitStatus.SETTLED:
        raise StateConflict("the visit has a settlement: cancel the settlement first")
    tx.change_insured_visit(visit.visit_id, status=VisitStatus.CANCELLED)
    return VisitCancelled(True)
