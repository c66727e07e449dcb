"""Filing (备案) rules of domain.md §3."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

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
from medsettle.core.filing import (
    JING_JIN_JI,
    REQUIRED_MATERIALS,
    BenefitClass,
    ExemptZone,
    Filing,
    FilingCategory,
    FilingChannel,
    FilingRequest,
    FilingRoute,
    FilingRules,
    FilingStatus,
    PersonStanding,
    ProxyInfo,
    benefit_class,
    filing_number,
    matching_filings,
    parse_filing_rules,
    valid_on,
)
from medsettle.core.filing_actions import (
    approve,
    cancel_filing,
    change_filing,
    reject,
    revoke_commitment,
    submit_filing,
    submit_post_hoc_filing,
)

FRIDAY = date(2025, 3, 7)
INSURED = "330100"  # Hangzhou
GUANGZHOU = "440100"
TIANHE = "440106"  # a district of Guangzhou
RULES = FilingRules()
ACTIVE = PersonStanding(insurance_active=True)

Cat = FilingCategory


def request(
    category: FilingCategory = Cat.RESETTLED_RETIREE,
    *,
    destination: str = GUANGZHOU,
    start: date = FRIDAY,
    commitment: bool = False,
    materials: tuple[str, ...] = (),
    proxy: ProxyInfo | None = None,
) -> FilingRequest:
    return FilingRequest(
        psn_no="P001",
        insu_admdvs=INSURED,
        category=category,
        destination=destination,
        start=start,
        channel=FilingChannel.APP,
        commitment=commitment,
        materials=materials,
        proxy=proxy,
    )


def filed(
    category: FilingCategory = Cat.RESETTLED_RETIREE,
    *,
    destination: str = GUANGZHOU,
    on: date = FRIDAY,
    seq: int = 1,
    rules: FilingRules = RULES,
) -> Filing:
    """An approved filing made on `on` (commitment for long-term, else with materials)."""
    long_term = category in (Cat.RESETTLED_RETIREE, Cat.LONG_TERM_RESIDENT, Cat.POSTED_WORKER)
    req = request(
        category,
        destination=destination,
        start=on,
        commitment=long_term,
        materials=REQUIRED_MATERIALS[category],
    )
    filing = submit_filing(req, rules, ACTIVE, [], on, seq)
    return approve(filing, on) if filing.status is FilingStatus.PENDING else filing


# ---- approval ---------------------------------------------------------------------------------


def test_commitment_filing_is_approved_instantly() -> None:
    filing = submit_filing(request(commitment=True), RULES, ACTIVE, [], FRIDAY, 42)

    assert filing.status is FilingStatus.APPROVED
    assert filing.route is FilingRoute.COMMITMENT
    assert filing.decided_on == FRIDAY
    assert filing.review_due is None
    assert filing.filing_no == "BA33010020250307000042"
    assert filing.valid_from == FRIDAY
    assert filing.valid_until is None  # long-term: indefinite


def test_materials_filing_is_pending_and_review_skips_the_weekend() -> None:
    req = request(materials=("resettlement_proof",))
    filing = submit_filing(req, RULES, ACTIVE, [], FRIDAY, 1)

    assert filing.status is FilingStatus.PENDING
    assert filing.route is FilingRoute.MATERIALS
    assert filing.decided_on is None
    assert filing.review_due == date(2025, 3, 10)  # Monday

    three_days = replace(RULES, review_working_days=3)
    assert submit_filing(req, three_days, ACTIVE, [], FRIDAY, 1).review_due == date(2025, 3, 12)


def test_pending_filing_is_approved_or_rejected_once() -> None:
    pending = submit_filing(
        request(materials=("resettlement_proof",)), RULES, ACTIVE, [], FRIDAY, 1
    )

    approved = approve(pending, date(2025, 3, 10))
    rejected = reject(pending, date(2025, 3, 10), "proof illegible")

    assert (approved.status, approved.decided_on) == (FilingStatus.APPROVED, date(2025, 3, 10))
    assert (rejected.status, rejected.reason) == (FilingStatus.REJECTED, "proof illegible")
    assert pending.status is FilingStatus.PENDING  # never mutated
    with pytest.raises(FilingStateError):
        approve(approved, date(2025, 3, 11))
    with pytest.raises(FilingStateError):
        reject(rejected, date(2025, 3, 11), "again")


def test_missing_material_is_named() -> None:
    req = request(Cat.POSTED_WORKER, materials=("resettlement_proof",))

    with pytest.raises(InvalidInput) as caught:
        submit_filing(req, RULES, ACTIVE, [], FRIDAY, 1)

    assert caught.value.field == "materials"
    assert "employer_posting_proof" in caught.value.message


def test_other_temporary_filing_needs_no_materials_and_lasts_180_days() -> None:
    filing = submit_filing(request(Cat.OTHER_TEMP), RULES, ACTIVE, [], FRIDAY, 1)

    assert filing.status is FilingStatus.APPROVED
    assert filing.route is FilingRoute.NONE_REQUIRED
    assert filing.valid_until == FRIDAY + timedelta(days=180)


def test_region_may_give_long_term_filings_a_fixed_validity() -> None:
    hainan = replace(RULES, long_term_validity_days=365)

    filing = submit_filing(request(commitment=True), hainan, ACTIVE, [], FRIDAY, 1)

    assert filing.valid_until == date(2026, 3, 7)


def test_second_long_term_filing_conflicts_but_a_temporary_one_coexists() -> None:
    first = filed(Cat.LONG_TERM_RESIDENT)

    with pytest.raises(FilingConflict):
        submit_filing(
            request(Cat.POSTED_WORKER, commitment=True), RULES, ACTIVE, [first], FRIDAY, 2
        )
    temporary = submit_filing(
        request(Cat.REFERRAL, destination="310100", materials=("referral_proof",)),
        RULES,
        ACTIVE,
        [first],
        FRIDAY,
        2,
    )
    assert temporary.status is FilingStatus.PENDING


def test_pending_long_term_filing_also_blocks_a_second_one() -> None:
    pending = submit_filing(
        request(materials=("resettlement_proof",)), RULES, ACTIVE, [], FRIDAY, 1
    )

    with pytest.raises(FilingConflict):
        submit_filing(request(commitment=True), RULES, ACTIVE, [pending], FRIDAY, 2)


def test_cancelled_long_term_filing_no_longer_conflicts() -> None:
    later = date(2025, 10, 1)
    old = cancel_filing(filed(), RULES, ACTIVE, later)

    new = submit_filing(request(start=later, commitment=True), RULES, ACTIVE, [old], later, 2)

    assert new.status is FilingStatus.APPROVED


def test_inactive_insurance_is_refused() -> None:
    lapsed = PersonStanding(insurance_active=False)

    with pytest.raises(InsuranceInactive):
        submit_filing(request(commitment=True), RULES, lapsed, [], FRIDAY, 1)


@pytest.mark.parametrize(
    ("req", "field"),
    [
        (request(destination="330200"), "destination"),  # same province (Ningbo)
        (request(destination="4401"), "destination"),
        (request(Cat.EMERGENCY), "category"),
        (request(start=FRIDAY - timedelta(days=1), commitment=True), "start"),
        (request(Cat.OTHER_TEMP, commitment=True), "commitment"),
        (request(Cat.REFERRAL, commitment=True), "commitment"),
    ],
)
def test_malformed_request_names_the_field(req: FilingRequest, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        submit_filing(req, RULES, ACTIVE, [], FRIDAY, 1)

    assert caught.value.field == field


def test_referral_commitment_is_allowed_when_the_region_opens_it() -> None:
    rules = replace(RULES, referral_commitment=True)

    filing = submit_filing(request(Cat.REFERRAL, commitment=True), rules, ACTIVE, [], FRIDAY, 1)

    assert (filing.route, filing.status) == (FilingRoute.COMMITMENT, FilingStatus.APPROVED)


def test_filing_number_is_ba_region_date_and_six_digit_sequence() -> None:
    assert filing_number("110100", date(2024, 12, 31), 7) == "BA11010020241231000007"
    with pytest.raises(InvalidInput):
        filing_number("110100", FRIDAY, 1_000_000)


def test_proxy_without_face_verification_is_refused() -> None:
    unverified = ProxyInfo("P002", "child", consent_recorded=True, face_verified=False)

    with pytest.raises(ProxyNotVerified):
        submit_filing(request(commitment=True, proxy=unverified), RULES, ACTIVE, [], FRIDAY, 1)


def test_proxy_without_consent_is_refused_and_verified_proxy_is_recorded() -> None:
    no_consent = ProxyInfo("P002", "child", consent_recorded=False, face_verified=True)
    verified = ProxyInfo("P002", "child", consent_recorded=True, face_verified=True)

    with pytest.raises(ProxyNotVerified):
        submit_filing(request(commitment=True, proxy=no_consent), RULES, ACTIVE, [], FRIDAY, 1)
    filing = submit_filing(request(commitment=True, proxy=verified), RULES, ACTIVE, [], FRIDAY, 1)

    assert filing.psn_no == "P001"
    assert filing.proxy == verified


# ---- change, cancel, revoke -------------------------------------------------------------------


def test_long_term_filing_is_locked_for_six_months_then_can_be_changed() -> None:
    filing = filed()

    with pytest.raises(FilingLocked, match="2025-09-07"):
        change_filing(filing, "310100", RULES, ACTIVE, date(2025, 9, 6), 2)
    old, new = change_filing(filing, "310100", RULES, ACTIVE, date(2025, 9, 7), 2)

    assert (old.status, old.valid_until) == (FilingStatus.SUPERSEDED, date(2025, 9, 7))
    assert new.status is FilingStatus.APPROVED
    assert (new.destination, new.valid_from, new.valid_until) == ("310100", date(2025, 9, 7), None)
    assert new.filing_no == "BA33010020250907000002"


def test_long_term_filing_is_locked_for_six_months_then_can_be_cancelled() -> None:
    filing = filed()

    with pytest.raises(FilingLocked, match="2025-09-07"):
        cancel_filing(filing, RULES, ACTIVE, date(2025, 9, 6))
    cancelled = cancel_filing(filing, RULES, ACTIVE, date(2025, 9, 7))

    assert (cancelled.status, cancelled.valid_until) == (FilingStatus.CANCELLED, date(2025, 9, 7))


def test_a_long_term_filing_not_yet_in_force_can_be_cancelled_before_it_starts() -> None:
    starts = date(2025, 5, 1)
    ahead = replace(filed(), valid_from=starts)

    cancelled = cancel_filing(ahead, RULES, ACTIVE, FRIDAY)

    assert (cancelled.status, cancelled.valid_until) == (FilingStatus.CANCELLED, starts)
    assert not valid_on(cancelled, starts)  # it never covers a day
    with pytest.raises(FilingLocked, match="2025-11-01"):  # once in force, it is held
        cancel_filing(ahead, RULES, ACTIVE, starts)
    old, new = change_filing(ahead, "310100", RULES, ACTIVE, FRIDAY, 2)
    assert (old.status, new.destination, new.valid_from) == (
        FilingStatus.SUPERSEDED, "310100", starts)  # a change keeps the start ahead


def test_an_ended_filing_is_not_revived_by_a_change() -> None:
    referral = filed(Cat.REFERRAL)
    assert referral.valid_until is not None
    with pytest.raises(FilingStateError, match="ended on"):
        change_filing(referral, "310100", RULES, ACTIVE, referral.valid_until, 2)
    old, new = change_filing(referral, "310100", RULES, ACTIVE,
                             referral.valid_until - timedelta(days=1), 2)
    assert (old.status, new.status) == (FilingStatus.SUPERSEDED, FilingStatus.APPROVED)


def test_a_rejection_needs_a_reason_that_is_not_blank() -> None:
    pending = replace(filed(Cat.REFERRAL), status=FilingStatus.PENDING)
    with pytest.raises(InvalidInput, match="reason"):
        reject(pending, FRIDAY, "   ")
    assert reject(pending, FRIDAY, "  no referral letter ").reason == "no referral letter"


def test_shorter_holding_period_unlocks_earlier() -> None:
    three_months = replace(RULES, long_term_min_hold_months=3)

    cancelled = cancel_filing(filed(), three_months, ACTIVE, date(2025, 6, 7))

    assert cancelled.status is FilingStatus.CANCELLED


def test_temporary_filing_can_be_changed_and_cancelled_any_time() -> None:
    filing = filed(Cat.OTHER_TEMP)

    old, new = change_filing(filing, "310100", RULES, ACTIVE, FRIDAY, 2)
    cancelled = cancel_filing(filing, RULES, ACTIVE, FRIDAY)

    assert old.status is FilingStatus.SUPERSEDED
    assert new.valid_until == FRIDAY + timedelta(days=180)
    assert cancelled.status is FilingStatus.CANCELLED


def test_no_change_or_cancel_during_an_open_inpatient_stay() -> None:
    in_hospital = PersonStanding(insurance_active=True, open_inpatient_stay=True)
    temporary = filed(Cat.OTHER_TEMP)
    long_term = filed()
    after_hold = date(2026, 1, 5)

    with pytest.raises(FilingLocked, match="inpatient"):
        cancel_filing(temporary, RULES, in_hospital, FRIDAY)
    with pytest.raises(FilingLocked, match="inpatient"):
        change_filing(long_term, "310100", RULES, in_hospital, after_hold, 2)


def test_revoked_commitment_bars_the_route_for_24_months() -> None:
    filing = filed()
    found_false = date(2025, 5, 20)

    cancelled, barred_until = revoke_commitment(filing, found_false, RULES)

    assert cancelled.status is FilingStatus.CANCELLED
    assert cancelled.valid_until == found_false
    assert barred_until == date(2027, 5, 20)
    barred = PersonStanding(insurance_active=True, commitment_barred_until=barred_until)
    day_before = date(2027, 5, 19)
    with pytest.raises(CommitmentBarred, match="2027-05-20"):
        submit_filing(
            request(start=day_before, commitment=True), RULES, barred, [cancelled], day_before, 3
        )
    with_proof = request(start=day_before, materials=("resettlement_proof",))
    assert submit_filing(with_proof, RULES, barred, [cancelled], day_before, 3).status is (
        FilingStatus.PENDING
    )
    assert (
        submit_filing(
            request(start=barred_until, commitment=True),
            RULES,
            barred,
            [cancelled],
            barred_until,
            4,
        ).status
        is FilingStatus.APPROVED
    )


def test_only_commitment_filings_can_be_revoked() -> None:
    with pytest.raises(FilingStateError):
        revoke_commitment(filed(Cat.OTHER_TEMP), FRIDAY, RULES)


# ---- 补办 ---------------------------------------------------------------------------------------


def test_post_hoc_emergency_filing_back_dates_to_admission() -> None:
    admitted = date(2025, 2, 1)  # 34 days before the filing date

    outcome = submit_post_hoc_filing(
        request(Cat.EMERGENCY), admitted, RULES, ACTIVE, [], FRIDAY, 9, discharge_settled=False
    )

    assert outcome.filing.valid_from == admitted
    assert outcome.filing.route is FilingRoute.DEEMED
    assert outcome.filing.status is FilingStatus.APPROVED
    assert outcome.filing.post_hoc is True
    assert (outcome.settle_directly, outcome.manual_reimbursement) == (True, False)


def test_emergency_back_dating_reaches_the_admission_a_year_back_and_no_further() -> None:
    """Emergency 补办 goes back to the admission date, bounded by emergency_backdate_max_days
    (365 by default): an admission on 0001-01-01 is not a filing's case."""
    year_ago = FRIDAY - timedelta(days=365)
    outcome = submit_post_hoc_filing(
        request(Cat.EMERGENCY), year_ago, RULES, ACTIVE, [], FRIDAY, 9, discharge_settled=True
    )
    assert outcome.filing.valid_from == year_ago
    for too_early in (year_ago - timedelta(days=1), date(1, 1, 1)):
        with pytest.raises(BackdateTooFar, match=str(year_ago)):
            submit_post_hoc_filing(request(Cat.EMERGENCY), too_early, RULES, ACTIVE, [],
                                   FRIDAY, 9, discharge_settled=True)
    shorter = parse_filing_rules({"filing": {"emergency_backdate_max_days": 30}}, "p.yaml")
    with pytest.raises(BackdateTooFar):
        submit_post_hoc_filing(request(Cat.EMERGENCY), date(2025, 2, 1), shorter, ACTIVE, [],
                               FRIDAY, 9, discharge_settled=False)


