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
    BackdateTooFar,
    CommitmentBarred,
    FilingConflict,
    FilingLocked,
    FilingStateError,
    InsuranceInactive,
    InvalidInput,
    NotFiled,
    PolicyFileError,
    ProxyNotVerified,
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


_INT_MINIMUM = {
    "temp_validity_days": 1,
    "long_term_min_hold_months": 0,
    "commitment_ban_months": 0,
    "review_working_days": 0,
    "long_term_backdate_days": 0,
}
_BOOL_KEYS = frozenset({"emergency_backdate_to_admission", "referral_commitment"})
_ZONE_KEYS = frozenset({"insured_prefix", "treating_prefix", "class"})
_E = TypeVar("_E", bound=StrEnum)


def parse_filing_rules(doc: Mapping[str, object] | None, source: str) -> FilingRules:
    """Read the `filing:` section of a policy document (domain.md §5); missing keys default.

    Raises PolicyFileError naming `filing.<key>` for floats, booleans, negatives, unknown keys,
    a bad exempt class or a prefix that is not a quoted digit string.
    """
    section = None if doc is None else doc.get("filing")
    if section is None:
        return FilingRules()
    if not isinstance(section, Mapping):
        raise PolicyFileError(source, "filing", "must be a mapping")
    changes: dict[str, Any] = {}
    for key, raw in section.items():
        name = f"filing.{key}"
        if key in _INT_MINIMUM:
            changes[key] = _parse_int(raw, source, name, _INT_MINIMUM[key])
        elif key == "long_term_validity_days":
            changes[key] = None if raw is None else _parse_int(raw, source, name, 1)
        elif key in _BOOL_KEYS:
            if type(raw) is not bool:
                raise PolicyFileError(source, name, "must be true or false")
            changes[key] = raw
        elif key == "exempt":
            changes[key] = _parse_exempt(raw, source)
        else:
            raise PolicyFileError(source, name, "unknown key")
    return replace(FilingRules(), **changes)


def _parse_int(raw: object, source: str, name: str, minimum: int) -> int:
    if type(raw) is not int:
        raise PolicyFileError(source, name, f"must be an integer, not {type(raw).__name__}")
    if raw < minimum:
        raise PolicyFileError(source, name, f"must be >= {minimum}, got {raw}")
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
        if klass not in EXEMPT_CLASSES:
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


def filing_number(insu_admdvs: str, on: date, seq: int) -> str:
    """Filing number `BA{insu_admdvs}{yyyymmdd}{seq:06d}` (domain.md §3 "Approval")."""
    _check_admdvs(insu_admdvs, "insu_admdvs")
    if type(seq) is not int or not 0 <= seq < 10**6:
        raise InvalidInput("seq", "must be an integer from 0 to 999999")
    return f"BA{insu_admdvs}{on:%Y%m%d}{seq:06d}"


def _check_admdvs(code: str, name: str) -> None:
    if not (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()):
        raise InvalidInput(name, f"must be a 6-digit admdvs code, got {code!r}")


def _check_destination(insu_admdvs: str, destination: str) -> None:
    _check_admdvs(destination, "destination")
    if destination[:2] == insu_admdvs[:2]:
        raise InvalidInput("destination", "must be in another province than the insured place")


def _coerce(kind: type[_E], value: object, name: str) -> _E:
    if isinstance(value, str) and value in kind._value2member_map_:
        return kind(value)
    raise InvalidInput(name, f"unknown value {value!r}")


def _valid_on(filing: Filing, on: date) -> bool:
    return filing.valid_from <= on and (filing.valid_until is None or on < filing.valid_until)


def _is_active(filing: Filing, on: date) -> bool:
    live = filing.status in (FilingStatus.APPROVED, FilingStatus.PENDING)
    return live and (filing.valid_until is None or on < filing.valid_until)


def _validity_end(category: FilingCategory, start: date, rules: FilingRules) -> date | None:
    if category in LONG_TERM_CATEGORIES:
        days = rules.long_term_validity_days
        return None if days is None else start + timedelta(days=days)
    return start + timedelta(days=rules.temp_validity_days)


def _route(request: FilingRequest, category: FilingCategory, rules: FilingRules) -> FilingRoute:
    if request.commitment:
        if category in LONG_TERM_CATEGORIES or (
            category is FilingCategory.REFERRAL and rules.referral_commitment
        ):
            return FilingRoute.COMMITMENT
        raise InvalidInput("commitment", f"the commitment route is not open to {category}")
    if category is FilingCategory.EMERGENCY:
        return FilingRoute.DEEMED
    if not REQUIRED_MATERIALS[category]:
        return FilingRoute.NONE_REQUIRED
    missing = [m for m in REQUIRED_MATERIALS[category] if m not in request.materials]
    if missing:
        raise InvalidInput("materials", f"missing {', '.join(missing)}")
    return FilingRoute.MATERIALS


