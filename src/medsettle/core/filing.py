"""Filing (备案): submission, review, change, cancel, 补办, and the benefit class (domain.md §3).

Pure: every function takes the business date `on`. Validity ranges are half-open
`[valid_from, valid_until)`; `valid_until=None` is indefinite. Callers pass the admission date
(inpatient) or the visit date as `on` when matching filings to a visit. Working days are
Monday–Friday; public holidays are not modelled.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from medsettle.core.errors import (
    InvalidInput,
    NotFiled,
    PolicyFileError,
)


class FilingCategory(StrEnum):
    """The six filing categories of domain.md §3."""

    RESETTLED_RETIREE = "resettled_retiree"  # 异地安置退休人员
    LONG_TERM_RESIDENT = "long_term_resident"  # 异地长期居住人员
    POSTED_WORKER = "posted_worker"  # 常驻异地工作人员
    REFERRAL = "referral"  # 异地转诊人员
    EMERGENCY = "emergency"  # 异地急诊抢救人员
    OTHER_TEMP = "other_temp"  # 其他临时外出就医人员


TEMPORARY_CATEGORIES = frozenset(
    {FilingCategory.REFERRAL, FilingCategory.EMERGENCY, FilingCategory.OTHER_TEMP}
)
LONG_TERM_CATEGORIES = frozenset(FilingCategory) - TEMPORARY_CATEGORIES


class BenefitClass(StrEnum):
    """The benefit class used by settlement (domain.md §3 "Benefit class for settlement")."""

    LONG_TERM = "long_term"
    REFERRAL = "referral"
    OTHER_TEMP = "other_temp"
    EMERGENCY = "emergency"
    UNFILED = "unfiled"
    LONG_TERM_RETURN = "long_term_return"


class FilingStatus(StrEnum):
    """Life cycle of a filing; `pending` means materials are under review."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


class FilingRoute(StrEnum):
    """How a filing was approved (domain.md §3 "Approval")."""

    COMMITMENT = "commitment"  # 承诺制: 个人承诺书 instead of proof, instant
    MATERIALS = "materials"  # proof reviewed in 1–3 working days
    NONE_REQUIRED = "none_required"  # other_temp: material-free, instant
    DEEMED = "deemed"  # emergency: 视同已备案


class FilingChannel(StrEnum):
    """Where the filing was made: counter, 国家医保服务平台 APP, mini-program, 国务院客户端."""

    COUNTER = "counter"
    APP = "app"
    MINI_PROGRAM = "mini_program"
    GOV_APP = "gov_app"


#: Proof required besides 备案表 and credential (domain.md §3 table).
REQUIRED_MATERIALS: dict[FilingCategory, tuple[str, ...]] = {
    FilingCategory.RESETTLED_RETIREE: ("resettlement_proof",),
    FilingCategory.LONG_TERM_RESIDENT: ("residence_proof",),
    FilingCategory.POSTED_WORKER: ("employer_posting_proof",),
    FilingCategory.REFERRAL: ("referral_proof",),
    FilingCategory.EMERGENCY: (),
    FilingCategory.OTHER_TEMP: (),
}

#: Classes an exempt zone may confer (domain.md §3 "Exempt zones": treated as filed).
EXEMPT_CLASSES = frozenset({BenefitClass.LONG_TERM, BenefitClass.REFERRAL, BenefitClass.OTHER_TEMP})
#: Matching preference after the long-term categories (domain.md §3 "Validity").
_TEMP_ORDER = (FilingCategory.REFERRAL, FilingCategory.OTHER_TEMP, FilingCategory.EMERGENCY)


@dataclass(frozen=True, slots=True)
class ExemptZone:
    """Insured prefix × treating prefix that counts as filed; an empty insured prefix matches all."""

    insured_prefix: str
    treating_prefix: str
    benefit_class: BenefitClass = BenefitClass.LONG_TERM


