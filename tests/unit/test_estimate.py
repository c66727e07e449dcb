"""The app's estimate equals the settlement engine's result to the fen, for every worked example
of domain.md §11: the example's visit is typed into the estimate as a person's app sends it
(region, level, visit type, disease, lines as JSON), and its person (scheme, category, filing,
accumulators) is the insured node's; the estimate's main scenario is then compared with
`medsettle calc` of the case file. E11 is E5's reversal: its estimate is E5's settlement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from medsettle.core.benefits import Visit
from medsettle.core.cases import parse_case, run_case
from medsettle.core.errors import InvalidInput
from medsettle.core.estimate import estimate, lines_for_amount
from medsettle.core.policy import PolicyBook
from medsettle.services.estimates import parse_input

EXAMPLES = sorted((Path(__file__).parents[2] / "src/medsettle/data/examples").glob("E*.yaml"),
                  key=lambda p: int(p.stem[1:]))


def app_request(visit: dict[str, Any]) -> dict[str, Any]:
    """What the app sends for the example's visit."""
    return {"region": visit["treating_admdvs"], "level": visit["level"],
            "visit_type": visit["type"], "disease": visit.get("disease"),
            "emergency": visit.get("emergency", False),
            "lines": [{k: item[k] for k in ("cls", "pric", "cnt", "selfpay_prop", "lmt_pric")
                       if k in item} for item in visit["items"]]}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_estimate_of_each_worked_example_equals_the_engine_to_the_fen(
        path: Path, book: PolicyBook) -> None:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    case = parse_case(doc, str(path), book)
    engine = run_case(case).settlement
    asked = parse_input(app_request(doc["visit"]))
    visit = Visit(type=asked.visit_type, level=asked.level,  # type: ignore[arg-type]
                  setl_date=case.visit.setl_date, lines=asked.lines, disease=asked.disease,
                  emergency=asked.emergency, dedc_level=case.visit.dedc_level)
    result = estimate(case.policy, case.person, visit)
    assert result.main.key == "as_is" and result.direct
    main = result.main.settlement
    assert main is not None, result.main.problem
    assert main.amounts == engine.amounts
    assert main.acc_after == engine.acc_after
    assert [s.code for s in main.steps] == [s.code for s in engine.steps]
    if doc.get("expected") and not doc.get("reverse"):
        assert main.amounts.as_dict() == doc["expected"]["result"]


def test_what_ifs_change_one_thing_each(book: PolicyBook) -> None:
    path = next(p for p in EXAMPLES if p.stem == "E8")  # 商洛 other_temp at L2
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    case = parse_case(doc, str(path), book)
    result = estimate(case.policy, case.person, case.visit)
    keys = [s.key for s in result.alternatives]
    assert keys == ["if_filed_long_term"]  # already at level 2
    long_term = result.alternatives[0].settlement
    assert long_term is not None and long_term.amounts.hifp_pay == 570000  # domain.md E8


def test_an_amount_becomes_lines_that_sum_to_it() -> None:
    lines = lines_for_amount(1234567, "typical")
    assert [x.cls for x in lines] == ["A", "B", "C"]
    assert sum(x.amt for x in lines) == 1234567
    with pytest.raises(InvalidInput):
        lines_for_amount(0, "typical")
    with pytest.raises(InvalidInput):
        lines_for_amount(100, "mystery")


def test_every_step_and_line_reason_has_chinese_words(book: PolicyBook) -> None:
    from medsettle.core import explain
    from medsettle.core.explain_zh import _STEP_ZH, FIELD_LABELS_ZH, LINE_REASONS_ZH
    assert set(explain.LINE_REASONS) == set(LINE_REASONS_ZH)
    assert set(explain.FIELD_LABELS) == set(FIELD_LABELS_ZH)
    plain = {c for c in explain._STEP_TEXT if not c.startswith("class.")}
    assert plain <= set(_STEP_ZH)


def test_policy_differences_are_in_words(book: PolicyBook) -> None:
    from datetime import date

    from medsettle.core.policy_words import differences
    mine = book.find("110100", "employee", date(2025, 6, 1))
    theirs = book.find("510100", "employee", date(2025, 6, 1))
    for lang in ("zh", "en"):
        rows = differences(mine, theirs, "retired", lang)
        assert rows
        assert all("." not in r.what and "active" not in r.key.split(".") for r in rows)
    zh = differences(mine, theirs, "retired", "zh")
    assert any(r.what.startswith("住院起付线") for r in zh)