def test_long_term_back_dating_beyond_five_days_is_refused() -> None:
    six_days_ago = FRIDAY - timedelta(days=6)

    with pytest.raises(BackdateTooFar, match="2025-03-02"):
        submit_post_hoc_filing(
            request(commitment=True),
            six_days_ago,
            RULES,
            ACTIVE,
            [],
            FRIDAY,
            1,
            discharge_settled=False,
        )


def test_long_term_back_dating_within_five_days_leads_to_manual_reimbursement_once_paid() -> None:
    five_days_ago = date(2025, 3, 2)

    outcome = submit_post_hoc_filing(
        request(commitment=True),
        five_days_ago,
        RULES,
        ACTIVE,
        [],
        FRIDAY,
        1,
        discharge_settled=True,
    )

    assert outcome.filing.valid_from == five_days_ago
    assert (outcome.settle_directly, outcome.manual_reimbursement) == (False, True)


def test_temporary_back_dating_follows_the_same_five_day_limit() -> None:
    with pytest.raises(BackdateTooFar):
        submit_post_hoc_filing(
            request(Cat.OTHER_TEMP),
            date(2025, 2, 1),
            RULES,
            ACTIVE,
            [],
            FRIDAY,
            1,
            discharge_settled=False,
        )


def test_post_hoc_filing_still_checks_conflicts() -> None:
    with pytest.raises(FilingConflict):
        submit_post_hoc_filing(
            request(commitment=True),
            FRIDAY,
            RULES,
            ACTIVE,
            [filed()],
            FRIDAY,
            2,
            discharge_settled=False,
        )


