"""A conformance report shows a long answer cut, not whole: a platform's answer may be up to
six megabytes, and the HTML page and the JUnit failure kept each one in full."""

from __future__ import annotations

from medsettle.adapters.kit.report import SEEN_CHARS, SHOWN_CHARS, html_report, junit_xml
from medsettle.adapters.kit.results import Failure, Run, ScenarioResult, Step


def a_run_with_a_huge_answer() -> Run:
    huge = "账" * 3_000_000
    step = Step(name="person info", infno="1101", msgid="M1", request={"infno": "1101"},
                answer={"err_msg": huge},
                failures=[Failure("output.baseinfo", "is required", seen=huge)])
    return Run(mode="platform", target="http://platform",
               scenarios=[ScenarioResult(name="outpatient", title="an outpatient visit",
                                         steps=[step])])


def test_the_html_page_shows_a_huge_answer_cut_and_says_how_much_is_left_out() -> None:
    page = html_report(a_run_with_a_huge_answer())
    assert len(page) < SHOWN_CHARS + SEEN_CHARS + 10_000
    assert page.count("more characters not shown") == 2  # the answer and the seen value
    assert "output.baseinfo" in page and "is required" in page


def test_the_junit_failure_is_cut_too() -> None:
    xml = junit_xml(a_run_with_a_huge_answer())
    assert len(xml) < 3 * SEEN_CHARS + 5_000
    assert "more characters not shown" in xml and "output.baseinfo: is required" in xml
