"""Dialect profiles at the gateway: each tolerance accepted only by a profile that names it,
answers written exactly per profile, and no amount ever guessed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medsettle.adapters.his.client import HisError, Patient, VisitFlow
from medsettle.adapters.his.dialects import (
    DATA_WRAPPED,
    PRESETS,
    TOLERANCES,
    Dialect,
    cert_type_of,
    parse_dialect,
    read_input,
)
from medsettle.adapters.his.transactions import TRANSACTIONS
from medsettle.core.errors import InvalidInput
from medsettle.core.policy import PolicyBook
from tests.api.conftest import Province, his_rows, start_province
from tests.conftest import business_today
from tests.e2e import fixtures as f

#: One institution per tolerance alone, one with all but it, and the presets.
ONLY = {t: f"H4403040047{i}" for i, t in enumerate(TOLERANCES)}
ALL_BUT = {t: f"H4403040048{i}" for i, t in enumerate(TOLERANCES)}
PRESET = {name: f"H4403040049{i}" for i, name in enumerate(PRESETS)}
TODAY = business_today().isoformat()
BAD_PROFILE_H = "H44030400499"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[Province]:
    rows = his_rows()
    extra = [f.institution(code, f"方言医院{code[-2:]}", "02", "L3", dialect={"accept": [t]})
             for t, code in ONLY.items()]
    extra += [f.institution(code, f"方言医院{code[-2:]}", "02", "L3",
                            dialect={"accept": [o for o in TOLERANCES if o != t]})
              for t, code in ALL_BUT.items()]
    extra += [f.institution(code, f"方言医院{code[-2:]}", "02", "L3", dialect=name)
              for name, code in PRESET.items()]
    extra.append(f.institution(BAD_PROFILE_H, "配置错误医院", "02", "L3", dialect="kansai"))
    # every row names its dialect: one insert of many rows takes the columns of the first
    rows["institutions"] = [{"dialect": None} | r for r in rows["institutions"]] + extra
    yield from start_province(tmp_path_factory.mktemp("dialects"), rows, book)


@pytest.fixture(scope="module")
def chen(node: Province) -> Patient:
    his = node.signed_in(f.SHENZHEN_H)
    return Patient.from_1101(his.person("01", f.CHEN["evoucher"]), "01", f.CHEN["evoucher"])


def register(c: Patient, **changes: Any) -> dict[str, Any]:
    return {"data": {"psn_no": c.psn_no, "insutype": c.insutype,
                     "begntime": f"{datetime.now():%Y-%m-%d %H:%M:%S}", "mdtrt_cert_type": "01",
                     "mdtrt_cert_no": c.cert_no, "card_sn": "", "ipt_otp_no": "MZ0001",
                     "atddr_no": "D001", "dr_name": "李医生", "dept_code": "A03",
                     "dept_name": "内科", "caty": "A03", "med_type": "11", "dise_codg": "",
                     "dise_name": ""} | changes}


def person(cert_type: str, cert_no: str) -> dict[str, Any]:
    return {"data": {"mdtrt_cert_type": cert_type, "mdtrt_cert_no": cert_no, "card_sn": "",
                     "begntime": "", "psn_cert_type": "", "certno": "", "psn_name": ""}}


@dataclass(frozen=True)
class Tolerance:
    """A message only a profile that accepts `tolerance` takes; `refused` names the field."""

    tolerance: str
    infno: str
    why: str
    input: Callable[[Patient], dict[str, Any]]
    refused: str
    check: Callable[[Province, Any, Patient], None]


def found_chen(node: Province, out: Any, c: Patient) -> None:
    assert out["baseinfo"]["psn_no"] == c.psn_no


def starts_at_midnight(node: Province, out: Any, c: Patient) -> None:
    with node.node.store.tx() as tx:
        visit = tx.one("visits", mdtrt_id=out["data"]["mdtrt_id"])
    assert f"{visit.begntime:%Y-%m-%d %H:%M:%S}" == f"{TODAY} 00:00:00"


def listed(node: Province, out: Any, c: Patient) -> None:
    assert isinstance(out, dict | list)


TABLE = [
    Tolerance("unwrapped_input", "1101", "no data node",
              lambda c: person("01", f.CHEN["evoucher"])["data"], "input.data", found_chen),
    Tolerance("unwrapped_input", "5201", "no data node",
              lambda c: {"psn_no": c.psn_no, "begntime": "", "endtime": ""}, "input.data",
              listed),
    Tolerance("infer_cert_type", "1101", "blank type, e-voucher number",
              lambda c: person("", f.CHEN["evoucher"]), "mdtrt_cert_type", found_chen),
    Tolerance("infer_cert_type", "1101", "no type, ID card number",
              lambda c: {"data": {k: v for k, v in person("", f.CHEN["certno"])["data"].items()
                                  if k != "mdtrt_cert_type"}}, "mdtrt_cert_type", found_chen),
    Tolerance("date_only_begntime", "2201", "begntime a date",
              lambda c: register(c, begntime=TODAY, ipt_otp_no="MZ0002"), "begntime",
              starts_at_midnight),
    Tolerance("date_only_begntime", "5201", "query times dates",
              lambda c: {"data": {"psn_no": c.psn_no, "begntime": TODAY, "endtime": TODAY}},
              "begntime", listed),
]


@pytest.mark.parametrize("row", TABLE, ids=[f"{r.tolerance}-{r.infno}-{r.why}" for r in TABLE])
def test_a_tolerance_is_accepted_only_by_a_profile_that_names_it(
        node: Province, chen: Patient, row: Tolerance) -> None:
    insuplc = chen.insuplc if row.infno != "1101" else ""
    for code in (f.SHENZHEN_H, ALL_BUT[row.tolerance]):
        with pytest.raises(HisError) as refused:
            node.signed_in(code).call(row.infno, row.input(chen), insuplc=insuplc)
        assert row.refused in str(refused.value), code
    out = node.signed_in(ONLY[row.tolerance]).call(row.infno, row.input(chen), insuplc=insuplc)
    row.check(node, out, chen)


def test_a_credential_number_of_no_known_form_is_still_refused(node: Province) -> None:
    his = node.signed_in(PRESET["tolerant"])
    with pytest.raises(HisError) as refused:
        his.call("1101", person("", "ABC"))
    assert "input.data.mdtrt_cert_type" in str(refused.value)


def test_an_institution_loaded_with_a_bad_profile_is_refused_until_corrected(
        node: Province) -> None:
    his = node.his(BAD_PROFILE_H)
    with pytest.raises(HisError) as refused:
        his.sign_in()
    assert "：institutions.dialect [invalid_input] (unknown profile 'kansai'" in str(refused.value)


def test_local_envelope_keys_are_accepted_by_every_profile(node: Province,
                                                           chen: Patient) -> None:
    for code in (f.SHENZHEN_H, *PRESET.values()):
        his = node.signed_in(code)
        envelope = his.envelope("1101", person("01", f.CHEN["evoucher"])) | {
            "serv_code": "YBJS", "serv_sign": "abc123", "appname": "HIS5", "medins_code": code}
        answer = node.post(envelope).json()
        assert str(answer["infcode"]) == "0", answer


@pytest.mark.parametrize(("name", "infcode", "error_key", "echoed"), [
    ("national", 0, "err_msg", {}),
    ("tolerant", 0, "err_msg", {}),
    ("string-infcode", "0", "err_msg", {}),
    ("message", 0, "message", {}),
    ("chongqing", "0", "err_msg", {"serv_code": "YBJS", "serv_sign": ""}),
])
def test_answers_are_written_exactly_per_profile(node: Province, name: str, infcode: Any,
                                                 error_key: str, echoed: dict[str, str]) -> None:
    his = node.signed_in(PRESET[name])
    keys = ["infcode", "inf_refmsgid", "refmsg_time", "respond_time", error_key, "warn_msg",
            "cainfo", "signtype", "output", *echoed]
    ok = node.post(his.envelope("1101", person("01", f.CHEN["evoucher"]))
                   | {"serv_code": "YBJS"}).json()
    assert list(ok) == keys and ok["infcode"] == infcode and ok[error_key] == ""
    assert {k: ok[k] for k in echoed} == echoed
    bad = node.post(his.envelope("1101", person("01", "EC44")) | {"serv_code": "YBJS"}).json()
    assert list(bad) == keys and bad["infcode"] == (str(-1) if infcode == "0" else -1)
    assert "mdtrt_cert_no" in bad[error_key] and bad["output"] is None


def test_a_retry_gets_the_stored_answer_in_the_profile(node: Province, chen: Patient) -> None:
    his = node.signed_in(PRESET["chongqing"])
    envelope = his.envelope("2201", register(chen, ipt_otp_no="MZ0003"), insuplc=chen.insuplc)
    envelope["serv_code"] = "YBJS"
    first = node.post(envelope).json()
    again = node.post(envelope).json()
    assert first == again and first["infcode"] == "0" and first["serv_code"] == "YBJS"


def test_a_tolerant_profile_settles_what_the_national_one_does(node: Province,
                                                               chen: Patient) -> None:
    """The same visit at a national and at a tolerant institution: the same amounts."""
    answers = []
    for code in (f.SHENZHEN_H, PRESET["tolerant"]):
        his = node.signed_in(code)
        flow = VisitFlow(his, chen)
        flow.register()
        lines = flow.fees([(f.DRUG_A, "80.00", "1"), (f.DRUG_B, "52.00", "3")])["result"]
        total = sum(round(r["det_item_fee_sumamt"] * 100) for r in lines)
        answers.append(flow.settle(f"{total // 100}.{total % 100:02d}", pre=True)["setlinfo"])
    money = [{k: v for k, v in a.items() if isinstance(v, float)} for a in answers]
    assert money[0] == money[1]


SETTLE_AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
                  "inscp_scp_amt")


@pytest.mark.parametrize("edit", [
    pytest.param(lambda d: d.pop("medfee_sumamt"), id="no-total"),
    pytest.param(lambda d: d.update(medfee_sumamt=""), id="blank-total"),
    pytest.param(lambda d: d.update(medfee_sumamt=TODAY), id="total-a-date"),
    pytest.param(lambda d: d.pop("acct_used_flag"), id="no-account-flag"),
])
def test_no_amount_is_ever_guessed_by_the_most_tolerant_profile(
        node: Province, chen: Patient, edit: Any) -> None:
    his = node.signed_in(PRESET["tolerant"])
    flow = VisitFlow(his, chen)
    flow.register()
    flow.fees([(f.DRUG_A, "80.00", "1")])
    data = {"psn_no": chen.psn_no, "mdtrt_cert_type": "", "mdtrt_cert_no": chen.cert_no,
            "med_type": "11", "medfee_sumamt": "80.00", "psn_setlway": "01",
            "mdtrt_id": flow.mdtrt_id, "chrg_bchno": "0000", "insutype": chen.insutype,
            "acct_used_flag": "0"}
    edit(data)
    before = node.snapshot()
    with pytest.raises(HisError) as refused:
        his.call("2207", data, insuplc=chen.insuplc)  # unwrapped too
    assert "input.data." in str(refused.value)
    assert node.snapshot() == before
    data.update(medfee_sumamt="80.00", acct_used_flag="0")
    assert his.call("2207", data, insuplc=chen.insuplc)["setlinfo"]["medfee_sumamt"] == 80.0


AMOUNT_KEYS = ("medfee_sumamt", "det_item_fee_sumamt", "pric", "cnt", "fund_pay_sumamt",
               "acct_pay", "cash_payamt", "fulamt_ownpay_amt", "inscp_scp_amt", "acct_used_flag")
_SCALARS = st.one_of(st.none(), st.text(max_size=12), st.integers(), st.floats(allow_nan=False),
                     st.sampled_from(["", "null", TODAY, "2024-01-01 08:00:00", "EC44",
                                      f.CHEN["evoucher"], f.CHEN["certno"]]))
_NODE = st.dictionaries(st.sampled_from([*AMOUNT_KEYS, "begntime", "endtime", "mdtrt_cert_type",
                                         "mdtrt_cert_no", "psn_no"]), _SCALARS, max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(infno=st.sampled_from(sorted(TRANSACTIONS)), doc=st.dictionaries(
    st.sampled_from(["data", "mdtrtinfo", "adminfo", "feedetail", *AMOUNT_KEYS]),
    st.one_of(_NODE, _SCALARS), max_size=5))
def test_a_dialect_never_touches_an_amount(infno: str, doc: dict[str, Any]) -> None:
    """Whatever the input, reading it in the most tolerant dialect changes no amount field:
    each one keeps its value, at its place (or under `data` when the input was unwrapped)."""
    read, used = read_input(PRESETS["tolerant"], infno, doc)
    if "unwrapped_input" in used:
        assert infno in DATA_WRAPPED and read == {"data": doc}
        doc, read = doc, read["data"]

    def amounts(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: amounts(v) for k, v in value.items()
                    if k in AMOUNT_KEYS or isinstance(v, dict)}
        return value
    assert json.dumps(amounts(read), sort_keys=True, default=str) == json.dumps(
        amounts(doc), sort_keys=True, default=str)


@pytest.mark.parametrize(("number", "kind"), [
    (f.CHEN["evoucher"], "01"), (f.CHEN["certno"], "02"), ("A12345678", "03"),
    ("", None), ("EC44", None), ("1234567890", None), (12345678, None)])
def test_a_credential_type_is_inferred_only_from_an_unambiguous_form(number: Any,
                                                                    kind: str | None) -> None:
    assert cert_type_of(number) == kind


@pytest.mark.parametrize(("doc", "field"), [
    ("kansai", "dialect"), ({"infcode": 0}, "dialect.infcode"),
    ({"accept": ["guess_amounts"]}, "dialect.accept"), ({"echo_keys": ["x"]}, "dialect.echo_keys"),
    ({"colour": "red"}, "dialect"), ({"base": "nope"}, "dialect.base"), (3, "dialect"),
])
def test_a_bad_profile_is_refused_naming_the_option(doc: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_dialect(doc)
    assert refused.value.field == field


def test_a_profile_object_overrides_its_base() -> None:
    d = parse_dialect({"base": "chongqing", "infcode": "number", "echo_keys": ["appname"]})
    assert d == Dialect("custom", frozenset(TOLERANCES), "number", "err_msg", ("appname",))
    assert parse_dialect(None) == PRESETS["national"]
