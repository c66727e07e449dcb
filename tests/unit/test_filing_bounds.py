"""The `filing:` section of a parameter set is refused, naming the key, when a value would break
filing later: a day or month count beyond ten years (added to a date it overflowed the calendar,
so every filing of the region failed with a 500), an exempt class that is a list or a mapping
(validation itself crashed with TypeError)."""

from __future__ import annotations

from datetime import date

import pytest

from medsettle.core import filing as fr
from medsettle.core import filing_actions as fa
from medsettle.core.errors import PolicyFileError
from medsettle.core.filing import parse_filing_rules

SOURCE = "440100/resident/x.yaml"
MAX_DAYS, MAX_MONTHS = 3650, 120  # ten years (core.filing.MAX_DAYS, MAX_MONTHS)
DAY_KEYS = ("temp_validity_days", "long_term_validity_days", "review_working_days",
            "long_term_backdate_days", "emergency_backdate_max_days")
MONTH_KEYS = ("long_term_min_hold_months", "commitment_ban_months")


@pytest.mark.parametrize("key", DAY_KEYS + MONTH_KEYS)
def test_a_count_beyond_ten_years_is_refused_naming_its_key(key: str) -> None:
    limit = MAX_MONTHS if key in MONTH_KEYS else MAX_DAYS
    with pytest.raises(PolicyFileError) as refused:
        parse_filing_rules({"filing": {key: 3_000_000}}, SOURCE)
    assert refused.value.key == f"filing.{key}"
    assert f"<= {limit}" in refused.value.message
    assert getattr(parse_filing_rules({"filing": {key: limit}}, SOURCE), key) == limit


def test_the_largest_counts_allowed_still_file_and_date_every_step() -> None:
    rules = parse_filing_rules({"filing": {
        "temp_validity_days": MAX_DAYS, "long_term_validity_days": MAX_DAYS,
        "review_working_days": MAX_DAYS, "long_term_min_hold_months": MAX_MONTHS,
        "commitment_ban_months": MAX_MONTHS}}, SOURCE)
    on = date(2026, 11, 30)
    temporary = fa.submit_filing(
        fr.FilingRequest("P1", "440100", fr.FilingCategory.OTHER_TEMP, "110100", on,
                         fr.FilingChannel.APP), rules, fr.PersonStanding(True), [], on, 1)
    assert temporary.valid_until == date(2036, 11, 27)
    long_term = fa.submit_filing(
        fr.FilingRequest("P1", "440100", fr.FilingCategory.LONG_TERM_RESIDENT, "110100", on,
                         fr.FilingChannel.COUNTER, materials=("residence_proof",)),
        rules, fr.PersonStanding(True), [], on, 2)
    assert long_term.review_due is not None and long_term.review_due.year == 2040


@pytest.mark.parametrize("klass", [["long_term"], {"long_term": 1}, 1, None])
def test_an_exempt_class_that_is_not_a_class_name_is_refused_naming_its_key(
        klass: object) -> None:
    section = {"exempt": [{"treating_prefix": "31", "class": "other_temp"},
                          {"treating_prefix": "32", "class": klass}]}
    with pytest.raises(PolicyFileError) as refused:
        parse_filing_rules({"filing": section}, SOURCE)
    assert refused.value.key == "filing.exempt[1].class"
    assert "must be one of long_term, other_temp, referral" in refused.value.message