# ---- matching ----------------------------------------------------------------------------------


@pytest.mark.parametrize("destination", ["440106", "440100", "440000"])
def test_filing_matches_by_region_prefecture_and_province(destination: str) -> None:
    filing = filed(Cat.OTHER_TEMP, destination=destination)

    assert matching_filings([filing], TIANHE, FRIDAY) == [filing]


def test_filing_for_another_region_does_not_match() -> None:
    assert matching_filings([filed(Cat.OTHER_TEMP, destination="440300")], TIANHE, FRIDAY) == []


def test_expired_or_cancelled_or_pending_filing_does_not_match() -> None:
    temporary = filed(Cat.OTHER_TEMP)
    expiry = FRIDAY + timedelta(days=180)
    cancelled = cancel_filing(filed(Cat.OTHER_TEMP), RULES, ACTIVE, FRIDAY)
    pending = submit_filing(
        request(materials=("resettlement_proof",)), RULES, ACTIVE, [], FRIDAY, 1
    )

    assert matching_filings([temporary], TIANHE, expiry - timedelta(days=1)) == [temporary]
    assert matching_filings([temporary], TIANHE, expiry) == []
    assert matching_filings([temporary], TIANHE, FRIDAY - timedelta(days=1)) == []
    assert matching_filings([cancelled, pending], TIANHE, FRIDAY) == []


