"""A lone UTF-16 surrogate in a HIS body is refused naming where it is (envelope.check_text),
also when the body is a list (found by tests/api/test_his_fuzz.py: the path began "[0]")."""

import pytest

from medsettle.adapters.his.envelope import load_json, load_object
from medsettle.core.errors import InvalidInput


@pytest.mark.parametrize(("body", "field"), [
    (b'{"infno": "1101", "cainfo": ["\\ud800"]}', "cainfo[0]"),
    (b'{"input": {"data": {"psn_no": "\\udfff"}}}', "input.data.psn_no"),
    (b'[{"cainfo": ["\\ud800"]}]', "body[0].cainfo[0]"),
    (b'"\\ud800"', "body"),
])
def test_the_refusal_names_the_field_with_the_surrogate(body: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        load_json(body)
    assert refused.value.field == field


def test_a_list_body_without_surrogates_is_refused_as_not_an_object() -> None:
    with pytest.raises(InvalidInput, match="must be a JSON object"):
        load_object(b'[{"infno": "1101"}]')
