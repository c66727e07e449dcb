"""Manual reimbursement (手工报销) at the insured place (domain.md §8).

When direct settlement failed or was impossible, the patient paid in full and claims at home
with the treating place's itemised bill, already classified by the treating catalogue. The
claim runs through the same engine as a direct settlement, with the benefit class at treatment
time (no filing → `unfiled`), updates the accumulators exactly as a settlement does, and is
tracked computed → approved → paid, or rejected (which restores the accumulators). Every
step is idempotent by claim id. The fund's share is owed to the person
(`payable:person:<psn_no>`), not to a treating province.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from medsettle.core import codes, ledger
from medsettle.core.benefits import AMOUNT_FIELDS, Person, Visit, settle
from medsettle.core.calendar import business_date
from medsettle.core.errors import InvalidInput, NotFound, StateConflict, UnsupportedScheme
from medsettle.core.filing import benefit_class
from medsettle.core.policy import PolicyBook
from medsettle.core.records import Role, SettlementKind, SettlementStatus
from medsettle.services.ledger import post, record_digest
from medsettle.services.ports import UnitOfWork as Tx
from medsettle.services.records import filing_from_row, line_from_payload

logger = logging.getLogger(__name__)
VISIT_TYPES = frozenset({"inpatient", "outpatient", "chronic"})
LINE_CLASSES = frozenset({"A", "B", "C", "none"})
MAX_LINES = 2000
_CLAIM_ID = re.compile(r"[0-9A-Za-z_-]{1,30}", re.ASCII)
_DISEASE = re.compile(r"[0-9A-Za-z._-]{1,20}", re.ASCII)  # a disease code, e.g. M03900
#: The most one claim (and one of its lines) may come to, in yuan: more than any treatment.
MAX_CLAIM_YUAN = Decimal(10_000_000)
_PSN_NO = re.compile(r"[0-9A-Za-z]{1,30}", re.ASCII)
_LEVEL = re.compile(r"L[0-9]", re.ASCII)


@dataclass(frozen=True, slots=True)
class Claim:
    """A reimbursement claim: who, where and when treated, and the classified lines."""

    claim_id: str
    psn_no: str
    treating_admdvs: str
    fixmedins_code: str
    level: str
    dedc_level: str | None
    visit_type: str
    disease: str | None
    begntime: datetime
    setl_date: date
    emergency: bool
    acct_used: bool
    lines: tuple[dict[str, Any], ...]
    mdtrt_id: str | None = None


# --- parsing -------------------------------------------------------------------------------

def _text(doc: Mapping[str, Any], key: str, path: str, pattern: re.Pattern[str] | None = None,
          required: bool = True) -> str | None:
    value = doc.get(key)
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{path}{key}", "is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{path}{key}", f"must be a string, not {type(value).__name__}")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise InvalidInput(f"{path}{key}", f"is not well formed: {value[:40]!r}")
    return value


def _flag(doc: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise InvalidInput(f"{path}{key}", "must be true or false")
    return value


def _decimal(doc: Mapping[str, Any], key: str, path: str, *, required: bool = True,
             default: str | None = None, maximum: Decimal = Decimal(10**9)) -> str | None:
    value = doc.get(key, default)
    if value is None:
        if required:
            raise InvalidInput(f"{path}{key}", "is required")
        return None
    if isinstance(value, bool) or isinstance(value, float) or not isinstance(value, str | int):
        raise InvalidInput(f"{path}{key}", "must be a decimal string such as \"12.50\" "
                                           "(never a float)")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{path}{key}", f"is not a decimal number: {value!r}") from None
    if not number.is_finite() or number < 0 or number > maximum:
        raise InvalidInput(f"{path}{key}", f"must be between 0 and {maximum}, got {value!r}")
    return str(number)


def _line(doc: object, path: str) -> dict[str, Any]:
    if not isinstance(doc, Mapping):
        raise InvalidInput(path.rstrip("."), "must be a JSON object")
    cls = doc.get("cls")
    if cls not in LINE_CLASSES:
        raise InvalidInput(f"{path}cls", f"must be one of A, B, C, none, got {cls!r}")
    selfpay = _decimal(doc, "selfpay_prop", path, default="0", maximum=Decimal(1))
    return {"cls": cls, "pric": _decimal(doc, "pric", path), "cnt": _decimal(doc, "cnt", path),
            "selfpay_prop": selfpay, "lmt_pric": _decimal(doc, "lmt_pric", path, required=False),
            "restricted_ok": _flag(doc, "restricted_ok", path, True),
            "code": _text(doc, "code", path, required=False) or ""}


def _moment(doc: Mapping[str, Any], key: str) -> datetime:
    text = _text(doc, key, "")
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise InvalidInput(key, f"expected yyyy-MM-dd or yyyy-MM-ddTHH:mm:ss, got {text!r}") \
            from None
    return moment.replace(tzinfo=None)


def _day(doc: Mapping[str, Any], key: str, default: date) -> date:
    text = _text(doc, key, "", required=False)
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(key, f"expected a date yyyy-MM-dd, got {text!r}") from None


def _lines(doc: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    lines = doc.get("lines")
    if not isinstance(lines, list) or not lines:
        raise InvalidInput("lines", "must be a non-empty list of classified fee lines")
    if len(lines) > MAX_LINES:
        raise InvalidInput("lines", f"has {len(lines)} entries; at most {MAX_LINES} allowed")
    parsed = tuple(_line(line, f"lines[{n}].") for n, line in enumerate(lines))
    total = Decimal(0)
    for n, line in enumerate(parsed):
        amount = Decimal(line["pric"]) * Decimal(line["cnt"])
        if amount > MAX_CLAIM_YUAN:
            raise InvalidInput(f"lines[{n}]", f"pric × cnt is ¥{amount:,}; a line is at most "
                                              f"¥{MAX_CLAIM_YUAN:,}")
        total += amount
    if total > MAX_CLAIM_YUAN:
        raise InvalidInput("lines", f"come to ¥{total:,}; a claim is at most ¥{MAX_CLAIM_YUAN:,}")
    return parsed


def parse_claim(doc: Mapping[str, Any]) -> Claim:
    """A claim from its JSON document; every error names its field (e.g. `lines[2].pric`)."""
    place = doc.get("treating")
    if not isinstance(place, Mapping):
        raise InvalidInput("treating", "must be an object {admdvs, fixmedins_code, level}")
    visit_type = _text(doc, "visit_type", "")
    if visit_type not in VISIT_TYPES:
        raise InvalidInput("visit_type", f"must be inpatient, outpatient or chronic, not "
                                         f"{visit_type!r}")
    disease = _text(doc, "disease", "", _DISEASE, required=visit_type == "chronic")
    begntime = _moment(doc, "begntime")
    return Claim(
        claim_id=str(_text(doc, "claim_id", "", _CLAIM_ID)),
        psn_no=str(_text(doc, "psn_no", "", _PSN_NO)),
        treating_admdvs=codes.validate_admdvs(place.get("admdvs"), "treating.admdvs"),
        fixmedins_code=codes.validate_institution_code(place.get("fixmedins_code"),
                                                       "treating.fixmedins_code"),
        level=str(_text(place, "level", "treating.", _LEVEL)),
        dedc_level=_text(place, "dedc_level", "treating.", _LEVEL, required=False),
        visit_type=str(visit_type), disease=disease, begntime=begntime,
        setl_date=_day(doc, "setl_date", begntime.date()),
        emergency=_flag(doc, "emergency", "", False), acct_used=_flag(doc, "acct_used", "", False),
        lines=_lines(doc), mdtrt_id=_text(doc, "mdtrt_id", "", _CLAIM_ID, required=False))


# --- computing -----------------------------------------------------------------------------

def _person(tx: Tx, psn_no: str) -> Any:
    person = tx.lock_person(psn_no)
    if person is None:
        raise NotFound(f"person {psn_no} is not insured here")
    if not person.insurance_active:
        raise UnsupportedScheme("the person's insurance is not active (参保状态异常)")
    return person


def _same_claim(row: Any, claim: Claim) -> bool:
    return (row.psn_no == claim.psn_no and row.fixmedins_code == claim.fixmedins_code
            and row.visit_type == claim.visit_type and list(row.lines) == list(claim.lines)
            and row.setl_date == claim.setl_date)


def _check_not_future(claim: Claim, now: datetime) -> None:
    """A claim is for treatment that happened: a day after today (business date) would book
    the accumulators of a year not begun, or of 9999, with nothing to undo them but a reject."""
    today = business_date(now)
    for key, day in (("begntime", claim.begntime.date()), ("setl_date", claim.setl_date)):
        if day > today:
            raise InvalidInput(key, f"must not be after today ({today.isoformat()}), got "
                                    f"{day.isoformat()}")


def _check_visit_unclaimed(tx: Tx, claim: Claim) -> None:
    """A visit is paid once: not by a second claim (one not rejected), nor by a claim when it
    was settled directly here (StateConflict naming mdtrt_id). Read under the person's lock,
    which every claim of the person takes first, so two claims of one visit cannot both pass."""
    if claim.mdtrt_id is None:
        return
    for other in tx.rows("reimbursement_claims", psn_no=claim.psn_no, mdtrt_id=claim.mdtrt_id):
        if other.claim_id != claim.claim_id and other.status != "rejected":
            raise StateConflict(f"visit {claim.mdtrt_id} is already claimed by "
                                f"{other.claim_id} ({other.status})", "mdtrt_id")
    settled = [s for s in tx.settlements(Role.INSURED, visit_id=claim.mdtrt_id,
                                         person_id=claim.psn_no)
               if s.kind is SettlementKind.SETTLE and s.status is SettlementStatus.SETTLED]
    if settled:
        raise StateConflict(f"visit {claim.mdtrt_id} was settled directly "
                            f"({settled[0].settlement_id}): cancel that settlement first",
                            "mdtrt_id")


def submit_claim(tx: Tx, book: PolicyBook, claim: Claim, now: datetime) -> dict[str, Any]:
    """Compute a claim with the settlement engine and record it (status computed); a repeat of
    the same claim id with the same content returns the stored claim."""
    _check_not_future(claim, now)
    stored = tx.one("reimbursement_claims", claim_id=claim.claim_id)
    if stored is not None:
        if not _same_claim(stored, claim):
            raise StateConflict(f"claim {claim.claim_id} was already submitted with other content")
        return view(stored)
    person = _person(tx, claim.psn_no)
    _check_visit_unclaimed(tx, claim)
    scheme = codes.scheme_of_insutype(person.insutype)
    policy = book.find(person.insu_admdvs, scheme, claim.setl_date)
    filings = [filing_from_row(r._mapping) for r in tx.rows("filings", psn_no=person.psn_no)]
    cls = str(benefit_class(filings, insu_admdvs=person.insu_admdvs,
                            institution_admdvs=claim.treating_admdvs, on=claim.begntime.date(),
                            emergency=claim.emergency, rules=policy.filing, manual=True))
    year = policy.medical_year(claim.setl_date)
    result = settle(policy, Person(
        scheme=scheme, category=codes.category_of_psn_type(person.psn_type), benefit_class=cls,
        acc=tx.accumulators(person.psn_no, year), cvlserv=person.cvlserv,
        maf_category=person.maf_category,
        chronic_certified=frozenset(person.chronic_certified or []), use_acct=claim.acct_used,
        contribution_tier=person.contribution_tier),
        Visit(type=claim.visit_type, level=claim.level,  # type: ignore[arg-type]
              setl_date=claim.setl_date, lines=tuple(line_from_payload(x) for x in claim.lines),
              disease=claim.disease, emergency=claim.emergency, dedc_level=claim.dedc_level))
    tx.apply_delta(person.psn_no, year, result.delta)
    amounts = result.amounts.as_dict()
    row = _row(claim, cls, amounts, {".".join(k): v for k, v in result.delta.items()}, year, now)
    tx.add("reimbursement_claims", row)
    _post(tx, "reimburse", claim.claim_id, amounts, person.insu_admdvs, claim, now)
    logger.info("reimbursement claim computed", extra={"claim_id": claim.claim_id,
                                                       "benefit_class": cls})
    return view(tx.one("reimbursement_claims", claim_id=claim.claim_id))


def _row(claim: Claim, cls: str, amounts: dict[str, int], delta: dict[str, int], year: str,
         now: datetime) -> dict[str, Any]:
    return {"claim_id": claim.claim_id, "psn_no": claim.psn_no, "mdtrt_id": claim.mdtrt_id,
            "treating_admdvs": claim.treating_admdvs, "fixmedins_code": claim.fixmedins_code,
            "visit_type": claim.visit_type, "disease": claim.disease, "level": claim.level,
            "begntime": claim.begntime, "setl_date": claim.setl_date,
            "emergency": claim.emergency, "lines": list(claim.lines), "status": "computed",
            "benefit_class": cls, "amounts": amounts, "delta": delta, "medical_year": year,
            "reason": "", "submitted_at": now, "paid_at": None}


def claim_postings(amounts: Mapping[str, int], *, insured: str, treating: str,
                   psn_no: str, fixmedins_code: str) -> list[tuple[str, int]]:
    """A settlement's insured-place postings with the person, not a province, as creditor."""
    postings = ledger.settlement_postings("insured", amounts, insured=insured, treating=treating,
                                          psn_no=psn_no, fixmedins_code=fixmedins_code)
    return [(f"payable:person:{psn_no}" if account.startswith("payable:province:") else account,
             amount) for account, amount in postings]


