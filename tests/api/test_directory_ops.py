"""The two reads the insured person's app asks of another province through the hub: the hub
forwards `institutions` and `settlement_lines` between any two provinces; a province answers
`institutions` with its networked, not suspended institutions (no personal data), and
`settlement_lines` only to the insured province of the settlement's person."""

from __future__ import annotations

import json
from typing import Any

import pytest

from medsettle.adapters.federation import signed_headers
from medsettle.core.errors import Forbidden, InvalidInput
from medsettle.core.privacy import mask_id, mask_name, pseudonym
from medsettle.services.forwarding import admit_call
from tests.api.conftest import Province, Visit
from tests.e2e import fixtures as f


def ask(province: Province, op: str, sender: str, payload: dict[str, Any]) -> Any:
    path = f"/fed/v1/ops/{op}"
    body = json.dumps({"from": sender, "msgid": "APP0001", "payload": payload}).encode()
    return province.http.post(path, content=body,
                              headers=signed_headers("k", "hub", path, body))


def test_the_hub_forwards_the_app_reads_between_any_two_provinces() -> None:
    call = admit_call("510000", "440000", "institutions", "APP1", {"city": "440300"})
    assert call.target == "440000"
    assert admit_call("510000", "440100", "settlement_lines", "APP2", {}).target == "440000"
    with pytest.raises(Forbidden):
        admit_call("440000", "440000", "institutions", "APP3", {})
    with pytest.raises(InvalidInput):
        admit_call("440000", "510000", "institutionz", "APP4", {})


def test_a_province_lists_its_networked_institutions_for_another(province: Province) -> None:
    answer = ask(province, "institutions", "510000", {"city": "440300", "service": "M03900"})
    assert answer.status_code == 200, answer.text
    found = answer.json()["result"]
    assert [i["code"] for i in found["institutions"]] == [f.SHENZHEN_H]
    assert found["institutions"][0]["services"] == ["inpatient", "outpatient"]
    everyone = ask(province, "institutions", "510000", {}).json()["result"]
    assert f.SUSPENDED_H not in [i["code"] for i in everyone["institutions"]]
    named = ask(province, "institutions", "510000", {"codes": [f.SUSPENDED_H]}).json()["result"]
    assert [i["name"] for i in named["institutions"]] == ["深圳停用医院"]  # names, even suspended
    bad = ask(province, "institutions", "510000", {"level": "L9"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "level"


def test_a_bill_is_told_only_to_the_insured_province(province: Province,
                                                     settled_visit: Visit) -> None:
    doc = {"settlement_id": settled_visit.setl_id, "person_id": settled_visit.psn_no}
    refused = ask(province, "settlement_lines", "510000", doc)
    assert refused.status_code == 403, refused.text
    other = ask(province, "settlement_lines", "440000", doc | {"person_id": "X" * 26})
    assert other.status_code == 404
    told = ask(province, "settlement_lines", "440000", doc)
    assert told.status_code == 200, told.text
    bill = told.json()["result"]
    assert bill["institution_name"] == "深圳示例医院"
    assert [x["cls"] for x in bill["lines"]] == ["A", "B", "C"]
    assert sum(x["amount"] for x in bill["lines"]) == 28100


def test_personal_data_is_masked_and_pseudonymous() -> None:
    assert mask_id("510104199001010019") == "5101**********0019"
    assert mask_name("王芳") == "王*" and mask_name("欧阳修文") == "欧***"
    assert len(pseudonym("51010000000000000000000001")) == 16
    assert "51010000000000000000000001" not in pseudonym("51010000000000000000000001")
