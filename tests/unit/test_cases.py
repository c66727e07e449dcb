"""Case documents (domain.md §5 "Case file"): strict parsing that names the bad field, and the
benefit class a case's filing maps to (domain.md §3 "Benefit class for settlement")."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from medsettle.adapters.files import examples_dir, read_document
from medsettle.core.cases import parse_case, parse_line, parse_person, parse_visit, run_case
from medsettle.core.errors import InvalidInput, NotFiled, PolicyNotInForce
from medsettle.core.filing import benefit_class
from medsettle.core.policy import PolicyBook


class _Delete:
    """The key is removed from the case (a value no case can hold)."""

    def __repr__(self) -> str:
        return "<deleted>"


DELETE = _Delete()


def e4() -> dict[str, Any]:
    doc = read_document(examples_dir() / "E4.yaml")
    assert isinstance(doc, dict)
    return copy.deepcopy(doc)


def mutated(path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """E4 with the value at `path` replaced (or deleted with DELETE)."""
    doc = e4()
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def test_the_unchanged_e4_case_parses_and_settles_as_expected(book: PolicyBook) -> None:
    case = parse_case(e4(), "E4.yaml", book)
    outcome = run_case(case)
    # domain.md §11 E4: medfee 2,023,000; hifp 1,069,152; cash 953,848.
    assert case.expected_result is not None
    assert outcome.record.as_dict() == dict(case.expected_result)
    assert (outcome.record.medfee_sumamt, outcome.record.hifp_pay,
            outcome.record.psn_cash_pay) == (2023000, 1069152, 953848)
    assert case.person.benefit_class == "long_term"
    assert case.treating_admdvs == "310100"


BAD: list[tuple[tuple[str | int, ...], object, str]] = [
    (("visit", "items", 2, "pric"), 268.0, "visit.items[2].pric"),
    (("visit", "items", 1, "pric"), "35.5x", "visit.items[1].pric"),
    (("visit", "items", 1, "pric"), "35.5000001", "visit.items[1].pric"),
    (("visit", "items", 0, "cls"), "D", "visit.items[0].cls"),
    (("visit", "items", 0, "cnt"), "-1", "visit.items[0].cnt"),
    (("visit", "items", 0, "cnt"), DELETE, "visit.items[0].cnt"),
    (("visit", "items", 2, "selfpay_prop"), DELETE, "visit.items[2].selfpay_prop"),
    (("visit", "items", 2, "selfpay_prop"), "1.5", "visit.items[2].selfpay_prop"),
    (("visit", "items", 3, "lmt_pric"), 10000.0, "visit.items[3].lmt_pric"),
    (("visit", "items", 0, "restricted_ok"), "true", "visit.items[0].restricted_ok"),
    (("visit", "items", 0, "colour"), "red", "visit.items[0].colour"),
    (("visit", "items", 4), "丙", "visit.items[4]"),
    (("visit", "items"), [], "visit.items"),
    (("visit", "level"), "L4", "visit.level"),
    (("visit", "dedc_level"), "L9", "visit.dedc_level"),
    (("visit", "setl_date"), "2025-02-30", "visit.setl_date"),
    (("visit", "type"), "dental", "visit.type"),
    (("visit", "emergency"), "no", "visit.emergency"),
    (("visit", "treating_admdvs"), 310100, "visit.treating_admdvs"),
    (("visit", "treating_admdvs"), "3101", "visit.treating_admdvs"),
    (("visit", "treating_admdvs"), "999999", "visit.treating_admdvs"),  # no province
    (("person", "scheme"), "lixiu", "person.scheme"),
    (("person", "category"), "farmer", "person.category"),
    (("person", "class"), "vip", "person.class"),
    (("person", "filing", "category"), "tourist", "person.filing.category"),
    (("person", "acc_before"), {"visits": {"inpatient": -1}},
     "person.acc_before.visits.inpatient"),
    (("person", "acc_before"), {"bogus": {"inpatient": 1}}, "person.acc_before.bogus"),
    (("person", "acc_before"), {"tiers": {"hifmi": {"spent": 1}}},
     "person.acc_before.tiers.hifmi.spent"),
    (("person", "use_acct"), "yes", "person.use_acct"),
    (("person", "chronic_certified"), "M07803", "person.chronic_certified"),
    (("params", "caps", "main"), -5, "params.caps.main"),
    (("params", "benefits", "inpatient", "ratio", "active", "L3"), 0.84,
     "params.benefits.inpatient.ratio.active.L3"),
    (("params",), 330100, "params"),
    (("person",), DELETE, "person"),
    (("expected", "result", "hifp_pay"), 10691.52, "expected.result.hifp_pay"),
    (("flavour",), "vanilla", "(case).flavour"),
]


@pytest.mark.parametrize(("path", "value", "field"), BAD,
                         ids=[f"{'.'.join(map(str, p))}={v!r}"[:60] for p, v, _ in BAD])
def test_a_bad_case_value_is_refused_naming_its_field(path: tuple[str | int, ...], value: object,
                                                      field: str, book: PolicyBook) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_case(mutated(path, value), "E4.yaml", book)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_a_params_region_with_no_policy_is_not_in_force_rather_than_invalid(
        book: PolicyBook) -> None:
    with pytest.raises(PolicyNotInForce) as err:
        parse_case(mutated(("params",), "999999"), "E4.yaml", book)
    assert not isinstance(err.value, InvalidInput)
    assert "999999" in str(err.value)


def test_a_case_without_a_filing_parses_but_does_not_settle(book: PolicyBook) -> None:
    case = parse_case(mutated(("person", "filing"), DELETE), "E4.yaml", book)
    assert case.person.benefit_class is None
    with pytest.raises(NotFiled):
        run_case(case)


def test_parse_line_names_a_line_that_is_not_a_mapping() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_line(["A", "1.00", "1"], "visit.items[7]")
    assert err.value.field == "visit.items[7]"


def test_parse_line_reads_prices_and_counts_exactly() -> None:
    fee = parse_line({"cls": "B", "pric": "33.33", "cnt": "3", "selfpay_prop": "0.15",
                      "lmt_pric": "30"}, "visit.items[0]")
    assert (str(fee.price), str(fee.count), str(fee.selfpay_prop), str(fee.cap_price)) == (
        "33.33", "3", "0.15", "30")
    assert fee.restricted_ok is True


def test_parse_visit_names_the_missing_type() -> None:
    doc = e4()["visit"]
    del doc["type"]
    with pytest.raises(InvalidInput) as err:
        parse_visit(doc)
    assert err.value.field == "visit.type"


# --- Benefit class (domain.md §3) ------------------------------------------------------------

EMPLOYEE = {"scheme": "employee", "category": "active"}

CLASSES: list[tuple[str, dict[str, Any], str | None, bool, str | None]] = [
    ("posted_worker_elsewhere", {"filing": {"category": "posted_worker"}}, "310100", False,
     "long_term"),
    ("resettled_retiree_elsewhere", {"filing": {"category": "resettled_retiree"}}, "440300",
     False, "long_term"),
    ("long_term_resident_unknown_treating_place", {"filing": {"category": "long_term_resident"}},
     None, False, "long_term"),
    ("long_term_back_in_insured_city", {"filing": {"category": "posted_worker"}}, "330100",
     False, "long_term_return"),
    ("long_term_back_in_insured_province", {"filing": {"category": "resettled_retiree"}},
     "330200", False, "long_term_return"),
    ("referral", {"filing": {"category": "referral"}}, "310100", False, "referral"),
    ("referral_in_an_emergency_stays_referral", {"filing": {"category": "referral"}}, "310100",
     True, "referral"),
    ("other_temp", {"filing": {"category": "other_temp"}}, "310100", False, "other_temp"),
    ("other_temp_in_an_emergency", {"filing": {"category": "other_temp"}}, "310100", True,
     "emergency"),
    ("no_filing_emergency", {}, "310100", True, "emergency"),
    ("no_filing_not_emergency", {}, "310100", False, None),
    ("explicit_class_wins_over_filing", {"class": "referral",
                                         "filing": {"category": "posted_worker"}},
     "310100", False, "referral"),
    ("explicit_unfiled_wins_over_emergency", {"class": "unfiled"}, "310100", True, "unfiled"),
]


@pytest.mark.parametrize(("extra", "treating", "emergency", "expected"),
                         [row[1:] for row in CLASSES], ids=[row[0] for row in CLASSES])
def test_the_benefit_class_follows_the_filing_the_treating_place_and_emergency(
        extra: dict[str, Any], treating: str | None, emergency: bool,
        expected: str | None) -> None:
    person = parse_person(EMPLOYEE | extra, "330100", treating, emergency)
    assert person.benefit_class == expected


def test_a_resident_without_a_category_is_a_resident() -> None:
    person = parse_person({"scheme": "resident", "class": "long_term"}, "610100", "110100", False)
    assert (person.scheme, person.category) == ("resident", "resident")


# --- Exempt zones (domain.md §3 "Exempt zones": Beijing insured in 津冀 count as filed) -------


def beijing_in_tianjin() -> dict[str, Any]:
    """E4 re-homed: a Beijing employee with no filing, treated in Tianjin (120100)."""
    doc = mutated(("person", "filing"), DELETE)
    doc["params"] = "110100"
    doc["visit"]["treating_admdvs"] = "120100"
    return doc


def test_the_filing_rules_treat_a_beijing_insured_in_tianjin_as_long_term(
        book: PolicyBook) -> None:
    case = parse_case(beijing_in_tianjin(), "E4.yaml", book)
    assert case.policy.id == "110100-employee-2025"
    cls = benefit_class([], insu_admdvs="110100", institution_admdvs="120100",
                        on=case.visit.setl_date, emergency=False, rules=case.policy.filing)
    assert cls == "long_term"


def test_a_case_in_an_exempt_zone_settles_as_long_term_without_a_filing(
        book: PolicyBook) -> None:
    case = parse_case(beijing_in_tianjin(), "E4.yaml", book)
    assert case.person.benefit_class == "long_term"
    assert run_case(case).settlement.benefit_class == "long_term"
