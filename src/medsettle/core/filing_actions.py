"""Filing (备案) actions: submit, review, change, cancel, revoke, 补办 (domain.md §3).

Pure: every function takes the business date `on` and returns new values; `core.filing` holds
the types, the rules read from policy documents, and the benefit class of a visit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from enum import StrEnum
from typing import TypeVar

from medsettle.core.errors import (
    BackdateTooFar,
    CommitmentBarred,
    FilingConflict,
    FilingLocked,
    FilingStateError,
    InsuranceInactive,
    InvalidInput,
    ProxyNotVerified,
)
from medsettle.core.filing import (
    LONG_TERM_CATEGORIES,
    REQUIRED_MATERIALS,
    Filing,
    FilingCategory,
    FilingChannel,
    FilingRequest,
    FilingRoute,
    FilingRules,
    FilingStatus,
    PersonStanding,
    PostHocOutcome,
    add_months,
    add_working_days,
    check_admdvs,
    filing_number,
    is_active,
)

_E = TypeVar("_E", bound=StrEnum)


def _check_destination(insu_admdvs: str, destination: str) -> None:
    check_admdvs(destination, "destination")
    if destination[:2] == insu_admdvs[:2]:
        raise InvalidInput("destination", "must be in another province than the insured place")


def _coerce(kind: type[_E], value: object, name: str) -> _E:
    if isinstance(value, str) and value in kind._value2member_map_:
        return kind(value)
    raise InvalidInput(name, f"unknown value {value!r}")


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
    check_admdvs(request.insu_admdvs, "insu_admdvs")
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
        f.psn_no == request.psn_no and f.category in LONG_TERM_CATEGORIES and is_active(f, on)
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
    if not reason.strip():
        raise InvalidInput("reason", "a rejection needs a reason")
    return replace(filing, status=FilingStatus.REJECTED, decided_on=on, reason=reason.strip())


def _require(filing: Filing, *statuses: FilingStatus) -> None:
    if filing.status not in statuses:
        wanted = " or ".join(statuses)
        raise FilingStateError(f"filing {filing.filing_no} is {filing.status}, not {wanted}")


def _check_unlocked(filing: Filing, rules: FilingRules, standing: PersonStanding, on: date) -> None:
    """domain.md §3 "Change and cancel": long-term after the holding period; never during a stay.
    A long-term filing not yet in force (it starts after `on`) has held nothing and is free to
    change or cancel: otherwise a start far ahead would lock it for as long."""
    if standing.open_inpatient_stay:
        raise FilingLocked("not while an inpatient stay is open; settle the discharge first")
    if filing.category in LONG_TERM_CATEGORIES and filing.status is FilingStatus.APPROVED \
            and filing.valid_from <= on:
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
    """Move an approved filing to a new destination: (old superseded, new approved from `on`,
    or from the old filing's start if that is later: a change does not bring a start forward).

    domain.md §3 "Change and cancel"; the new filing keeps category, route and channel and gets a
    fresh validity from then.
    """
    _require(filing, FilingStatus.APPROVED)
    if filing.valid_until is not None and filing.valid_until <= on:
        raise FilingStateError(f"filing {filing.filing_no} ended on {filing.valid_until}: "
                               "file a new one (a change would revive it without review)")
    _check_destination(filing.insu_admdvs, new_destination)
    if new_destination == filing.destination:
        raise InvalidInput("destination", "is the current destination")
    if not standing.insurance_active:
        raise InsuranceInactive(f"insurance of {filing.psn_no} is not active on {on}")
    _check_unlocked(filing, rules, standing, on)
    start = max(on, filing.valid_from)
    new = replace(
        filing,
        filing_no=filing_number(filing.insu_admdvs, on, seq),
        destination=new_destination,
        valid_from=start,
        valid_until=_validity_end(filing.category, start, rules),
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

    Emergency may go back to the admission date (when rules.emergency_backdate_to_admission),
    at most rules.emergency_backdate_max_days before `on`. Every other category, long-term and
    temporary alike, may go back at most rules.long_term_backdate_days (BackdateTooFar
    otherwise).
    `request.start` is not used. Not yet discharge-settled → the hospital settles directly;
    already paid in full → manual reimbursement.
    """
    if admission_date > on:
        raise InvalidInput("admission_date", "must not be after the filing date")
    to_admission = (
        request.category == FilingCategory.EMERGENCY and rules.emergency_backdate_to_admission
    )
    earliest = on - timedelta(days=rules.emergency_backdate_max_days if to_admission
                              else rules.long_term_backdate_days)
    if admission_date < earliest:
        raise BackdateTooFar(f"a filing made on {on} can start no earlier than {earliest}")
    filing = _build(request, rules, standing, existing, on, seq, admission_date, post_hoc=True)
    return PostHocOutcome(filing, not discharge_settled, discharge_settled)