def _build(
    request: FilingRequest,
    rules: FilingRules,
    standing: PersonStanding,
    existing: Sequence[Filing],
    on: date,
    seq: int,
    valid_from: date,
    *,
    post_hoc: bool,
) -> Filing:
    """Shared checks of §3 "Approval"/"Validity" for submit and 补办, then the new filing."""
    category = _coerce(FilingCategory, request.category, "category")
    channel = _coerce(FilingChannel, request.channel, "channel")
    if not request.psn_no:
        raise InvalidInput("psn_no", "must not be empty")
    _check_admdvs(request.insu_admdvs, "insu_admdvs")
    _check_destination(request.insu_admdvs, request.destination)
    if not standing.insurance_active:
        raise InsuranceInactive(f"insurance of {request.psn_no} is not active on {on}")
    proxy = request.proxy
    if proxy is not None:
        if not (proxy.face_verified and proxy.consent_recorded):
            raise ProxyNotVerified("the proxy needs face recognition and recorded consent")
        if not proxy.relationship or proxy.agent_psn_no == request.psn_no:
            raise InvalidInput("proxy", "needs a relationship and an agent other than the person")
    route = _route(request, category, rules)
    barred = standing.commitment_barred_until
    if route is FilingRoute.COMMITMENT and barred is not None and on < barred:
        raise CommitmentBarred(f"commitment route barred until {barred.isoformat()}")
    if category in LONG_TERM_CATEGORIES and any(
        f.psn_no == request.psn_no and f.category in LONG_TERM_CATEGORIES and _is_active(f, on)
        for f in existing
    ):
        raise FilingConflict("an active long-term filing exists; change or cancel it first")
    pending = route is FilingRoute.MATERIALS
    return Filing(
        filing_no=filing_number(request.insu_admdvs, on, seq),
        psn_no=request.psn_no,
        insu_admdvs=request.insu_admdvs,
        category=category,
        destination=request.destination,
        valid_from=valid_from,
        valid_until=_validity_end(category, valid_from, rules),
        status=FilingStatus.PENDING if pending else FilingStatus.APPROVED,
        route=route,
        channel=channel,
        applied_on=on,
        decided_on=None if pending else on,
        review_due=add_working_days(on, rules.review_working_days) if pending else None,
        proxy=proxy,
        post_hoc=post_hoc,
    )


def submit_filing(
    request: FilingRequest,
    rules: FilingRules,
    standing: PersonStanding,
    existing: Sequence[Filing],
    on: date,
    seq: int,
) -> Filing:
    """File in advance (domain.md §3 "Approval"): commitment or material-free → approved at once
    ("免证明材料、即时办理、即时享受"); with materials → pending, due in review_working_days.
    Emergency is never filed in advance (视同已备案); a start before `on` needs 补办."""
    if request.category == FilingCategory.EMERGENCY:
        raise InvalidInput("category", "emergency is treated as filed; use 补办 after the fact")
    if request.start < on:
        raise InvalidInput("start", "must not be before the filing date; use 补办")
    return _build(request, rules, standing, existing, on, seq, request.start, post_hoc=False)


def approve(filing: Filing, on: date) -> Filing:
    """Approve a pending filing after review of its materials (domain.md §3 "Approval")."""
    _require(filing, FilingStatus.PENDING)
    return replace(filing, status=FilingStatus.APPROVED, decided_on=on)


def reject(filing: Filing, on: date, reason: str) -> Filing:
    """Reject a pending filing; the reason is kept on the record (domain.md §3 "Approval")."""
    _require(filing, FilingStatus.PENDING)
    if not reason:
        raise InvalidInput("reason", "a rejection needs a reason")
    return replace(filing, status=FilingStatus.REJECTED, decided_on=on, reason=reason)


def _require(filing: Filing, *statuses: FilingStatus) -> None:
    if filing.status not in statuses:
        wanted = " or ".join(statuses)
        raise FilingStateError(f"filing {filing.filing_no} is {filing.status}, not {wanted}")


def _check_unlocked(filing: Filing, rules: FilingRules, standing: PersonStanding, on: date) -> None:
    """domain.md §3 "Change and cancel": long-term after the holding period; never during a stay."""
    if standing.open_inpatient_stay:
        raise FilingLocked("not while an inpatient stay is open; settle the discharge first")
    if filing.category in LONG_TERM_CATEGORIES and filing.status is FilingStatus.APPROVED:
        allowed = add_months(filing.valid_from, rules.long_term_min_hold_months)
        if on < allowed:
            raise FilingLocked(f"a long-term filing can be changed or cancelled from {allowed}")


def _ended(filing: Filing, status: FilingStatus, on: date) -> Filing:
    end = filing.valid_until
    if end is None or end > on:
        end = max(on, filing.valid_from)
    return replace(filing, status=status, valid_until=end)