def _post(tx: Tx, kind: str, claim_id: str, amounts: Mapping[str, int], insured: str,
          claim: Claim | Any, now: datetime) -> None:
    postings = claim_postings(amounts, insured=insured, treating=claim.treating_admdvs,
                              psn_no=claim.psn_no, fixmedins_code=claim.fixmedins_code)
    digest = ""  # the claim's booking covers the claim as written; a reject only names it
    if kind == "reimburse":
        digest = record_digest(tx, "reimbursement_claims", claim_id=claim_id)
    post(tx, ledger.balanced(f"{kind}:insured:{claim_id}", kind, claim_id, now, postings,
                             digest))


# --- the claim's life ----------------------------------------------------------------------

def _claim(tx: Tx, claim_id: str) -> Any:
    row = tx.one("reimbursement_claims", claim_id=claim_id)
    if row is None:
        raise NotFound(f"reimbursement claim {claim_id} does not exist")
    return row


def _held(tx: Tx, claim_id: str) -> Any:
    """The claim, its row held until the transaction ends (SELECT … FOR UPDATE on PostgreSQL;
    SQLite write transactions run alone): a step decides on the status it then writes, and a
    concurrent step of the same claim waits, then sees the status this one wrote."""
    row = tx.hold("reimbursement_claims", claim_id=claim_id)
    if row is None:
        raise NotFound(f"reimbursement claim {claim_id} does not exist")
    return row


