"""Every worked example of domain.md §11, with its exact numbers, through the shipped case files."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsettle.adapters.files import examples_dir, read_document
from medsettle.core.accumulators import without_zeros
from medsettle.core.cases import parse_case, run_case
from medsettle.core.policy import PolicyBook

EXAMPLES = sorted(examples_dir().glob("E*.yaml"), key=lambda p: int(p.stem[1:]))


def test_all_twelve_worked_examples_are_shipped() -> None:
    assert [p.stem for p in EXAMPLES] == [f"E{i}" for i in range(1, 13)]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_worked_example_settles_to_the_fen(path: Path, book: PolicyBook) -> None:
    case = parse_case(read_document(path), path.name, book)
    assert case.expected_result is not None and case.expected_acc_after is not None
    outcome = run_case(case)
    assert outcome.record.as_dict() == dict(case.expected_result)
    assert without_zeros(outcome.acc_after.values) == without_zeros(case.expected_acc_after.values)


def test_e5_reversal_record_is_the_exact_negative_of_e5(book: PolicyBook) -> None:
    e5 = run_case(parse_case(read_document(examples_dir() / "E5.yaml"), "E5", book))
    e11 = run_case(parse_case(read_document(examples_dir() / "E11.yaml"), "E11", book))
    assert e11.record == e5.record.negated()
    assert without_zeros(e11.acc_after.values) == without_zeros(e5.settlement.acc_before.values)


def test_e6_pool_cap_leaves_the_rest_to_the_large_amount_subsidy(book: PolicyBook) -> None:
    outcome = run_case(parse_case(read_document(examples_dir() / "E6.yaml"), "E6", book))
    assert outcome.settlement.e_over == 4747209
    assert any(step.code == "pool.capped.group" for step in outcome.settlement.steps)


def test_e8_long_term_filer_would_get_more_than_the_temporary_traveller(book: PolicyBook) -> None:
    doc = read_document(examples_dir() / "E8.yaml")
    assert isinstance(doc, dict)
    doc["person"]["filing"] = {"category": "long_term_resident"}
    outcome = run_case(parse_case(doc, "E8-long-term", book))
    assert outcome.record.hifp_pay == 570000