def change_filing(
    filing: Filing,
    new_destination: str,
    rules: FilingRules,
    standing: PersonStanding,
    on: date,
    seq: int,
) -> tuple[Filing, Filing]:
    """Move an approved filing to a new destination: (old superseded, new approved from `on`).

    domain.md §3 "Change and cancel"; the new filing keeps category, route and channel and gets a
    fresh validity from `on`.
    """
    _require(filing, FilingStatus.APPROVED)
    _check_destination(filing.insu_admdvs, new_destination)
    if new_destination == filing.destination:
        raise InvalidInput("destination", "is the current destination")
    if not standing.insurance_active:
        raise InsuranceInactive(f"insurance of {filing.psn_no} is not active on {on}")
    _check_unlocked(filing, rules, standing, on)
    new = replace(
        filing,
        filing_no=filing_number(filing.insu_admdvs, on, seq),
        destination=new_destination,
        valid_from=on,
        valid_until=_validity_end(filing.category, on, rules),
        applied_on=on,
        decided_on=on,
        review_due=None,
        proxy=None,
        post_hoc=False,
        reason=f"change of {filing.filing_no}",
    )
    return _ended(filing, FilingStatus.SUPERSEDED, on), new


def cancel_filing(filing: Filing, rules: FilingRules, standing: PersonStanding, on: date) -> Filing:
    """Cancel a pending or approved filing (domain.md §3 "Change and cancel"); ends it on `on`."""
    _require(filing, FilingStatus.PENDING, FilingStatus.APPROVED)
    _check_unlocked(filing, rules, standing, on)
    return _ended(filing, FilingStatus.CANCELLED, on)


def revoke_commitment(filing: Filing, on: date, rules: FilingRules) -> tuple[Filing, date]:
    """A commitment filing's materials are missing or false: cancel it and bar the route until the
    returned date, `on` + commitment_ban_months (domain.md §3 "Change and cancel")."""
    _require(filing, FilingStatus.APPROVED, FilingStatus.PENDING)
    if filing.route is not FilingRoute.COMMITMENT:
        raise FilingStateError(f"filing {filing.filing_no} was not made by commitment")
    cancelled = replace(
        _ended(filing, FilingStatus.CANCELLED, on), reason="commitment materials missing or false"
    )
    return cancelled, add_months(on, rules.commitment_ban_months)


def submit_post_hoc_filing(
    request: FilingRequest,
    admission_date: date,
    rules: FilingRules,
    standing: PersonStanding,
    existing: Sequence[Filing],
    on: date,
    seq: int,
    *,
    discharge_settled: bool,
) -> PostHocOutcome:
    """补办 (domain.md §3): file after admission with valid_from back-dated to `admission_date`.

    Emergency may go back to the admission date without limit (when
    rules.emergency_backdate_to_admission). Every other category, long-term and temporary alike,
    may go back at most rules.long_term_backdate_days before `on` (BackdateTooFar otherwise).
    `request.start` is not used. Not yet discharge-settled → the hospital settles directly;
    already paid in full → manual reimbursement.
    """
    if admission_date > on:
        raise InvalidInput("admission_date", "must not be after the filing date")
    unlimited = (
        request.category == FilingCategory.EMERGENCY and rules.emergency_backdate_to_admission
    )
    earliest = on - timedelta(days=rules.long_term_backdate_days)
    if not unlimited and admission_date < earliest:
        raise BackdateTooFar(f"a filing made on {on} can start no earlier than {earliest}")
    filing = _build(request, rules, standing, existing, on, seq, admission_date, post_hoc=True)
    return PostHocOutcome(filing, not discharge_settled, discharge_settled)


def _destination_rank(destination: str, admdvs: str) -> int | None:
    candidates = (admdvs, admdvs[:4] + "00", admdvs[:2] + "0000")
    return candidates.index(destination) if destination in candidates else None


def _preference(category: FilingCategory) -> int:
    return 0 if category in LONG_TERM_CATEGORIES else 1 + _TEMP_ORDER.index(category)


def matching_filings(filings: Sequence[Filing], institution_admdvs: str, on: date) -> list[Filing]:
    """Approved filings valid on `on` whose destination is the institution's region, prefecture
    or province, best first: long-term, referral, other_temp (domain.md §3 "Validity")."""
    _check_admdvs(institution_admdvs, "institution_admdvs")
    found = []
    for filing in filings:
        rank = _destination_rank(filing.destination, institution_admdvs)
        if rank is not None and _valid_on(filing, on) and filing.status is FilingStatus.APPROVED:
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
    _check_admdvs(insu_admdvs, "insu_admdvs")
    _check_admdvs(institution_admdvs, "institution_admdvs")
    for zone in rules.exempt:
        insured, treating = zone.insured_prefix, zone.treating_prefix
        if insu_admdvs.startswith(insured) and institution_admdvs.startswith(treating):
            return zone.benefit_class
    if institution_admdvs[:2] == insu_admdvs[:2]:
        long_term = (f for f in filings if f.category in LONG_TERM_CATEGORIES)
        if any(f.status is FilingStatus.APPROVED and _valid_on(f, on) for f in long_term):
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
