"""What a node serves (core/served.py): approved sets first, by region, scheme and date, then the
seed; and a check of a policy document that names every error by key (core.policy)."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
import yaml

from medsettle.adapters.files import policies_dir
from medsettle.core.errors import PolicyNotInForce
from medsettle.core.policy import (
    ParameterSet,
    PolicyBook,
    check_parameter_set,
    parse_parameter_set,
)
from medsettle.core.served import ServedBook

SEED_FILE = policies_dir() / "440100" / "resident" / "440100-resident-2025.yaml"


def seed_doc() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(SEED_FILE.read_text(encoding="utf-8"))
    return doc


def a_set(set_id: str, valid_from: str, valid_until: str | None = None,
          region: str = "440100") -> ParameterSet:
    doc = seed_doc() | {"id": set_id, "valid_from": valid_from, "valid_until": valid_until,
                        "insu_admdvs": region}
    return parse_parameter_set(doc, f"policy_sets#{set_id}")


@pytest.fixture()
def served(book: PolicyBook) -> ServedBook:
    return ServedBook(book)


def test_without_approved_sets_the_seed_is_served(served: ServedBook, book: PolicyBook) -> None:
    on = date(2026, 3, 1)
    assert served.find("440100", "resident", on) is book.find("440100", "resident", on)


def test_an_approved_set_supersedes_the_seed_from_its_valid_from(served: ServedBook) -> None:
    new = a_set("440100-resident-2026", "2026-01-01")
    served.serve([new], 1)
    assert served.find("440100", "resident", date(2025, 12, 31)).id == "440100-resident-2025"
    assert served.find("440100", "resident", date(2026, 1, 1)) is new
    assert served.find("440100", "employee", date(2026, 1, 1)).id == "440100-employee-2025"
    assert [ps.id for ps in served.sets_of("440100", "resident")] == [
        "440100-resident-2025", "440100-resident-2026"]


def test_of_two_approved_sets_with_one_start_the_one_approved_last_wins(
        served: ServedBook) -> None:
    first, correction = a_set("gz-a", "2026-01-01"), a_set("gz-b", "2026-01-01")
    served.serve([first, correction], 2)
    assert served.find("440100", "resident", date(2026, 5, 1)) is correction
    assert served.in_force_besides("440100", "resident", date(2026, 5, 1), correction) is first


def test_the_latest_start_in_force_wins_and_an_ended_approved_set_leaves_nothing_in_force(
        served: ServedBook) -> None:
    year = a_set("gz-2026", "2026-01-01", "2027-01-01")
    summer = a_set("gz-summer", "2026-07-01", "2026-09-01")
    served.serve([summer, year], 2)
    assert served.find("440100", "resident", date(2026, 8, 1)) is summer
    assert served.find("440100", "resident", date(2026, 9, 1)) is year
    with pytest.raises(PolicyNotInForce, match="end before 2027-01-01"):
        served.find("440100", "resident", date(2027, 1, 1))  # not the seed again


def test_a_region_the_seed_lacks_is_served_and_ids_prefer_approved_sets(
        served: ServedBook) -> None:
    shenzhen = a_set("440300-resident-2026", "2026-01-01", region="440300")
    same_id = a_set("440100-resident-2025", "2026-01-01")
    served.serve([shenzhen, same_id], 2)
    assert "440300" in served.regions() and "110100" in served.regions()
    assert served.find("440300", "resident", date(2026, 2, 1)) is shenzhen
    assert served.by_id("440100-resident-2025") is same_id
    assert served.by_id("110100-employee-2025").insu_admdvs == "110100"
    with pytest.raises(PolicyNotInForce):
        served.find("440300", "resident", date(2025, 6, 1))  # no seed for 440300


def test_a_valid_document_has_no_errors() -> None:
    assert check_parameter_set(seed_doc(), "gz.yaml") == []


def test_every_error_of_a_document_is_named_by_key() -> None:
    doc = copy.deepcopy(seed_doc())
    doc["bogus"] = 1
    doc["valid_from"] = "2026-02-30"
    doc["caps"]["main"] = -5
    doc["benefits"]["inpatient"]["ratio"] = {"L1": 0.9, "L2": "1.5"}
    doc["temp_reduction"]["points"]["referral"] = 30
    doc["tiers"]["hifmi"]["bands"][0]["ratio"] = "2"
    doc["provenance"]["benefits.nothing"] = {"status": "secondary", "source": "x"}
    found = {(e.key, e.source) for e in check_parameter_set(doc, "gz.yaml")}
    assert found == {(key, "gz.yaml") for key in (
        "(document).bogus", "valid_from", "caps.main", "benefits.inpatient.ratio.L1",
        "benefits.inpatient.ratio.L2", "benefits.inpatient.ratio.L3",
        "temp_reduction.points.referral", "tiers.hifmi.bands[0].ratio",
        "provenance.benefits.nothing")}


def test_a_bad_scheme_hides_the_tables_it_would_expand_but_nothing_else() -> None:
    doc = copy.deepcopy(seed_doc())
    doc["scheme"] = "farmer"
    doc["year_start"] = "13-01"
    del doc["id"]
    keys = [e.key for e in check_parameter_set(doc, "gz.yaml")]
    assert sorted(keys) == ["(document).id", "scheme", "year_start"]
