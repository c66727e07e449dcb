"""The shipped policy parameters (src/medsettle/data/policies): coverage, provenance, figures.

Every province's pooling region ships an employee and a resident set (domain.md §5, §6); none is
official, so each is titled and shown as sample parameters, and each value says where it comes
from. The figures read back through `ParameterSet` are the secondary-source ones of domain.md §6
and the ones the worked examples of §11 depend on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from medsettle.adapters.files import load_policy_book
from medsettle.core import codes
from medsettle.core.filing import ExemptZone, FilingRules, parse_filing_rules
from medsettle.core.policy import Band, ParameterSet, PolicyBook
from medsettle.core.policy_view import provenance_notice

SCHEMES = ("employee", "resident")
DATES = (date(2025, 6, 1), date(2026, 11, 25))
ON = DATES[0]
NATIONAL_CHRONIC = {"M03900", "M01600", "M00503", "M07803", "M07804", "M08300"}
#: Regions whose figures come from secondary sources (domain.md §6); the rest copy one of them.
FIXTURES = {"110100", "310100", "330100", "320100", "510100", "410100", "530100", "230100",
            "460100", "360000", "611000"}


@pytest.fixture(scope="module")
def book() -> PolicyBook:
    return load_policy_book()


def _ps(book: PolicyBook, admdvs: str, scheme: str) -> ParameterSet:
    return book.find(admdvs, scheme, ON)


def test_one_set_per_region_and_scheme(book: PolicyBook) -> None:
    assert len(book.sets()) == 2 * len(codes.REGION_OF_PROVINCE) == 64
    assert book.regions() == sorted(codes.REGION_OF_PROVINCE.values())


@pytest.mark.parametrize("on", DATES, ids=str)
@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("province", sorted(codes.REGION_OF_PROVINCE))
def test_every_province_has_both_schemes_in_force(book: PolicyBook, province: str, scheme: str,
                                                  on: date) -> None:
    region = codes.REGION_OF_PROVINCE[province]
    ps = book.find(region, scheme, on)
    assert ps.id == f"{region}-{scheme}-2025"
    start = date(2024, 7, 1) if (region, scheme) == ("310100", "employee") else date(2025, 1, 1)
    assert ps.valid_from == start and ps.valid_until is None
    assert ps.source == f"{region}/{scheme}/{region}-{scheme}-2025.yaml"


def test_every_set_has_the_three_benefits_and_the_national_chronic_diseases(
        book: PolicyBook) -> None:
    for ps in book.sets():
        assert set(ps.benefits) == {"inpatient", "outpatient", "chronic"}, ps.id
        assert ps.benefit("outpatient").cap_group == "outpatient", ps.id
        assert ps.benefit("chronic").cap_group == "main", ps.id
        assert NATIONAL_CHRONIC <= set(ps.benefit("chronic").diseases), ps.id
        assert set(ps.caps) == {"main", "outpatient"}, ps.id
        assert "maf" not in ps.tiers and set(ps.maf) == {"dibao", "tekun"}, ps.id
        assert ("cvlserv" in ps.tiers) == (ps.scheme == "employee"), ps.id
        if ps.scheme == "resident":
            assert "hifmi" in ps.tiers, ps.id


def test_no_shipped_set_is_official_and_every_one_is_titled_sample_parameters(
        book: PolicyBook) -> None:
    for ps in book.sets():
        assert not ps.official, ps.id
        assert ps.title.startswith("Sample parameters: "), ps.id
        assert provenance_notice(ps).startswith("SAMPLE PARAMETERS, not official policy"), ps.id


def test_every_value_says_where_it_comes_from(book: PolicyBook) -> None:
    for ps in book.sets():
        origins = ps.value_origins()
        assert "benefits.inpatient.ratio" in " ".join(origins), ps.id
        for key, origin in origins.items():
            assert origin.status in ("secondary", "copied", "illustrative"), (ps.id, key)
            if origin.status == "secondary":
                assert origin.source.strip(), (ps.id, key)
            elif origin.status == "copied":
                assert origin.copied_from in FIXTURES, (ps.id, key)
            else:
                assert origin.note.strip(), (ps.id, key)


def test_copies_name_their_origin_in_the_title_and_carry_its_inpatient_figures(
        book: PolicyBook) -> None:
    copies = 0
    for ps in book.sets():
        origin = ps.provenance.origin_of("benefits.inpatient.ratio")
        if origin.status != "copied":
            assert ps.insu_admdvs in FIXTURES, ps.id
            continue
        source = origin.copied_from
        assert source in FIXTURES and source != ps.insu_admdvs, ps.id
        assert f"({source}) figures under" in ps.title, ps.id
        assert f"Copied from region {source}" in provenance_notice(ps), ps.id
        original = _ps(book, source, ps.scheme)
        for field in ("deductible", "ratio"):
            mine = getattr(ps.benefit("inpatient"), field)
            theirs = getattr(original.benefit("inpatient"), field)
            assert mine == theirs, (ps.id, field)
        assert ps.caps["main"] == original.caps["main"], ps.id
        copies += 1
    assert copies == 21 * 2 + 2  # 21 non-fixture regions + Jiangxi residents + 商洛 employees


def test_guangzhou_and_lanzhou_say_whose_figures_they_carry(book: PolicyBook) -> None:
    guangzhou = _ps(book, "440100", "employee")
    lanzhou = _ps(book, "620100", "resident")
    assert "Hainan" in guangzhou.title and "(460100) figures under 广州市" in guangzhou.title
    assert "Kunming" in lanzhou.title and "(530100) figures under 兰州市" in lanzhou.title


def test_shanghai_employees_accumulate_over_a_medical_year_from_july(book: PolicyBook) -> None:
    ps = _ps(book, "310100", "employee")
    assert ps.year_start == (7, 1) and ps.valid_from == date(2024, 7, 1)
    assert ps.medical_year(date(2025, 6, 30)) == "2024"
    assert ps.medical_year(date(2025, 7, 1)) == "2025"
    assert ps.provenance.origin_of("year_start").status == "secondary"
    assert _ps(book, "310100", "resident").year_start == (1, 1)


def test_every_set_has_a_content_hash_that_names_its_document(book: PolicyBook) -> None:
    hashes = {ps.id: ps.content_hash for ps in book.sets()}
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes.values())
    assert len(set(hashes.values())) == len(hashes)


Getter = Callable[[PolicyBook], object]

FIGURES: list[tuple[str, Getter, object]] = [
    ("Beijing employee deductible, first stay",
     lambda b: _ps(b, "110100", "employee").benefit("inpatient").deductible.amount
     .lookup("active", "L3"), 130000),
    ("Beijing employee repeat factors",
     lambda b: _ps(b, "110100", "employee").benefit("inpatient").deductible.repeat_factors,
     (Decimal(1), Decimal("0.5"))),
    ("Beijing resident 大病 deductible",
     lambda b: _ps(b, "110100", "resident").tiers["hifmi"].deductible, 3040400),
    ("Shanghai employee retired ratio",
     lambda b: _ps(b, "310100", "employee").benefit("inpatient").ratio.lookup("retired", "L3"),
     Decimal("0.92")),
    ("Shanghai employee 地方附加 (hifob)",
     lambda b: (_ps(b, "310100", "employee").tiers["hifob"].bands,
                _ps(b, "310100", "employee").tiers["hifob"].cap),
     ((Band(None, Decimal("0.80")),), None)),
    ("Hangzhou employee retired L3 ratio (+4)",
     lambda b: _ps(b, "330100", "employee").benefit("inpatient").ratio.lookup("retired", "L3"),
     Decimal("0.88")),
    ("Nanjing employee retired L3 ratio and factors (E5)",
     lambda b: (_ps(b, "320100", "employee").benefit("inpatient").ratio.lookup("retired", "L3"),
                _ps(b, "320100", "employee").benefit("inpatient").deductible.repeat_factors),
     (Decimal("0.91"), (Decimal(1), Decimal("0.5"), Decimal(0)))),
    ("Nanjing employee 大病 (E5)",
     lambda b: (_ps(b, "320100", "employee").tiers["hifmi"].deductible,
                _ps(b, "320100", "employee").tiers["hifmi"].bands),
     (1500000, (Band(5000000, Decimal("0.60")), Band(None, Decimal("0.75"))))),
    ("Chengdu employee L0 deductible",
     lambda b: _ps(b, "510100", "employee").benefit("inpatient").deductible.amount
     .lookup("active", "L0"), 16000),
    ("Chengdu employee general outpatient (E10)",
     lambda b: (_ps(b, "510100", "employee").benefit("outpatient").deductible.mode,
                _ps(b, "510100", "employee").benefit("outpatient").deductible.amount
                .lookup("active", "L2"),
                _ps(b, "510100", "employee").benefit("outpatient").ratio.lookup("active", "L2"),
                _ps(b, "510100", "employee").caps["outpatient"].lookup("active", "L2")),
     ("annual", 20000, Decimal("0.60"), 200000)),
    ("Zhengzhou employee L3 and caps (E6)",
     lambda b: (_ps(b, "410100", "employee").benefit("inpatient").deductible.amount
                .lookup("active", "L3"),
                _ps(b, "410100", "employee").benefit("inpatient").ratio.lookup("active", "L3"),
                _ps(b, "410100", "employee").caps["main"].lookup("active", "L3"),
                _ps(b, "410100", "employee").tiers["hifob"].cap,
                _ps(b, "410100", "employee").tiers["hifob"].bands[0].ratio),
     (90000, Decimal("0.86"), 15000000, 40000000, Decimal("0.85"))),
    ("Kunming resident L2, 大病, 救助 (E12)",
     lambda b: (_ps(b, "530100", "resident").benefit("inpatient").deductible.amount
                .lookup("resident", "L2"),
                _ps(b, "530100", "resident").benefit("inpatient").ratio.lookup("resident", "L2"),
                _ps(b, "530100", "resident").tiers["hifmi"].deductible,
                _ps(b, "530100", "resident").maf["dibao"].bands[0].ratio),
     (55000, Decimal("0.75"), 1200000, Decimal("0.70"))),
    ("Harbin employee dialysis quota and retired chronic ratio (E9)",
     lambda b: (_ps(b, "230100", "employee").benefit("chronic").diseases["M07803"].cap,
                _ps(b, "230100", "employee").benefit("chronic").diseases["M07803"].period,
                _ps(b, "230100", "employee").benefit("chronic").ratio.lookup("retired", "L3"),
                _ps(b, "230100", "employee").caps["main"].lookup("retired", "L3")),
     (600000, "month", Decimal("0.90"), 15000000)),
    ("Hainan employee 大额",
     lambda b: (_ps(b, "460100", "employee").tiers["hifob"].bands[0].ratio,
                _ps(b, "460100", "employee").tiers["hifob"].cap),
     (Decimal("0.90"), 20000000)),
    ("商洛 resident deductibles and ratios (E7, E8)",
     lambda b: tuple((_ps(b, "611000", "resident").benefit("inpatient").deductible.amount
                      .lookup("resident", level),
                      _ps(b, "611000", "resident").benefit("inpatient").ratio
                      .lookup("resident", level)) for level in ("L0", "L1", "L2", "L3")),
     ((10000, Decimal("0.80")), (30000, Decimal("0.80")), (40000, Decimal("0.75")),
      (50000, Decimal("0.70")))),
    ("商洛 resident cap and 大病 (E7)",
     lambda b: (_ps(b, "611000", "resident").caps["main"].lookup("resident", "L3"),
                _ps(b, "611000", "resident").tiers["hifmi"].deductible,
                _ps(b, "611000", "resident").tiers["hifmi"].bands,
                _ps(b, "611000", "resident").tiers["hifmi"].cap),
     (13000000, 1000000, (Band(3000000, Decimal("0.60")), Band(10000000, Decimal("0.70")),
                          Band(None, Decimal("0.80"))), 30000000)),
    ("商洛 temporary points (E8)",
     lambda b: tuple(_ps(b, "611000", "resident").temp_reduction.points_for(c)
                     for c in ("referral", "emergency", "other_temp", "long_term")),
     (10, 10, 15, 0)),
    ("Jiangxi extra 先行自付",
     lambda b: (_ps(b, "360000", "employee").temp_reduction.extra_for("other_temp"),
                _ps(b, "360000", "employee").temp_reduction.extra_for("referral"),
                _ps(b, "360000", "employee").temp_reduction.extra_for("long_term_return"),
                _ps(b, "360000", "employee").temp_reduction.points_for("other_temp")),
     (Decimal("0.20"), Decimal("0.10"), Decimal("0.10"), 0)),
    ("Jiangxi employee: no retiree bonus, extension diseases",
     lambda b: (_ps(b, "360000", "employee").benefit("inpatient").ratio.lookup("retired", "L1"),
                {"M05300", "M06900", "M04600", "M00201", "M00202", "M07200"}
                <= set(_ps(b, "360000", "employee").benefit("chronic").diseases)),
     (Decimal("0.95"), True)),
]


@pytest.mark.parametrize(("figure", "expected"), [(f[1], f[2]) for f in FIGURES],
                         ids=[f[0] for f in FIGURES])
def test_secondary_source_figures(book: PolicyBook, figure: Getter, expected: object) -> None:
    assert figure(book) == expected


BEIJING_ZONES = (ExemptZone("11", "12"), ExemptZone("11", "13"))


def _delta_zones(prefix: str) -> tuple[ExemptZone, ...]:
    return tuple(ExemptZone(prefix, other) for other in ("31", "32", "33", "34") if other != prefix)


FILING_RULES: list[tuple[str, str, FilingRules]] = [
    ("460100", "employee", FilingRules(long_term_validity_days=365)),
    ("460100", "resident", FilingRules(long_term_validity_days=365)),
    ("110100", "employee", FilingRules(exempt=BEIJING_ZONES)),
    ("110100", "resident", FilingRules(exempt=BEIJING_ZONES)),
    ("310100", "employee", FilingRules(exempt=_delta_zones("31"))),
    ("320100", "resident", FilingRules(exempt=_delta_zones("32"))),
    ("330100", "employee", FilingRules(exempt=_delta_zones("33"))),
    ("340100", "resident", FilingRules(exempt=_delta_zones("34"))),
    ("510100", "employee", FilingRules()),
]


@pytest.mark.parametrize(("region", "scheme", "expected"), FILING_RULES,
                         ids=[f"{r}-{s}" for r, s, _ in FILING_RULES])
def test_filing_section_of_the_document(book: PolicyBook, region: str, scheme: str,
                                        expected: FilingRules) -> None:
    ps = _ps(book, region, scheme)
    assert parse_filing_rules(ps.document, ps.source) == expected


@pytest.mark.parametrize(("region", "scheme", "expected"), FILING_RULES,
                         ids=[f"{r}-{s}" for r, s, _ in FILING_RULES])
def test_filing_rules_through_the_parameter_set(book: PolicyBook, region: str, scheme: str,
                                                expected: FilingRules) -> None:
    assert _ps(book, region, scheme).filing == expected
