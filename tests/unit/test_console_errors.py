"""A refused console action in the page's language (adapters/web/console_errors.py)."""

from medsettle.adapters.web.console_errors import console_error
from medsettle.core.errors import Forbidden, InvalidInput, NotFound, StateConflict


def test_a_field_error_names_the_field_in_chinese_and_keeps_the_english_detail() -> None:
    exc = InvalidInput("reason", "say why the filing is refused")
    assert console_error(exc, "zh") == "填写有误：原因（say why the filing is refused）"
    assert console_error(exc, "en") == "reason: say why the filing is refused"


def test_an_error_without_a_field_gets_the_lead_of_its_code() -> None:
    exc = StateConflict("filing F1 is approved: only a pending filing is decided")
    assert console_error(exc, "zh") == (
        "当前状态不允许此操作（filing F1 is approved: only a pending filing is decided）")
    assert console_error(Forbidden("not yours"), "zh").startswith("无权操作（")


def test_a_field_without_chinese_words_is_named_as_it_is() -> None:
    exc = InvalidInput("quota_code", "unknown")
    assert console_error(exc, "zh") == "填写有误：quota_code（unknown）"
    assert console_error(NotFound("no such institution H1"), "zh") == (
        "未找到（no such institution H1）")