def test_matching_prefers_long_term_then_referral_then_other_temp() -> None:
    other = filed(Cat.OTHER_TEMP, destination="440106")
    referral = filed(Cat.REFERRAL, destination="440000")
    long_term = filed(Cat.POSTED_WORKER, destination="440100")

    assert matching_filings([other, referral, long_term], TIANHE, FRIDAY) == [
        long_term,
        referral,
        other,
    ]


# ---- benefit class ------------------------------------------------------------------------------


def classify(
    filings: list[Filing],
    *,
    insured: str = INSURED,
    institution: str = TIANHE,
    emergency: bool = False,
    manual: bool = False,
    rules: FilingRules = RULES,
) -> BenefitClass:
    return benefit_class(
        filings,
        insu_admdvs=insured,
        institution_admdvs=institution,
        on=FRIDAY,
        emergency=emergency,
        rules=rules,
        manual=manual,
    )


@pytest.mark.parametrize(
    ("category", "emergency", "expected"),
    [
        (Cat.RESETTLED_RETIREE, False, BenefitClass.LONG_TERM),
        (Cat.LONG_TERM_RESIDENT, True, BenefitClass.LONG_TERM),
        (Cat.POSTED_WORKER, False, BenefitClass.LONG_TERM),
        (Cat.REFERRAL, False, BenefitClass.REFERRAL),
        (Cat.REFERRAL, True, BenefitClass.REFERRAL),
        (Cat.OTHER_TEMP, False, BenefitClass.OTHER_TEMP),
        (Cat.OTHER_TEMP, True, BenefitClass.EMERGENCY),
    ],
)
def test_benefit_class_follows_the_matching_filing(
    category: FilingCategory, emergency: bool, expected: BenefitClass
) -> None:
    assert classify([filed(category)], emergency=emergency) is expected


