"""The simulator: deterministic, valid codes, rows that fit the schema, realistic traffic."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from medsettle.adapters.db import tables
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.files import load_policy_book
from medsettle.core import codes
from medsettle.core.filing import LONG_TERM_CATEGORIES, FilingCategory
from medsettle.sim.policies import chronic_diseases
from medsettle.sim.population import ProvinceSeed, generate_province
from medsettle.sim.traffic import PlannedVisit, plan_day

ON = date(2025, 6, 1)
DAY = date(2025, 6, 2)
PROVINCES = ("440000", "310000", "110000", "320000", "460000", "510000", "330000")
YUAN = re.compile(r"\d+\.\d{2}")
DECIMAL = re.compile(r"\d+(\.\d+)?")


SHIPPED = load_policy_book()


def generate(province: str, seed: int = 11, persons: int = 1500) -> ProvinceSeed:
    return generate_province(province, persons=persons, institutions=120, on=ON, seed=seed,
                             book=SHIPPED)


@pytest.fixture(scope="module")
def seeds() -> dict[str, ProvinceSeed]:
    return {p: generate(p) for p in PROVINCES}


@pytest.fixture(scope="module")
def visits(seeds: dict[str, ProvinceSeed]) -> list[PlannedVisit]:
    return plan_day(seeds, day=DAY, visits=5000, seed=3)


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# determinism


def test_the_same_seed_gives_the_same_province() -> None:
    assert generate("530000", seed=5, persons=300) == generate("530000", seed=5, persons=300)


def test_another_seed_gives_another_province() -> None:
    a, b = generate("530000", seed=5, persons=300), generate("530000", seed=6, persons=300)
    assert a.persons != b.persons
    assert a.filings != b.filings


def test_the_same_seed_plans_the_same_day(seeds: dict[str, ProvinceSeed]) -> None:
    assert plan_day(seeds, day=DAY, visits=300, seed=9) == plan_day(seeds, day=DAY, visits=300,
                                                                      seed=9)
    assert plan_day(seeds, day=DAY, visits=300, seed=9) != plan_day(seeds, day=DAY, visits=300,
                                                                      seed=10)


# codes and columns


def test_every_generated_code_passes_the_validators(seeds: dict[str, ProvinceSeed]) -> None:
    for seed in seeds.values():
        for p in seed.persons:
            assert codes.validate_id_card(p["certno"], "certno") == p["certno"]
            codes.validate_social_security_card_no(p["card_no"], "card_no")
            codes.validate_card_sn(p["card_sn"], "card_sn")
            assert codes.evoucher_admdvs(p["evoucher"]) == seed.region
            assert re.fullmatch(seed.region + r"\d{20}", p["psn_no"])
            for disease in p["chronic_certified"]:
                codes.validate_chronic_disease_code(disease, "disease")
        for i in seed.institutions:
            assert codes.institution_admdvs(i["fixmedins_code"]) == i["admdvs"]
            assert i["level"] == codes.level_tier(i["hosp_lv"])
        for row in seed.catalogue:
            codes.catalogue_code_kind(row["code"])


def test_credentials_are_unique_within_a_province(seeds: dict[str, ProvinceSeed]) -> None:
    for seed in seeds.values():
        for column in ("psn_no", "certno", "card_no", "evoucher"):
            values = [p[column] for p in seed.persons]
            assert len(set(values)) == len(values), column
        assert len({i["fixmedins_code"] for i in seed.institutions}) == len(seed.institutions)


@pytest.mark.parametrize("part", ["persons", "accumulators", "filings", "institutions",
                                  "catalogue"])
def test_rows_have_exactly_the_columns_of_their_table(seeds: dict[str, ProvinceSeed],
                                                      part: str) -> None:
    table = getattr(tables, part)
    for seed in seeds.values():
        rows = getattr(seed, part)
        assert rows
        computed = {"certno_hmac", "opening"}  # filled by the database adapter as rows go in
        assert all(set(row) == set(table.c.keys()) - computed for row in rows)


def test_prices_are_yuan_strings_and_caps_sit_at_or_above_them(
        seeds: dict[str, ProvinceSeed]) -> None:
    seed = seeds["440000"]
    assert set(seed.prices) == {row["code"] for row in seed.catalogue}
    for row in seed.catalogue:
        assert YUAN.fullmatch(seed.prices[row["code"]])
        assert Decimal(row["selfpay_prop"]) <= Decimal("0.20")
        if row["lmt_pric"] is not None:
            assert Decimal(row["lmt_pric"]) >= Decimal(seed.prices[row["code"]])


def test_the_rows_fit_a_fresh_province_database(tmp_path: Path) -> None:
    seed = generate("460000", persons=400)
    engine = make_engine(f"sqlite:///{tmp_path}/p.db")
    migrate(engine, "province")
    parts = ("persons", "accumulators", "filings", "institutions", "catalogue")
    with engine.begin() as c:
        for part in parts:
            c.execute(getattr(tables, part).insert(), getattr(seed, part))
    with engine.connect() as c:
        for part in parts:
            count = c.execute(select(func.count()).select_from(getattr(tables, part))).scalar()
            assert count == len(getattr(seed, part))
        brdy = c.execute(select(tables.persons.c.brdy)).scalars().first()
        assert isinstance(brdy, date)


# population


def test_scheme_mix_is_within_tolerance_on_5000_persons() -> None:
    seed = generate("370000", persons=5000)
    mix = Counter(p["psn_type"] for p in seed.persons)
    n = len(seed.persons)
    active = sum(mix[t] for t in ("11", "1101", "1102")) / n
    assert abs(active - 0.26) < 0.025
    assert abs(mix["12"] / n - 0.09) < 0.015
    assert abs(mix["15"] / n - 0.65) < 0.025
    assert 0 < mix["1101"] + mix["1102"] < 0.2 * n
    residents = [p for p in seed.persons if p["psn_type"] == "15"]
    dibao = sum(p["maf_category"] == "dibao" for p in residents) / len(residents)
    assert 0.015 < dibao < 0.045


def test_ages_and_sex_agree_with_the_id_number_and_the_scheme() -> None:
    seed = generate("370000", persons=3000)
    for p in seed.persons:
        assert codes.id_card_birth_date(p["certno"]) == p["brdy"]
        assert codes.id_card_gender(p["certno"]) == p["gend"]
        age = age_on(p["brdy"], ON)
        if p["psn_type"] == "12":
            assert age >= (60 if p["gend"] == "1" else 55)
        elif p["psn_type"] == "15":
            assert 0 <= age <= 90
        else:
            assert 18 <= age < (60 if p["gend"] == "1" else 55)
        assert (p["emp_name"] != "") == (p["insutype"] == "310")


def test_account_balances_belong_to_employees_only() -> None:
    seed = generate("370000", persons=2000)
    employees = {p["psn_no"] for p in seed.persons if p["insutype"] == "310"}
    assert {a["psn_no"] for a in seed.accumulators} == employees
    assert all(a["path"] == "acct_balance" and a["year"] == "" for a in seed.accumulators)
    assert all(0 <= a["value"] <= 1_500_000 for a in seed.accumulators)


def test_chronic_certifications_are_diseases_the_region_lists(seeds: dict[str, ProvinceSeed]
                                                              ) -> None:
    certified = 0
    for seed in seeds.values():
        for p in seed.persons:
            scheme = "employee" if p["insutype"] == "310" else "resident"
            assert set(p["chronic_certified"]) <= set(chronic_diseases(SHIPPED, seed.region,
                                                                            scheme, ON))
            certified += bool(p["chronic_certified"])
    assert certified > 0


# filings


def test_at_most_one_approved_long_term_filing_per_person(seeds: dict[str, ProvinceSeed]) -> None:
    for seed in seeds.values():
        long_term = Counter(f["psn_no"] for f in seed.filings if f["status"] == "approved"
                            and FilingCategory(f["category"]) in LONG_TERM_CATEGORIES)
        assert long_term and max(long_term.values()) == 1


def test_every_filing_destination_is_a_region_in_another_province(
        seeds: dict[str, ProvinceSeed]) -> None:
    regions = set(codes.REGION_OF_PROVINCE.values())
    for seed in seeds.values():
        numbers = [f["filing_no"] for f in seed.filings]
        assert len(set(numbers)) == len(numbers)
        for f in seed.filings:
            assert f["destination"] in regions
            assert codes.is_cross_province(f["destination"], seed.region)
            assert re.fullmatch(rf"BA{seed.region}{f['applied_on']:%Y%m%d}\d{{6}}", f["filing_no"])


def test_filing_validity_follows_the_category(seeds: dict[str, ProvinceSeed]) -> None:
    filings = [f for seed in seeds.values() for f in seed.filings]
    share = len({f["psn_no"] for f in filings if f["category"] in
                 ("resettled_retiree", "posted_worker", "long_term_resident")}) / (
        sum(len(seed.persons) for seed in seeds.values()))
    assert 0.06 < share < 0.10
    for f in filings:
        if f["category"] in ("other_temp", "referral"):
            assert (f["valid_until"] - f["valid_from"]).days == 180
            assert f["route"] == ("none_required" if f["category"] == "other_temp"
                                  else "materials")
        elif f["status"] != "cancelled":
            assert f["valid_until"] is None
        assert f["valid_from"] <= ON
        if f["proxy"] is not None:
            assert f["proxy"]["consent_recorded"] and f["proxy"]["face_verified"]


# catalogue


def test_drug_codes_are_identical_across_provinces_but_service_items_differ_in_part(
        seeds: dict[str, ProvinceSeed]) -> None:
    def by_kind(seed: ProvinceSeed, kind: str) -> dict[str, str]:
        return {r["code"]: r["chrgitm_lv"] for r in seed.catalogue
                if codes.catalogue_code_kind(r["code"]) == kind}

    a, b = seeds["440000"], seeds["110000"]
    assert by_kind(a, "drug") == by_kind(b, "drug")
    assert 250 <= len(by_kind(a, "drug")) <= 350
    services_a, services_b = set(by_kind(a, "service")), set(by_kind(b, "service"))
    assert services_a != services_b
    assert "001102000050000" in services_a & services_b
    assert len(services_a & services_b) > len(services_a) // 2


def test_drug_classes_follow_the_intended_mix(seeds: dict[str, ProvinceSeed]) -> None:
    drugs = [r for r in seeds["440000"].catalogue if codes.catalogue_code_kind(r["code"]) == "drug"]
    mix = Counter(r["chrgitm_lv"] for r in drugs)
    assert abs(mix["01"] / len(drugs) - 0.45) < 0.07
    assert abs(mix["02"] / len(drugs) - 0.45) < 0.07
    assert abs(mix["03"] / len(drugs) - 0.10) < 0.05


# traffic


def test_visits_cross_provinces_to_institutions_of_the_treating_province(
        seeds: dict[str, ProvinceSeed], visits: list[PlannedVisit]) -> None:
    assert len(visits) == 5000
    assert len({v.visit_no for v in visits}) == len(visits)
    for v in visits:
        assert v.treating_province != v.insured_province
        institution = next(i for i in seeds[v.treating_province].institutions
                           if i["fixmedins_code"] == v.fixmedins_code)
        assert institution["admdvs"] == v.mdtrtarea_admvs and institution["networked"]
        assert v.lines
        assert (v.expect == "suspended") == institution["suspended"]


def test_each_line_has_a_valid_code_price_and_quantity(seeds: dict[str, ProvinceSeed],
                                                        visits: list[PlannedVisit]) -> None:
    lines = unknown = 0
    for v in visits:
        catalogue = seeds[v.treating_province].prices
        for line in v.lines:
            assert codes.catalogue_code_kind(line.code) == line.kind
            assert YUAN.fullmatch(line.pric) and DECIMAL.fullmatch(line.cnt)
            lines += 1
            unknown += line.code not in catalogue
    assert 0.01 < unknown / lines < 0.05


def test_visit_types_and_lines_follow_the_mix(visits: list[PlannedVisit]) -> None:
    types = Counter(codes.visit_type_of_med_type(v.med_type) for v in visits)
    assert abs(types["outpatient"] / len(visits) - 0.85) < 0.04
    assert abs(types["inpatient"] / len(visits) - 0.10) < 0.03
    assert abs(types["chronic"] / len(visits) - 0.05) < 0.03
    for v in visits:
        if v.med_type == "21":
            assert v.endtime is not None and 2 <= (v.endtime.date() - v.begntime.date()).days <= 12
            assert 20 <= len(v.lines) <= 60
            beds = sum(line.name == "普通病房床位费" for line in v.lines)
            assert beds == (v.endtime.date() - v.begntime.date()).days
        else:
            assert v.endtime is None and v.begntime.date() == DAY
        if v.med_type == "11":
            assert 2 <= len(v.lines) <= 8
            codes.validate_disease_code(v.disease, "disease")


def test_each_chronic_visit_is_certified_and_opened(seeds: dict[str, ProvinceSeed],
                                                    visits: list[PlannedVisit]) -> None:
    chronic = [v for v in visits if v.med_type == "14"]
    assert chronic
    for v in chronic:
        person = next(p for p in seeds[v.insured_province].persons if p["psn_no"] == v.psn_no)
        institution = next(i for i in seeds[v.treating_province].institutions
                           if i["fixmedins_code"] == v.fixmedins_code)
        assert v.disease in person["chronic_certified"]
        assert v.disease in institution["chronic_opened"]
        assert 2 <= len(v.lines) <= 6


def test_filed_visits_match_a_valid_filing_and_unfiled_ones_have_none(
        seeds: dict[str, ProvinceSeed], visits: list[PlannedVisit]) -> None:
    for v in visits:
        filings = [f for f in seeds[v.insured_province].filings if f["psn_no"] == v.psn_no]
        covered = [f for f in filings if f["status"] == "approved"
                   and f["valid_from"] <= DAY and (f["valid_until"] is None or DAY < f["valid_until"])
                   and f["destination"] in (v.mdtrtarea_admvs, v.mdtrtarea_admvs[:4] + "00",
                                            v.mdtrtarea_admvs[:2] + "0000")]
        if v.expect == "not_filed":
            assert filings == [] and not v.emergency
        elif not v.emergency:
            assert covered


def test_about_two_percent_of_visits_must_be_refused_as_not_filed(
        visits: list[PlannedVisit]) -> None:
    share = sum(v.expect == "not_filed" for v in visits) / len(visits)
    assert 0.012 < share < 0.03
    emergency = sum(v.emergency for v in visits) / len(visits)
    assert 0.03 < emergency < 0.07


def test_credentials_follow_the_mix(seeds: dict[str, ProvinceSeed],
                                    visits: list[PlannedVisit]) -> None:
    mix = Counter(v.cert_type for v in visits)
    assert abs(mix["01"] / len(visits) - 0.6) < 0.04
    assert abs(mix["03"] / len(visits) - 0.1) < 0.03
    for v in visits[:500]:
        person = next(p for p in seeds[v.insured_province].persons if p["psn_no"] == v.psn_no)
        expected = {"01": person["evoucher"], "02": person["certno"], "03": person["card_no"]}
        assert v.cert_no == expected[v.cert_type]
        assert v.insuplc_admdvs == person["insu_admdvs"]
        assert not v.acct_used or v.insutype == "310"


def test_plan_day_needs_two_provinces(seeds: dict[str, ProvinceSeed]) -> None:
    with pytest.raises(ValueError, match="two provinces"):
        plan_day({"440000": seeds["440000"]}, day=DAY, visits=10, seed=1)


def test_catalogue_extra_adds_that_many_entries_with_unique_codes() -> None:
    small = generate_province("650000", persons=10, institutions=5, on=ON, seed=1, book=SHIPPED)
    big = generate_province("650000", persons=10, institutions=5, on=ON, seed=1, book=SHIPPED,
                            catalogue_extra=1000)
    assert len(big.catalogue) == len(small.catalogue) + 1000
    assert len({row["code"] for row in big.catalogue}) == len(big.catalogue)
    assert [row["id"] for row in big.catalogue] == list(range(1, len(big.catalogue) + 1))
