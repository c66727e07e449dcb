"""The real policy shapes of domain.md §5 (amount-banded pool ratios, contribution tiers), each a
hand-computed case file in tests/rules/shapes/ whose comments show the arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from medsettle.adapters.files import read_document
from medsettle.core.accumulators import without_zeros
from medsettle.core.cases import parse_case, run_case
from medsettle.core.explain import explanation
from medsettle.core.policy import PolicyBook

SHAPES = sorted((Path(__file__).parent / "shapes").glob("B*.yaml"), key=lambda p: int(p.stem[1:]))


def test_the_shape_examples_are_all_here() -> None:
    assert [p.stem for p in SHAPES] == [f"B{i}" for i in range(1, 7)]


@pytest.mark.parametrize("path", SHAPES, ids=lambda p: p.stem)
def test_shape_example_settles_to_the_fen(path: Path, book: PolicyBook) -> None:
    case = parse_case(read_document(path), path.name, book)
    assert case.expected_result is not None and case.expected_acc_after is not None
    outcome = run_case(case)
    assert outcome.record.as_dict() == dict(case.expected_result)
    assert without_zeros(outcome.acc_after.values) == without_zeros(case.expected_acc_after.values)


def test_b3_explains_the_bands_it_crossed(book: PolicyBook) -> None:
    outcome = run_case(parse_case(read_document(SHAPES[2]), "B3", book))
    steps = {s["code"]: s for s in explanation(outcome.settlement)}
    assert steps["ratio.banded"]["values"]["start"] == 2400000
    assert steps["ratio.banded"]["values"]["basis"] == "year"
    assert steps["pool.paid"]["values"]["segments"] == [
        {"from": 2400000, "to": 3000000, "ratio": "0.85"},
        {"from": 3000000, "to": 3758567, "ratio": "0.90"}]
    assert "¥24000.00" in str(steps["ratio.banded"]["text"])
    assert "85% on ¥6000.00" in str(steps["pool.paid"]["text"])


def test_b4_reports_what_lies_beyond_the_cap(book: PolicyBook) -> None:
    outcome = run_case(parse_case(read_document(SHAPES[3]), "B4", book))
    assert outcome.settlement.e_over == 949889
    assert any(s.code == "pool.capped.group" for s in outcome.settlement.steps)


def test_b5_without_a_tier_uses_the_plain_entries(book: PolicyBook) -> None:
    doc = read_document(SHAPES[4])
    assert isinstance(doc, dict)
    del doc["person"]["contribution_tier"]
    plain = run_case(parse_case(doc, "B5-plain", book)).record
    # E 960,000 × 0.70 = 672,000; psn 40,000 + 288,000 = 328,000.
    assert (plain.hifp_pay, plain.psn_part_amt) == (672000, 328000)
    doc["person"]["contribution_tier"] = "low"  # a tier the region does not key
    low = run_case(parse_case(doc, "B5-low", book)).record
    assert low == plain


def test_a_settlement_names_its_parameter_set_by_id_and_content_hash(book: PolicyBook) -> None:
    case = parse_case(read_document(SHAPES[0]), "B1", book)
    settlement = run_case(case).settlement
    assert (settlement.policy_id, settlement.policy_hash) == (case.policy.id,
                                                              case.policy.content_hash)
    assert len(settlement.policy_hash) == 64