#: Beijing insured treated in Tianjin or Hebei (domain.md §3 "Exempt zones" [R]); not a default.
JING_JIN_JI = (ExemptZone("11", "12"), ExemptZone("11", "13"))


@dataclass(frozen=True, slots=True)
class FilingRules:
    """Regional filing parameters, the `filing:` section of a policy document (domain.md §3, §5)."""

    temp_validity_days: int = 180
    long_term_min_hold_months: int = 6
    long_term_validity_days: int | None = None
    commitment_ban_months: int = 24
    review_working_days: int = 1
    long_term_backdate_days: int = 5
    emergency_backdate_to_admission: bool = True
    #: How far back even an emergency 补办 reaches (an admission older than this is a manual
    #: reimbursement's case, not a filing's): the "no limit" of the rules, bounded.
    emergency_backdate_max_days: int = 365
    referral_commitment: bool = False
    exempt: tuple[ExemptZone, ...] = ()


@dataclass(frozen=True, slots=True)
class ProxyInfo:
    """亲情代办: a linked family member files in the insured person's name (domain.md §3)."""

    agent_psn_no: str
    relationship: str
    consent_recorded: bool
    face_verified: bool


@dataclass(frozen=True, slots=True)
class Filing:
    """A stored filing; `destination` is a pooling region, prefecture XXXX00 or province XX0000."""

    filing_no: str
    psn_no: str
    insu_admdvs: str
    category: FilingCategory
    destination: str
    valid_from: date
    valid_until: date | None
    status: FilingStatus
    route: FilingRoute
    channel: FilingChannel
    applied_on: date
    decided_on: date | None = None
    review_due: date | None = None
    proxy: ProxyInfo | None = None
    post_hoc: bool = False
    reason: str = ""


@dataclass(frozen=True, slots=True)
class FilingRequest:
    """An application; `commitment` means the applicant signs the 个人承诺书 instead of proof."""

    psn_no: str
    insu_admdvs: str
    category: FilingCategory
    destination: str
    start: date
    channel: FilingChannel
    commitment: bool = False
    materials: tuple[str, ...] = ()
    proxy: ProxyInfo | None = None


@dataclass(frozen=True, slots=True)
class PersonStanding:
    """What the insured place knows about the person on the filing date."""

    insurance_active: bool
    commitment_barred_until: date | None = None
    open_inpatient_stay: bool = False


@dataclass(frozen=True, slots=True)
class PostHocOutcome:
    """Result of 补办: the filing and how the stay is then paid (domain.md §3 "补办")."""

    filing: Filing
    settle_directly: bool
    manual_reimbursement: bool


#: Longest span a `filing.*_days` count may give: ten years (a larger count overflows the
#: calendar when added to a date, and no filing rule reaches that far).
MAX_DAYS = 3650
#: Longest span a `filing.*_months` count may give: ten years.
MAX_MONTHS = 120
#: The bounds (inclusive) of each whole-number key of the `filing:` section.
_INT_RANGE = {
    "temp_validity_days": (1, MAX_DAYS),
    "long_term_min_hold_months": (0, MAX_MONTHS),
    "commitment_ban_months": (0, MAX_MONTHS),
    "review_working_days": (0, MAX_DAYS),
    "long_term_backdate_days": (0, MAX_DAYS),
    "emergency_backdate_max_days": (1, MAX_DAYS),
}
_BOOL_KEYS = frozenset({"emergency_backdate_to_admission", "referral_commitment"})
_ZONE_KEYS = frozenset({"insured_prefix", "treating_prefix", "class"})
_E = TypeVar("_E", bound=StrEnum)


