"""Top-level fields of a policy document that passed validation unchecked and broke later: an id
longer than a settlement keeps (the database refused it: a 500), a title or description that is
not text (content_hash crashed on a mapping with int keys, bytes or a set; a float passed though
floats are a load error), a TABLE key of the other scheme's category (its value was never read),
and, for a set loaded into a province node, an id that is not of the set's own region."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from medsettle.adapters.cli import app
from medsettle.adapters.files import examples_dir, parse_document, policies_dir
from medsettle.core.errors import PolicyFileError, PolicyInvalid
from medsettle.core.operators import Operator
from medsettle.core.policy import check_parameter_set, parse_parameter_set
from medsettle.services import policy_sets

RESIDENTS = policies_dir() / "440100" / "resident" / "440100-resident-2025.yaml"
EMPLOYEES = policies_dir() / "440100" / "employee" / "440100-employee-2025.yaml"
CLERK = Operator(1, "clerk", "province", "440000", datetime.now(UTC))


def document(path: Path = RESIDENTS, **changes: object) -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(path.read_text(encoding="utf-8"))) | changes


def keys_of(doc: object) -> list[str]:
    return [error.key for error in check_parameter_set(doc, "x.yaml")]


# -- id -------------------------------------------------------------------------------------------

def test_an_id_longer_than_a_settlement_keeps_is_refused_naming_id() -> None:
    longest = "440100-resident-2027-" + "x" * 39
    assert len(longest) == 60 and parse_parameter_set(document(id=longest), "x.yaml").id == longest
    doc = document(id=longest + "x", description={"a": 1})
    assert keys_of(doc) == ["id", "description"]
    with pytest.raises(PolicyFileError) as refused:
        parse_parameter_set(doc, "x.yaml")
    assert refused.value.key == "id" and "at most 60 characters" in refused.value.message


def test_a_long_id_is_refused_at_propose_before_the_database_is_touched() -> None:
    doc = document(id="440100-resident-2027-" + "x" * 70, valid_from="2027-01-01")
    with pytest.raises(PolicyInvalid) as refused:
        policy_sets.propose(None, doc, "gz.yaml", CLERK, datetime.now(UTC), "440000")  # type: ignore[arg-type]
    assert [error.key for error in refused.value.errors] == ["id"]


@pytest.mark.parametrize("set_id", ["440100 resident 2027", "440100-resident-2027\n",
                                    "440100-resident\x00"])
def test_an_id_with_spaces_or_control_characters_is_refused(set_id: str) -> None:
    assert keys_of(document(id=set_id)) == ["id"]


def test_a_set_loaded_into_a_node_has_an_id_of_its_own_region() -> None:
    beijing = document(id="110100-resident-2025", valid_from="2027-01-01")
    assert keys_of(beijing) == []  # a valid parameter set (an inline `calc` params may say so)
    for doc in (beijing, document(id="resident-2027", valid_from="2027-01-01")):
        with pytest.raises(PolicyInvalid) as refused:
            policy_sets.propose(None, doc, "gz.yaml", CLERK, datetime.now(UTC), "440000")  # type: ignore[arg-type]
        assert [error.key for error in refused.value.errors] == ["id"]
        assert "must start with the set's region code, 440100-" in str(refused.value)
    assert policy_sets.validate(document(id="440100-resident-2027"), "x").id == \
        "440100-resident-2027"


# -- title and description ------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "description: {1: a, b: c}", "description: !!binary aGVsbG8=", "description: !!set {a, b}",
    "description: 1.5", "description: [a, b]", "title: {1: a}", "title: 2026",
])
def test_a_title_or_description_that_is_not_text_is_refused_naming_it(text: str) -> None:
    key, _, _ = text.partition(":")
    doc = document(**yaml.safe_load(text))
    assert keys_of(doc) == [key]
    with pytest.raises(PolicyFileError) as refused:
        parse_parameter_set(doc, "x.yaml")
    assert refused.value.key == key and "must be text" in refused.value.message


def test_text_title_and_description_still_load() -> None:
    ps = parse_parameter_set(document(title="广州 2027", description="多行\n说明"), "x.yaml")
    assert ps.title == "广州 2027"
    assert parse_parameter_set(document(description=None), "x.yaml").title


@pytest.mark.parametrize("description", ["{1: a, b: c}", "!!binary aGVsbG8=", "!!set {a, b}"])
def test_calc_with_inline_params_and_an_odd_description_exits_2_naming_it(
        tmp_path: Path, description: str) -> None:
    case = yaml.safe_load((examples_dir() / "E1.yaml").read_text(encoding="utf-8"))
    case.pop("expected")
    case["params"]["description"] = "PLACEHOLDER"
    path = tmp_path / "case.yaml"
    text = yaml.safe_dump(case, allow_unicode=True).replace("PLACEHOLDER", description)
    path.write_text(text, encoding="utf-8")
    assert isinstance(parse_document(path.read_bytes(), "case.yaml"), dict)
    done = CliRunner().invoke(app, ["calc", str(path)])
    assert done.exit_code == 2, repr(done.exception)
    assert "description" in done.output


# -- TABLE keys -----------------------------------------------------------------------------------

def test_a_table_key_of_the_other_schemes_category_is_refused_naming_it() -> None:
    employees = document(EMPLOYEES)
    employees["benefits"]["inpatient"]["ratio"]["resident"] = 1.5
    employees["caps"]["main"] = {"active": 40000000, "retired": 40000000, "resident": 1}
    assert keys_of(employees) == ["benefits.inpatient.ratio.resident", "caps.main.resident"]
    with pytest.raises(PolicyFileError) as refused:
        parse_parameter_set(employees, "x.yaml")
    assert refused.value.key == "benefits.inpatient.ratio.resident"
    assert refused.value.message == "resident is not a category of the employee scheme"

    residents = document()
    residents["benefits"]["inpatient"]["ratio"] = {"resident": "0.80", "retired": "0.90",
                                                   "active@high": "0.95"}
    assert keys_of(residents) == ["benefits.inpatient.ratio.retired",
                                  "benefits.inpatient.ratio.active@high"]
