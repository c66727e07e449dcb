"""err_msg: Chinese first naming the field, then the [code], then the English detail; at most
200 characters, and the code survives any cut."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from medsettle.adapters.his.err_msg import LEADS, SETTLED_AGAIN, code_of, err_msg
from medsettle.core import errors


def test_a_filing_refusal_names_the_region_in_chinese_then_in_english() -> None:
    exc = errors.NotFiled("no filing for 440304 on 2026-11-29: file after the fact (补办) or "
                          "claim manual reimbursement")
    assert err_msg(exc) == ("未备案：440304 无有效异地就医备案，可补办或手工报销 [not_filed] "
                            "(no filing for 440304 on 2026-11-29: file after the fact (补办) or "
                            "claim manual reimbursement)")


def test_a_bad_field_is_named_in_the_chinese_part() -> None:
    exc = errors.InvalidInput("input.data.mdtrt_id", "required")
    assert err_msg(exc) == "入参有误：input.data.mdtrt_id [invalid_input] (required)"


def test_every_error_code_has_a_chinese_lead() -> None:
    codes = {cls.code for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.MedSettleError)}
    assert codes | {"internal"} <= set(LEADS)


@given(st.text(min_size=0, max_size=600), st.sampled_from(sorted(LEADS)))
@example("不能重复结算", "already_answered")  # Hypothesis took the wording from err_msg.py
def test_the_code_survives_the_200_character_limit(detail: str, code: str) -> None:
    exc = errors.MedSettleError(detail)
    exc.code = code
    text = err_msg(exc)
    assert len(text) <= 200
    assert f" [{code}]" in text
    lead = text.split(f" [{code}]")[0]  # the code's own lead, or an exacter one the detail asks
    assert lead in (LEADS[code], SETTLED_AGAIN) \
        or (code == "not_filed" and lead.startswith(LEADS["not_filed"][:4]))


def test_a_program_reads_the_code_back() -> None:
    exc = errors.NotFiled("no filing for 440304 on 2026-11-29")
    assert code_of(err_msg(exc)) == "not_filed"
    assert code_of("交易失败") is None
