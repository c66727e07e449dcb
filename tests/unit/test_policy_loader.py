"""Table-driven load errors of domain.md §5: each names the file and the key."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from medsettle.adapters.files import load_policy_book
from medsettle.core.errors import PolicyFileError, PolicyNotInForce
from medsettle.core.policy import PolicyBook, parse_parameter_set

BASE: dict[str, Any] = {
    "id": "990100-employee-2025", "insu_admdvs": "330100", "scheme": "employee",
    "valid_from": "2025-01-01", "valid_until": "2026-01-01", "year_start": "01-01",
    "provenance": {"*": {"status": "illustrative", "note": "test fixture"}},
    "benefits": {
        "inpatient": {"deductible": {"mode": "per_visit", "amount": {"L1": 30000, "L2": 50000,
                                                                    "L3": 80000}},
                      "ratio": {"active": {"L1": "0.92", "L2": "0.88", "L3": "0.84"},
                                "retired": "0.90"},
                      "cap_group": "main"},
        "chronic": {"deductible": {"mode": "annual", "amount": 0}, "ratio": "0.85",
                    "cap_group": "main", "diseases": {"M07803": {"cap": 600000,
                                                                 "cap_period": "month"}}},
    },
    "caps": {"main": 40000000},
    "temp_reduction": {"mode": "points", "points": {"referral": 10, "other_temp": 20}},
    "tiers": {"hifmi": {"applies_to": ["inpatient"], "deductible": 2500000,
                        "bands": [{"upto": 5000000, "ratio": "0.70"}, {"upto": None,
                                                                      "ratio": "0.80"}],
                        "cap": 60000000}},
}


def with_change(path: str, value: object) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    if path == "benefits.inpatient.cap_group":  # ratio_basis year needs a cap group
        doc["benefits"]["inpatient"]["ratio_basis"] = "year"
    *parents, last = path.split(".")
    node: Any = doc
    for name in parents:
        node = node[int(name)] if isinstance(node, list) else node[name]
    if value is KeyError:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def test_the_base_document_loads() -> None:
    ps = parse_parameter_set(BASE, "base.yaml")
    benefit = ps.benefit("inpatient")
    assert benefit.deductible.amount.lookup("active", "L0") == 30000  # L0 falls back to L1
    assert benefit.ratio.lookup("retired", "L3") == Decimal("0.90")
    assert ps.medical_year(date(2025, 3, 1)) == "2025"


BAD = [
    ("benefits.inpatient.ratio.active.L3", 0.84, "benefits.inpatient.ratio.active.L3", "quoted"),
    ("caps.main", -1, "caps.main", "negative"),
    ("caps.main", 400000.0, "caps.main", "integer"),
    ("benefits.inpatient.ratio.retired", "1.20", "benefits.inpatient.ratio.retired", "above"),
    ("tiers.hifmi.bands.0.upto", 2000000, "tiers.hifmi.bands[0].upto", "must be above"),
    ("tiers.hifmi.bands.1", {"upto": 4000000, "ratio": "0.8"}, "tiers.hifmi.bands[1].upto",
     "must be above"),
    ("temp_reduction.points.referral", 11, "temp_reduction.points.referral", "national limit"),
    ("temp_reduction.points.other_temp", 25, "temp_reduction.points.other_temp", "national limit"),
    ("tiers.hifob", {"applies_to": ["inpatient"], "ratio": "0.85"}, "tiers", "at most one"),
    ("benefits.inpatient.ratio.active", {"L1": "0.9", "L2": "0.9"},
     "benefits.inpatient.ratio.active.L3", "missing entry for a level"),
    ("benefits.inpatient.ratio", {"active": "0.9"}, "benefits.inpatient.ratio.retired",
     "missing entry for a category"),
    ("benefits.inpatient.deductible.mode", "weekly", "benefits.inpatient.deductible.mode",
     "per_visit or annual"),
    ("benefits.inpatient.cap_group", "other", "benefits.inpatient.cap_group", "caps does not"),
    ("benefits.dental", {}, "benefits.dental", "unknown key"),
    ("scheme", "farmer", "scheme", "must be one of"),
    ("insu_admdvs", 330100, "insu_admdvs", "non-empty string"),
    ("valid_from", "2025-13-01", "valid_from", "date"),
    ("valid_until", "2024-01-01", "valid_until", "after valid_from"),
    ("id", KeyError, "(document).id", "missing"),
    ("provenance.*", KeyError, "provenance.*", "missing"),
    ("benefits.chronic.diseases.M07803.cap_period", "week",
     "benefits.chronic.diseases.M07803.cap_period", "year or month"),
    ("benefits.chronic.diseases", {}, "benefits.chronic.diseases", "must list"),
    ("temp_reduction", {"mode": "extra_preselfpay", "extra_preselfpay": {"other_temp": "0.30"}},
     "temp_reduction.extra_preselfpay.other_temp", "national limit"),
    ("tiers.hifmi.applies_to", ["dental"], "tiers.hifmi.applies_to", "non-empty list"),
    ("year_start", "13-01", "year_start", "MM-DD"),
    ("account", {"scope": "everything"}, "account.scope", "inscope_only or all"),
    # Amount-banded pool ratios (分段报销, domain.md §5 "Real policy shapes").
    ("benefits.inpatient.ratio.retired", [], "benefits.inpatient.ratio.retired", "non-empty"),
    ("benefits.inpatient.ratio.retired", [{"upto": 3000000, "ratio": "0.85"}],
     "benefits.inpatient.ratio.retired[0].upto", "end with upto: null"),
    ("benefits.inpatient.ratio.retired", [{"upto": 3000000, "ratio": "0.85"},
                                          {"upto": 2000000, "ratio": "0.90"},
                                          {"upto": None, "ratio": "0.95"}],
     "benefits.inpatient.ratio.retired[1].upto", "must be above 3000000"),
    ("benefits.inpatient.ratio.retired", [{"upto": 3000000, "ratio": "0.85"},
                                          {"upto": 3000000, "ratio": "0.90"},
                                          {"upto": None, "ratio": "0.95"}],
     "benefits.inpatient.ratio.retired[1].upto", "increase strictly"),
    ("benefits.inpatient.ratio.retired", [{"upto": 0, "ratio": "0.85"},
                                          {"upto": None, "ratio": "0.95"}],
     "benefits.inpatient.ratio.retired[0].upto", "must be above 0"),
    ("benefits.inpatient.ratio.retired", [{"upto": None, "ratio": "0.85"},
                                          {"upto": None, "ratio": "0.95"}],
     "benefits.inpatient.ratio.retired[0].upto", "only the last band"),
    ("benefits.inpatient.ratio.retired", [{"upto": 3000000, "ratio": "1.05"},
                                          {"upto": None, "ratio": "0.95"}],
     "benefits.inpatient.ratio.retired[0].ratio", "above"),
    ("benefits.inpatient.ratio.retired", [{"upto": 3000000, "ratio": "0.85"},
                                          {"upto": None, "ratio": "-0.1"}],
     "benefits.inpatient.ratio.retired[1].ratio", "below"),
    ("benefits.inpatient.ratio.retired", [{"upto": 3000000.0, "ratio": "0.85"},
                                          {"upto": None, "ratio": "0.95"}],
     "benefits.inpatient.ratio.retired[0].upto", "integer"),
    ("benefits.inpatient.ratio.retired", [{"upto": 3000000, "ratio": 0.85},
                                          {"upto": None, "ratio": "0.95"}],
     "benefits.inpatient.ratio.retired[0].ratio", "quoted"),
    ("benefits.inpatient.ratio.retired", [{"upto": 3000000}, {"upto": None, "ratio": "0.95"}],
     "benefits.inpatient.ratio.retired[0].ratio", "missing"),
    ("benefits.inpatient.ratio.retired", ["0.85"], "benefits.inpatient.ratio.retired[0]",
     "mapping"),
    ("benefits.inpatient.ratio_basis", "month", "benefits.inpatient.ratio_basis",
     "visit or year"),
    ("benefits.inpatient.cap_group", None, "benefits.inpatient.ratio_basis", "name a cap_group"),
    # Contribution tiers (档次).
    ("benefits.inpatient.ratio", {"active": "0.9", "retired": "0.9", "resident@high": "0.95"},
     "benefits.inpatient.ratio.resident@high", "not a category of the employee scheme"),
    ("benefits.inpatient.ratio", {"active": "0.9", "retired": "0.9", "active@High": "0.95"},
     "benefits.inpatient.ratio.active@High", "lower-case"),
    ("benefits.inpatient.ratio", {"active@high": "0.9", "retired": "0.9"},
     "benefits.inpatient.ratio.active", "missing entry for a category"),
    ("caps.main", {"active": 1, "retired": 1, "retired@low": -1}, "caps.main.retired@low",
     "negative"),
]


@pytest.mark.parametrize(("path", "value", "key", "message"), BAD,
                         ids=[f"{row[0]}={row[1]!r}"[:60] for row in BAD])
def test_a_bad_parameter_is_refused_naming_file_and_key(path: str, value: object, key: str,
                                                        message: str) -> None:
    with pytest.raises(PolicyFileError) as err:
        parse_parameter_set(with_change(path, value), "990100/employee/x.yaml")
    assert err.value.source == "990100/employee/x.yaml"
    assert err.value.key == key
    assert message in err.value.message
    assert str(err.value).startswith("990100/employee/x.yaml: " + key)


def test_overlapping_date_ranges_are_refused() -> None:
    first = parse_parameter_set(BASE, "a.yaml")
    second = parse_parameter_set(with_change("id", "other") | {"valid_from": "2025-06-01",
                                                                "valid_until": None}, "b.yaml")
    with pytest.raises(PolicyFileError) as err:
        PolicyBook([first, second])
    assert (err.value.source, err.value.key) == ("b.yaml", "valid_from")


def test_consecutive_ranges_find_the_set_in_force() -> None:
    first = parse_parameter_set(BASE, "a.yaml")
    second = parse_parameter_set(with_change("id", "later") | {"valid_from": "2026-01-01",
                                                                "valid_until": None}, "b.yaml")
    book = PolicyBook([first, second])
    assert book.find("330100", "employee", date(2025, 12, 31)).id == first.id
    assert book.find("330100", "employee", date(2026, 1, 1)).id == "later"
    with pytest.raises(PolicyNotInForce):
        book.find("330100", "employee", date(2024, 12, 31))
    with pytest.raises(PolicyNotInForce):
        book.find("330100", "resident", date(2025, 6, 1))


def test_a_float_in_a_yaml_file_is_refused_with_its_file(tmp_path: Path) -> None:
    folder = tmp_path / "330100" / "employee"
    folder.mkdir(parents=True)
    text = yaml.safe_dump(BASE).replace("'0.84'", "0.84")
    (folder / "p.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyFileError) as err:
        load_policy_book(tmp_path).sets()
    assert err.value.source == "330100/employee/p.yaml"
    assert err.value.key == "benefits.inpatient.ratio.active.L3"


def test_a_file_in_the_wrong_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "110100" / "employee"
    folder.mkdir(parents=True)
    (folder / "p.yaml").write_text(yaml.safe_dump(BASE), encoding="utf-8")
    with pytest.raises(PolicyFileError, match="lies under 110100/employee"):
        load_policy_book(tmp_path).find("110100", "employee", date(2025, 6, 1))


def test_a_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "330100" / "employee"
    folder.mkdir(parents=True)
    (folder / "p.yaml").write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyFileError) as err:
        load_policy_book(tmp_path).sets()
    assert err.value.source == "330100/employee/p.yaml"