def test_emergency_without_any_filing_is_class_emergency() -> None:
    assert classify([], emergency=True) is BenefitClass.EMERGENCY


def test_no_matching_filing_and_no_emergency_is_not_filed() -> None:
    elsewhere = filed(Cat.REFERRAL, destination="310100")

    with pytest.raises(NotFiled, match="补办"):
        classify([elsewhere])


def test_manual_reimbursement_without_filing_is_unfiled() -> None:
    assert classify([], manual=True) is BenefitClass.UNFILED


def test_exempt_zone_counts_as_long_term() -> None:
    rules = replace(RULES, exempt=JING_JIN_JI)

    assert classify([], insured="110100", institution="120101", rules=rules) is (
        BenefitClass.LONG_TERM
    )
    assert classify([], insured="110100", institution="130102", rules=rules) is (
        BenefitClass.LONG_TERM
    )
    with pytest.raises(NotFiled):
        classify([], insured="310100", institution="120101", rules=rules)


def test_long_term_filer_treated_back_at_the_insured_place_is_long_term_return() -> None:
    assert classify([filed()], institution="330106") is BenefitClass.LONG_TERM_RETURN


def test_temporary_filer_treated_at_home_is_not_a_cross_province_visit() -> None:
    with pytest.raises(InvalidInput) as caught:
        classify([filed(Cat.OTHER_TEMP)], institution="330106")

    assert caught.value.field == "institution_admdvs"