def _set_status(tx: Tx, claim_id: str, before: str, status: str, **values: object) -> None:
    """Write the claim's next status only if it still has the status the step read."""
    changed = tx.change("reimbursement_claims", {"claim_id": claim_id, "status": before},
                        status=status, **values)
    if changed != 1:
        raise StateConflict(f"claim {claim_id} changed meanwhile; it is no longer {before}")


def get_claim(tx: Tx, claim_id: str) -> dict[str, Any]:
    """One claim as the API shows it."""
    return view(_claim(tx, claim_id))


def approve(tx: Tx, claim_id: str, now: datetime) -> dict[str, Any]:
    """computed → approved (the agency checked the invoices and records); idempotent."""
    row = _held(tx, claim_id)
    if row.status == "computed":
        _set_status(tx, claim_id, "computed", "approved")
    elif row.status != "approved":
        raise StateConflict(f"claim {claim_id} is {row.status}; only a computed claim is approved")
    return view(_claim(tx, claim_id))


def pay(tx: Tx, claim_id: str, now: datetime) -> dict[str, Any]:
    """approved → paid: the amount owed to the person leaves the insured place; idempotent."""
    row = _held(tx, claim_id)
    if row.status == "paid":
        return view(row)
    if row.status != "approved":
        raise StateConflict(f"claim {claim_id} is {row.status}; approve it before paying")
    owed = owed_fen(row.amounts)
    person = tx.one("persons", psn_no=row.psn_no)
    post(tx, ledger.balanced(f"reimburse_pay:insured:{claim_id}", "reimburse_pay", claim_id,
                             now, [(f"payable:person:{row.psn_no}", owed),
                                   (f"bank:{person.insu_admdvs}", -owed)]))
    _set_status(tx, claim_id, "approved", "paid", paid_at=now)
    return view(_claim(tx, claim_id))