def parse_filing_rules(doc: Mapping[str, object] | None, source: str) -> FilingRules:
    """Read the `filing:` section of a policy document (domain.md §5); missing keys default.

    Raises PolicyFileError naming `filing.<key>` for floats, booleans, negatives, a count of
    days above MAX_DAYS or of months above MAX_MONTHS, unknown keys, an exempt class that is not
    one of EXEMPT_CLASSES (a list or mapping included) or a prefix that is not a quoted digit
    string.
    """
    section = None if doc is None else doc.get("filing")
    if section is None:
        return FilingRules()
    if not isinstance(section, Mapping):
        raise PolicyFileError(source, "filing", "must be a mapping")
    changes: dict[str, Any] = {}
    for key, raw in section.items():
        name = f"filing.{key}"
        if key in _INT_RANGE:
            changes[key] = _parse_int(raw, source, name, *_INT_RANGE[key])
        elif key == "long_term_validity_days":
            changes[key] = None if raw is None else _parse_int(raw, source, name, 1, MAX_DAYS)
        elif key in _BOOL_KEYS:
            if type(raw) is not bool:
                raise PolicyFileError(source, name, "must be true or false")
            changes[key] = raw
        elif key == "exempt":
            changes[key] = _parse_exempt(raw, source)
        else:
            raise PolicyFileError(source, name, "unknown key")
    return replace(FilingRules(), **changes)


def _parse_int(raw: object, source: str, name: str, minimum: int, maximum: int) -> int:
    if type(raw) is not int:
        raise PolicyFileError(source, name, f"must be an integer, not {type(raw).__name__}")
    if raw < minimum:
        raise PolicyFileError(source, name, f"must be >= {minimum}, got {raw}")
    if raw > maximum:
        unit = "months" if name.endswith("_months") else "days"
        raise PolicyFileError(source, name, f"must be <= {maximum} {unit} (ten years), got {raw}")
    return raw


