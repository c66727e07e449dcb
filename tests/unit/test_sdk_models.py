"""The SDK's models: one per transaction the gateway offers, exact amounts, the balance rules,
and answers read from any deployment's dialect."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from medsettle.adapters.his.transactions import TRANSACTIONS as GATEWAY
from medsettle.sdk import (
    REQUESTS,
    TRANSACTIONS,
    Client,
    Refused,
    RequestEnvelope,
    ResponseEnvelope,
    fen,
    yuan_of,
)
from medsettle.sdk import files as f
from medsettle.sdk import money as m
from medsettle.sdk import visits as v
from medsettle.sdk.base import Request
from medsettle.sdk.client import person_of


def test_every_transaction_the_gateway_offers_has_a_request_and_an_answer_model() -> None:
    missing = sorted(set(GATEWAY) - set(TRANSACTIONS))
    assert missing == [], f"add a model pair and a registry line for {missing} (sdk/registry.py)"


def test_each_request_model_names_its_own_code_and_answer() -> None:
    codes = [r.INFNO for r in REQUESTS]
    assert len(codes) == len(set(codes))
    assert TRANSACTIONS["2207"].RESPONSE is m.SettlementAnswer
    assert TRANSACTIONS["2304"].RESPONSE is m.SettlementAnswer  # inherited from 2207
    assert TRANSACTIONS["9001"].RESPONSE is v.SignInAnswer
    assert {r.INFNO for r in REQUESTS if r.REVERSIBLE} >= {"2201", "2207", "2304", "2401"}
    assert not any(r.READ_ONLY and r.REVERSIBLE for r in REQUESTS)


def test_adding_a_transaction_is_a_model_pair() -> None:
    class ListAnswer(v.Answer):
        total: int

    class ListRequest(Request[ListAnswer]):
        INFNO = "5261"
        READ_ONLY = True
        data: v.VisitRef

    assert ListRequest.RESPONSE is ListAnswer
    request = ListRequest(data=v.VisitRef(mdtrt_id="M1", psn_no="P1"))
    assert request.wire() == {"data": {"mdtrt_id": "M1", "psn_no": "P1"}}


def test_amounts_are_exact_yuan_sent_as_decimal_strings() -> None:
    line = m.FeeDetail(feedetl_sn="1", mdtrt_id="M", psn_no="P", chrg_bchno="B",
                       fee_ocur_time="2026-01-02 03:04:05",
                       med_list_codg="X", medins_list_codg="Y", det_item_fee_sumamt=80.1,
                       cnt="1", pric="80.1", bilg_dept_codg="A", bilg_dept_name="内科",
                       bilg_dr_codg="D", bilg_dr_name="李")
    wire = line.wire()
    assert wire["det_item_fee_sumamt"] == "80.10"
    assert wire["fee_ocur_time"] == "2026-01-02 03:04:05"
    assert line.det_item_fee_sumamt == Decimal("80.10")


@pytest.mark.parametrize("bad", [True, "12.3.4", "1.001", float("nan"), None, [1]])
def test_an_amount_that_is_not_exact_yuan_is_refused_naming_the_field(bad: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        m.Settlement(psn_no="P", mdtrt_cert_type="02", med_type="11", medfee_sumamt=bad,
                     mdtrt_id="M", insutype="310")
    assert caught.value.errors()[0]["loc"] == ("medfee_sumamt",)


@given(st.integers(-10**12, 10**12))
def test_fen_and_yuan_round_trip_through_the_wire(amount: int) -> None:
    settled = m.Settlement(psn_no="P", mdtrt_cert_type="02", med_type="11",
                           medfee_sumamt=yuan_of(amount), mdtrt_id="M", insutype="310")
    again = m.Settlement.model_validate(settled.wire())
    assert fen(again.medfee_sumamt) == amount


def _setlinfo(**change: str) -> dict[str, Any]:
    info = {"mdtrt_id": "M", "psn_no": "P", "medfee_sumamt": 356.8, "fulamt_ownpay_amt": 20,
            "overlmt_selfpay": 0, "preselfpay_amt": 16.8, "inscp_scp_amt": 320, "hifp_pay": 224,
            "fund_pay_sumamt": 224, "psn_part_amt": 132.8, "acct_pay": 100,
            "psn_cash_pay": 32.8}
    return info | change


def test_the_balance_rules_of_a_settlement_name_the_broken_field() -> None:
    good = m.SettlementAnswer.model_validate({"setlinfo": _setlinfo(), "setldetail": [
        {"fund_pay_type": "310100", "fund_payamt": 224}]})
    assert good.balance_errors() == []
    bad = m.SettlementAnswer.model_validate({"setlinfo": _setlinfo(acct_pay="100.01"),
                                             "setldetail": [{"fund_pay_type": "310100",
                                                             "fund_payamt": "223.99"}]})
    assert [field for field, _ in bad.balance_errors()] == ["psn_part_amt",
                                                            "setldetail[].fund_payamt"]


def test_an_answer_reads_infcode_as_text_and_message_as_err_msg() -> None:
    answer = ResponseEnvelope.model_validate({"infcode": "-1", "message": "[not_filed] 未备案"})
    assert (answer.ok, answer.code, answer.err_msg) == (False, "not_filed", "[not_filed] 未备案")
    assert ResponseEnvelope.model_validate({"infcode": 0, "output": {}}).ok
    with pytest.raises(ValidationError):
        ResponseEnvelope.model_validate({"infcode": True})


def test_the_person_of_an_input_is_found_in_any_node() -> None:
    assert person_of({"data": {"psn_no": "P1"}}) == "P1"
    assert person_of({"feedetail": [{"psn_no": "P2"}]}) == "P2"
    assert person_of({"signIn": {"opter_no": "D"}}) == ""


def test_a_deployments_own_envelope_keys_are_sent() -> None:
    his = Client("http://platform", "H44030400123", "深圳示例医院",
                 extra_envelope={"serv_code": "CQ01", "serv_sign": "s"})
    envelope = his.envelope(v.SignInRequest(signIn=v.SignIn(opter_no="D", mac="M", ip="I")))
    assert (envelope["serv_code"], envelope["serv_sign"]) == ("CQ01", "s")
    assert RequestEnvelope.model_validate(envelope).infno == "9001"
    assert envelope["msgid"].startswith("H44030400123") and len(envelope["msgid"]) == 30


@given(funds=st.lists(st.integers(0, 10**8), min_size=7, max_size=7),
       account=st.integers(0, 10**8), cash=st.integers(0, 10**8),
       self_paid=st.lists(st.integers(0, 10**6), min_size=3, max_size=3),
       which=st.sampled_from(["hifp_pay", "acct_pay", "psn_cash_pay", "fulamt_ownpay_amt"]))
def test_a_settlement_balances_and_one_fen_off_is_named(
        funds: list[int], account: int, cash: int, self_paid: list[int], which: str) -> None:
    names = ["hifp_pay", "cvlserv_pay", "hifes_pay", "hifmi_pay", "hifob_pay", "maf_pay",
             "oth_pay"]
    total = sum(funds) + account + cash
    info = {"mdtrt_id": "M", "psn_no": "P", "medfee_sumamt": yuan_of(total),
            "fulamt_ownpay_amt": yuan_of(self_paid[0]), "overlmt_selfpay": yuan_of(self_paid[1]),
            "preselfpay_amt": yuan_of(self_paid[2]),
            "inscp_scp_amt": yuan_of(total - sum(self_paid)),
            "fund_pay_sumamt": yuan_of(sum(funds)), "psn_part_amt": yuan_of(account + cash),
            "acct_pay": yuan_of(account), "psn_cash_pay": yuan_of(cash),
            **{name: yuan_of(f) for name, f in zip(names, funds, strict=True)}}
    detail = [{"fund_pay_type": "310100", "fund_payamt": yuan_of(sum(funds))}]
    assert m.SettlementAnswer.model_validate(
        {"setlinfo": info, "setldetail": detail}).balance_errors() == []
    info[which] += Decimal("0.01")
    broken = m.SettlementAnswer.model_validate({"setlinfo": info, "setldetail": detail})
    assert broken.balance_errors() != []


def test_a_discharge_is_read_in_both_spellings() -> None:
    data = {"mdtrt_id": "M", "psn_no": "P", "endtime": "2026-01-02 03:04:05", "dscg_way": "1",
            "dscg_dept_codg": "A03", "dscg_dept_name": "内科"}
    read = v.DischargeRequest.model_validate({"mdtrtinfo": data, "diseinfo": []})
    assert read.dscginfo.dscg_dept_code == "A03"


@pytest.mark.parametrize("err_msg, code", [
    ("[not_filed] no filing for 440304", "not_filed"),
    ("未备案：440304 无有效异地就医备案，可补办或手工报销 [not_filed] (no filing for …)", "not_filed"),
    ("入参有误：input.feedetail[0].chrg_bchno [invalid_input] (is required)", "invalid_input"),
    ("该就诊已结算，不能重复结算", ""),
])
def test_the_error_code_is_read_wherever_the_platform_puts_it(err_msg: str, code: str) -> None:
    assert ResponseEnvelope.model_validate({"infcode": -1, "err_msg": err_msg}).code == code


def test_a_5203_answer_of_one_settlement_reads_as_a_list_of_one() -> None:
    row = {"setl_id": "S", "mdtrt_id": "M", "psn_no": "P", "medfee_sumamt": 10,
           "fund_pay_sumamt": 4, "acct_pay": 6, "psn_cash_pay": 0}
    one = TRANSACTIONS["5203"].RESPONSE.model_validate({"setlinfo": row, "setldetail": []})
    many = TRANSACTIONS["5203"].RESPONSE.model_validate({"setlinfo": [row, row]})
    assert [len(one.setlinfo), len(many.setlinfo)] == [1, 2]  # type: ignore[attr-defined]
    totals = TRANSACTIONS["5262"].RESPONSE.model_validate({"setlinfo": row, "feesttinfo": [
        {"med_chrgitm_type": "09", "item_sumamt": 10.0}]})
    assert totals.feesttinfo[0].item_sumamt == Decimal("10.00")  # type: ignore[attr-defined]


def test_an_upload_is_sent_as_base64_and_read_from_bytes_or_base64() -> None:
    request = f.UploadRequest(fsUploadIn=f.Upload(content=b"\x00\xffA", filename="d.txt"))
    assert request.wire()["fsUploadIn"]["in"] == "AP9B"
    assert f.Upload.model_validate({"in": [0, -1, 65], "filename": "d"}).content == b"\x00\xffA"
    assert f.Upload.model_validate({"in": "AP9B", "filename": "d"}).content == b"\x00\xffA"


def test_a_download_answers_the_files_bytes_or_a_refusal() -> None:
    def platform(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)["input"]["fsDownloadIn"]
        if sent["file_qury_no"] == "F1":
            return httpx.Response(200, content=b"PK\x03\x04",
                                  headers={"content-type": "application/zip"})
        return httpx.Response(200, json={"infcode": -1, "err_msg": "未找到 [not_found] (…)"})

    his = Client("http://platform", "H44030400123", "深圳示例医院",
                 http=httpx.Client(transport=httpx.MockTransport(platform)))
    assert his.download("F1", "plc") == b"PK\x03\x04"
    with pytest.raises(Refused) as refused:
        his.download("F2", "plc")
    assert refused.value.code == "not_found"


def test_an_audit_answer_lists_findings_or_none() -> None:
    answer = TRANSACTIONS["3101"].RESPONSE.model_validate({"result": [{
        "jr_id": "T-R06-1", "rule_id": "R06", "vola_amt": 12.5,
        "judge_result_detail_dtos": [{"jrd_id": "T-R06-1-1", "rx_id": "F1"}]}]})
    assert answer.result[0].vola_amt == Decimal("12.50")  # type: ignore[attr-defined]
    assert TRANSACTIONS["3103"].RESPONSE.model_validate({"result": []}).result == []  # type: ignore[attr-defined]


class Base64Sealer:
    """A stand-in for an SM2/SM4 sealer: the input travels as base64 `encData`."""

    def seal(self, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        doc = {k: v for k, v in envelope.items() if k != "input"}
        doc["encData"] = base64.b64encode(json.dumps(envelope["input"]).encode()).decode()
        return json.dumps(doc).encode(), {"x-sealed": "yes"}

    def open(self, answer: dict[str, Any]) -> dict[str, Any]:
        clear = json.loads(base64.b64decode(answer.pop("encData")))
        return answer | {"output": clear}


def test_a_sealer_seals_the_envelope_and_opens_the_answer() -> None:
    def platform(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        assert request.headers["x-sealed"] == "yes" and "input" not in sent
        assert "signIn" in json.loads(base64.b64decode(sent["encData"]))
        output = {"signinoutb": {"sign_time": "2026-01-02 03:04:05", "sign_no": "S1"}}
        return httpx.Response(200, json={"infcode": 0, "output": None, "encData":
                                         base64.b64encode(json.dumps(output).encode()).decode()})

    his = Client("http://platform", "H44030400123", "深圳示例医院", sealer=Base64Sealer(),
                 http=httpx.Client(transport=httpx.MockTransport(platform)))
    assert his.sign_in().signinoutb.sign_no == "S1"