def reject(tx: Tx, claim_id: str, reason: str, now: datetime) -> dict[str, Any]:
    """computed/approved → rejected: accumulators and ledger reversed like a cancel; idempotent."""
    row = _held(tx, claim_id)
    if row.status == "rejected":
        return view(row)
    if row.status == "paid":
        raise StateConflict(f"claim {claim_id} is paid; it can no longer be rejected")
    if not reason.strip():
        raise InvalidInput("reason", "is required to reject a claim")
    person = _person_row(tx, row.psn_no)
    delta = {tuple(path.split(".")): value for path, value in (row.delta or {}).items()}
    tx.accumulators(row.psn_no, row.medical_year).reversed(delta)  # refuses negatives
    tx.apply_delta(row.psn_no, row.medical_year, delta, sign=-1)
    negated = {name: -int(row.amounts[name]) for name in AMOUNT_FIELDS}
    _post(tx, "reimburse_reject", claim_id, negated, person.insu_admdvs, row, now)
    _set_status(tx, claim_id, str(row.status), "rejected", reason=reason.strip()[:500])
    return view(_claim(tx, claim_id))


def _person_row(tx: Tx, psn_no: str) -> Any:
    person = tx.lock_person(psn_no)
    if person is None:
        raise NotFound(f"person {psn_no} is not insured here")
    return person


def owed_fen(amounts: Mapping[str, Any]) -> int:
    """What the insured place pays the person: the funds' share and the account's."""
    return int(amounts["fund_pay_sumamt"]) + int(amounts["acct_pay"])


def view(row: Any) -> dict[str, Any]:
    """A stored claim (amounts in fen) with what the person is owed."""
    doc = dict(row._mapping)
    doc["owed"] = owed_fen(doc["amounts"])
    for key in ("begntime", "setl_date", "submitted_at", "paid_at"):
        if doc.get(key) is not None:
            doc[key] = doc[key].isoformat()
    return doc