def _parse_exempt(raw: object, source: str) -> tuple[ExemptZone, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise PolicyFileError(source, "filing.exempt", "must be a list")
    zones = []
    for index, entry in enumerate(raw):
        base = f"filing.exempt[{index}]"
        if not isinstance(entry, Mapping):
            raise PolicyFileError(source, base, "must be a mapping")
        for key in entry:
            if key not in _ZONE_KEYS:
                raise PolicyFileError(source, f"{base}.{key}", "unknown key")
        insured = _parse_prefix(entry.get("insured_prefix", ""), source, f"{base}.insured_prefix")
        treating = _parse_prefix(entry.get("treating_prefix"), source, f"{base}.treating_prefix")
        if not treating:
            raise PolicyFileError(source, f"{base}.treating_prefix", "must not be empty")
        klass = entry.get("class", BenefitClass.LONG_TERM.value)
        if not isinstance(klass, str) or klass not in EXEMPT_CLASSES:
            allowed = ", ".join(sorted(EXEMPT_CLASSES))
            raise PolicyFileError(source, f"{base}.class", f"must be one of {allowed}")
        zones.append(ExemptZone(insured, treating, BenefitClass(klass)))
    return tuple(zones)


def _parse_prefix(raw: object, source: str, name: str) -> str:
    if not isinstance(raw, str) or len(raw) > 6 or not (raw.isascii() and raw.isdigit() or not raw):
        raise PolicyFileError(source, name, "must be a quoted string of up to 6 digits")
    return raw


def add_working_days(start: date, days: int) -> date:
    """`start` plus `days` working days (Monday–Friday); 0 returns `start` (domain.md §3)."""
    current = start
    for _ in range(days):
        current += timedelta(days=1)
        while current.weekday() >= 5:
            current += timedelta(days=1)
    return current


def add_months(start: date, months: int) -> date:
    """`start` plus whole months; the day is clamped to the month's end (31 Aug + 6 → 28/29 Feb)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


def check_admdvs(code: str, name: str) -> None:
    """Refuse anything but a 6-digit region code, naming the field."""
    if not (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidInput(name, f"must be a 6-digit admdvs code, got {code!r}")


def filing_number(insu_admdvs: str, on: date, seq: int) -> str:
    """Filing number `BA{insu_admdvs}{yyyymmdd}{seq:06d}` (domain.md §3 "Approval")."""
    check_admdvs(insu_admdvs, "insu_admdvs")
    if type(seq) is not int or not 0 <= seq < 10**6:
        raise InvalidInput("seq", "must be an integer from 0 to 999999")
    return f"BA{insu_admdvs}{on:%Y%m%d}{seq:06d}"


def valid_on(filing: Filing, on: date) -> bool:
    """valid_from ≤ on < valid_until."""
    return filing.valid_from <= on and (filing.valid_until is None or on < filing.valid_until)


def is_active(filing: Filing, on: date) -> bool:
    """Approved or pending, and not yet expired on `on`."""
    live = filing.status in (FilingStatus.APPROVED, FilingStatus.PENDING)
    return live and (filing.valid_until is None or on < filing.valid_until)


def _destination_rank(destination: str, admdvs: str) -> int | None:
    candidates = (admdvs, admdvs[:4] + "00", admdvs[:2] + "0000")
    return candidates.index(destination) if destination in candidates else None


def _preference(category: FilingCategory) -> int:
    return 0 if category in LONG_TERM_CATEGORIES else 1 + _TEMP_ORDER.index(category)


def matching_filings(filings: Sequence[Filing], institution_admdvs: str, on: date) -> list[Filing]:
    """Approved filings valid on `on` whose destination is the institution's region, prefecture
    or province, best first: long-term, referral, other_temp (domain.md §3 "Validity")."""
    check_admdvs(institution_admdvs, "institution_admdvs")
    found = []
    for filing in filings:
        rank = _destination_rank(filing.destination, institution_admdvs)
        if rank is not None and valid_on(filing, on) and filing.status is FilingStatus.APPROVED:
            found.append((_preference(filing.category), rank, filing))
    found.sort(key=lambda item: (item[0], item[1]))
    return [filing for _, _, filing in found]


def benefit_class(
    filings: Sequence[Filing],
    *,
    insu_admdvs: str,
    institution_admdvs: str,
    on: date,
    emergency: bool,
    rules: FilingRules,
    manual: bool = False,
) -> BenefitClass:
    """The benefit class of a visit (domain.md §3 table "Benefit class for settlement").

    Order: exempt zone; long-term filer treated in the insured province → long_term_return;
    best matching filing (long-term, referral); emergency without a better filing; other_temp;
    manual reimbursement without filing → unfiled; otherwise NotFiled. A visit inside the
    insured province without a long-term filing is not cross-province (InvalidInput).
    """
    check_admdvs(insu_admdvs, "insu_admdvs")
    check_admdvs(institution_admdvs, "institution_admdvs")
    for zone in rules.exempt:
        insured, treating = zone.insured_prefix, zone.treating_prefix
        if insu_admdvs.startswith(insured) and institution_admdvs.startswith(treating):
            return zone.benefit_class
    if institution_admdvs[:2] == insu_admdvs[:2]:
        long_term = (f for f in filings if f.category in LONG_TERM_CATEGORIES)
        if any(f.status is FilingStatus.APPROVED and valid_on(f, on) for f in long_term):
            return BenefitClass.LONG_TERM_RETURN
        raise InvalidInput("institution_admdvs", "is in the insured province: not cross-province")
    best = next(iter(matching_filings(filings, institution_admdvs, on)), None)
    category = None if best is None else best.category
    if category in LONG_TERM_CATEGORIES:
        return BenefitClass.LONG_TERM
    if category is FilingCategory.REFERRAL:
        return BenefitClass.REFERRAL
    if emergency or category is FilingCategory.EMERGENCY:
        return BenefitClass.EMERGENCY
    if category is FilingCategory.OTHER_TEMP:
        return BenefitClass.OTHER_TEMP
    if manual:
        return BenefitClass.UNFILED
    raise NotFiled(
        f"no filing for {institution_admdvs} on {on}: file after the fact (补办) "
        "or claim manual reimbursement"
    )
