"""The console's translation tables: one key, one wording, whichever module defines it."""

from __future__ import annotations

import pytest

from medsettle.adapters.web.i18n import ZH, merged, translate
from medsettle.adapters.web.i18n_supervision import ZH_SUPERVISION


def test_a_key_defined_twice_with_different_words_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\['Reinstate'\]"):
        merged({"Reinstate": "恢复直接结算"}, {"Reinstate": "恢复结算"})


def test_the_same_words_twice_merge() -> None:
    assert merged({"Save": "保存"}, {"Save": "保存", "To": "接收方"}) == {"Save": "保存", "To": "接收方"}


def test_the_institutions_page_and_the_credit_page_keep_their_own_button_words() -> None:
    assert translate("Reinstate", "zh") == "恢复直接结算"
    assert translate("Reinstate after rectification", "zh") == "整改后恢复结算"
    assert translate("Valid from", "zh") == "起始日期" and translate("From", "zh") == "发起方"
    assert all(ZH[k] == v for k, v in ZH_SUPERVISION.items())