# ---- policy document ---------------------------------------------------------------------------


def test_missing_filing_section_takes_the_defaults() -> None:
    assert parse_filing_rules(None, "p.yaml") == FilingRules()
    assert parse_filing_rules({"id": "x"}, "p.yaml") == FilingRules()
    assert RULES.temp_validity_days == 180
    assert RULES.long_term_min_hold_months == 6
    assert RULES.commitment_ban_months == 24
    assert RULES.long_term_backdate_days == 5


def test_filing_section_is_read() -> None:
    doc = {
        "filing": {
            "temp_validity_days": 365,
            "long_term_min_hold_months": 3,
            "long_term_validity_days": None,
            "commitment_ban_months": 12,
            "review_working_days": 3,
            "long_term_backdate_days": 7,
            "exempt": [
                {"insured_prefix": "11", "treating_prefix": "12", "class": "long_term"},
                {"treating_prefix": "13"},
            ],
        }
    }

    rules = parse_filing_rules(doc, "p.yaml")

    assert rules == FilingRules(
        temp_validity_days=365,
        long_term_min_hold_months=3,
        commitment_ban_months=12,
        review_working_days=3,
        long_term_backdate_days=7,
        exempt=(ExemptZone("11", "12"), ExemptZone("", "13", BenefitClass.LONG_TERM)),
    )


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"temp_validity_days": 180.0}, "filing.temp_validity_days"),
        ({"commitment_ban_months": -1}, "filing.commitment_ban_months"),
        ({"long_term_min_hold_months": True}, "filing.long_term_min_hold_months"),
        ({"long_term_validity_days": 365.5}, "filing.long_term_validity_days"),
        ({"review_days": 1}, "filing.review_days"),
        ({"emergency_backdate_max_days": 0}, "filing.emergency_backdate_max_days"),
        ({"referral_commitment": "yes"}, "filing.referral_commitment"),
        ({"exempt": [{"treating_prefix": "12", "class": "gold"}]}, "filing.exempt[0].class"),
        ({"exempt": [{"treating_prefix": 12}]}, "filing.exempt[0].treating_prefix"),
        ({"exempt": [{"treating_prefix": "1a"}]}, "filing.exempt[0].treating_prefix"),
        ({"exempt": [{"insured_prefix": "11"}]}, "filing.exempt[0].treating_prefix"),
        ({"exempt": [{"treating_prefix": "12", "to": "x"}]}, "filing.exempt[0].to"),
        ({"exempt": "12"}, "filing.exempt"),
    ],
)
def test_bad_filing_parameter_names_its_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(PolicyFileError) as caught:
        parse_filing_rules({"filing": section}, "330100/employee/2025.yaml")

    assert caught.value.key == key
    assert caught.value.source == "330100/employee/2025.yaml"
