"""The insured node acts only for the province that owns what a call touches, checks every
payload field, and refuses a settle that arrives after its reversal (in-process, no hub).

The Guangdong node of tests/api/conftest.py insures 陈明 and treats him at 深圳示例医院; its
federation operations are called here directly as another province (or the hub) would reach
them through the hub, naming the caller the hub would name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from medsettle.core.errors import (
    Forbidden,
    InvalidInput,
    MedSettleError,
    NotFound,
    PeerUnavailable,
    StateConflict,
)
from medsettle.services.insured_ops import run_op
from medsettle.services.treating_settle import retry_pending_reversals
from tests.api.conftest import OTHER_H, Province, Visit, new_visit
from tests.e2e import fixtures as f

OTHER_PROVINCE = "310000"  # Shanghai: it treats none of 陈明's visits here


def call(province: Province, op: str, payload: dict[str, Any], *, caller: str,
         msgid: str = "M-OWNERSHIP-1") -> dict[str, Any]:
    return run_op(province.node.store, province.node.book, op, msgid, payload,
                  datetime.now(UTC), caller)


def settle_payload(visit: Visit, **changes: Any) -> dict[str, Any]:
    line = {"cls": "A", "pric": "80.00", "cnt": "1", "selfpay_prop": "0", "lmt_pric": None,
            "restricted_ok": True, "code": f.DRUG_A}
    return {"mdtrt_id": visit.mdtrt_id, "setl_id": "440000" + "7" * 24, "psn_no": visit.psn_no,
            "insutype": "310", "visit_type": "outpatient", "med_type": "11", "disease": None,
            "level": "L3", "dedc_level": None, "acct_used": False, "lines": [line],
            "fixmedins_code": f.SHENZHEN_H, "mdtrtarea_admvs": "440300",
            "insu_admdvs": "440100", "disease_opened": True} | changes


def open_payload(**changes: Any) -> dict[str, Any]:
    return {"mdtrt_id": "440000" + "1" * 24, "psn_no": f.CHEN["psn_no"], "insutype": "310",
            "visit_type": "outpatient", "med_type": "11", "mdtrtarea_admvs": "310104",
            "fixmedins_code": "H31010400077", "begntime": "2026-11-20T09:00:00",
            "emergency": False, "disease": None, "cert_type": None, "cert_no": None,
            "card_sn": None} | changes


Attempt = Callable[[Visit, Visit], tuple[str, dict[str, Any], str]]

#: (why, attempt(open visit, settled visit) → (op, payload, caller), the error expected)
FOREIGN: list[tuple[str, Attempt, type[MedSettleError]]] = [
    ("open a visit in another province's name",
     lambda o, s: ("open_visit", open_payload(), "440000"), Forbidden),
    ("register a visit as a province that does not treat it",
     lambda o, s: ("open_visit", open_payload(), "510000"), Forbidden),
    ("change the admission of another province's visit",
     lambda o, s: ("change_visit", {"mdtrt_id": o.mdtrt_id,
                                    "begntime": "2026-11-01T08:00:00"}, OTHER_PROVINCE),
     Forbidden),
    ("cancel another province's registration",
     lambda o, s: ("cancel_visit", {"mdtrt_id": o.mdtrt_id}, OTHER_PROVINCE), Forbidden),
    ("pre-settle another province's visit",
     lambda o, s: ("pre_settle", settle_payload(o, setl_id=None), OTHER_PROVINCE), Forbidden),
    ("settle another province's visit with made-up lines",
     lambda o, s: ("settle", settle_payload(o), OTHER_PROVINCE), Forbidden),
    ("settle a visit in the name of another institution of the province",
     lambda o, s: ("settle", settle_payload(o, fixmedins_code=OTHER_H), "440000"), Forbidden),
    ("settle a visit for another person",
     lambda o, s: ("settle", settle_payload(o, psn_no=f.WANG["psn_no"]), "440000"),
     InvalidInput),
    ("cancel another province's settlement",
     lambda o, s: ("cancel_settlement", {"setl_id": s.setl_id,
                                         "cancel_setl_id": "310000" + "2" * 24},
                   OTHER_PROVINCE), Forbidden),
    ("cancel a settlement in the name of another institution",
     lambda o, s: ("cancel_settlement", {"setl_id": s.setl_id, "fixmedins_code": OTHER_H,
                                         "cancel_setl_id": "440000" + "2" * 24}, "440000"),
     Forbidden),
    ("reverse another province's settlement by its msgid",
     lambda o, s: ("reverse", {"omsgid": s.msgids["2207"], "oinfno": "2207",
                               "cancel_setl_id": "310000" + "3" * 24,
                               "fixmedins_code": f.SHENZHEN_H}, OTHER_PROVINCE), NotFound),
    ("reverse another institution's settlement by its msgid",
     lambda o, s: ("reverse", {"omsgid": s.msgids["2207"], "oinfno": "2207",
                               "cancel_setl_id": "440000" + "3" * 24,
                               "fixmedins_code": OTHER_H}, "440000"), NotFound),
    ("read the accumulators of a person with no visit in the caller's province",
     lambda o, s: ("accumulations", {"psn_no": f.CHEN["psn_no"]}, OTHER_PROVINCE), Forbidden),
    ("the hub asking for a settlement itself",
     lambda o, s: ("settle", settle_payload(o), "hub"), Forbidden),
]


@pytest.mark.parametrize(("attempt", "error"),
                         [pytest.param(a, e, id=why) for why, a, e in FOREIGN])
def test_a_province_cannot_act_on_what_another_province_or_institution_owns(
        province: Province, open_visit: Visit, settled_visit: Visit, attempt: Attempt,
        error: type[MedSettleError]) -> None:
    op, payload, caller = attempt(open_visit, settled_visit)
    before = province.snapshot()
    with pytest.raises(error):
        call(province, op, payload, caller=caller, msgid=f"M-FOREIGN-{op}")
    assert province.snapshot() == before


BAD_PAYLOADS: list[tuple[str, str, dict[str, Any], str]] = [
    ("settle", "lines not a list", {"lines": "many"}, "payload.lines"),
    ("settle", "a line price not a decimal", {"lines": [
        {"cls": "A", "pric": "eighty", "cnt": "1", "selfpay_prop": "0", "lmt_pric": None,
         "restricted_ok": True}]}, "payload.lines[0].pric"),
    ("settle", "a line class unknown", {"lines": [
        {"cls": "Z", "pric": "1", "cnt": "1", "selfpay_prop": "0", "lmt_pric": None,
         "restricted_ok": True}]}, "payload.lines[0].cls"),
    ("settle", "acct_used a string", {"acct_used": "yes"}, "payload.acct_used"),
    ("settle", "no setl_id", {"setl_id": None}, "payload.setl_id"),
    ("settle", "mdtrt_id a number", {"mdtrt_id": 440000}, "payload.mdtrt_id"),
    ("settle", "visit type unknown", {"visit_type": "dental"}, "payload.visit_type"),
]


@pytest.mark.parametrize(("op", "edit", "field_name"),
                         [pytest.param(op, e, n, id=why) for op, why, e, n in BAD_PAYLOADS])
def test_a_malformed_payload_is_refused_naming_its_field(
        province: Province, open_visit: Visit, op: str, edit: dict[str, Any],
        field_name: str) -> None:
    before = province.snapshot()
    with pytest.raises(InvalidInput) as refused:
        call(province, op, settle_payload(open_visit) | edit, caller="440000",
             msgid="M-BAD-PAYLOAD")
    assert refused.value.field == field_name
    assert province.snapshot() == before


@pytest.mark.parametrize("payload", [None, [], "settle", 7], ids=["null", "list", "text", "int"])
def test_a_payload_that_is_not_an_object_is_refused(province: Province, payload: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        call(province, "cancel_visit", payload, caller="440000")
    assert refused.value.field == "payload"


def test_an_unknown_operation_is_refused_naming_op(province: Province) -> None:
    with pytest.raises(InvalidInput) as refused:
        call(province, "pay_everyone", {}, caller="440000")
    assert refused.value.field == "op"


def test_a_settle_that_arrives_after_its_reversal_is_refused_and_settles_nothing(
        province: Province, chen: Any) -> None:
    visit = new_visit(province, chen)
    reversal = {"omsgid": "H44030400123LATE00000000000001", "oinfno": "2207",
                "cancel_setl_id": "440000" + "4" * 24, "fixmedins_code": f.SHENZHEN_H,
                "psn_no": visit.psn_no}
    assert call(province, "reverse", reversal, caller="440000", msgid="R-LATE-1") == {
        "reversed": False, "already": False}
    before = province.snapshot()
    with pytest.raises(StateConflict, match="reversed"):
        call(province, "settle", settle_payload(visit, setl_id="440000" + "5" * 24),
             caller="440000", msgid=reversal["omsgid"])
    assert province.snapshot() == before
    settled = call(province, "settle", settle_payload(visit, setl_id="440000" + "6" * 24),
                   caller="440000", msgid="H44030400123LATE00000000000002")
    assert settled["setl_id"] == "440000" + "6" * 24  # the visit itself is still open


def test_a_reversal_after_the_settle_cancels_it_and_reports_the_original(
        province: Province, chen: Any) -> None:
    visit = new_visit(province, chen)
    msgid = "H44030400123LATE00000000000003"
    settled = call(province, "settle", settle_payload(visit, setl_id="440000" + "8" * 24),
                   caller="440000", msgid=msgid)
    reversal = {"omsgid": msgid, "oinfno": "2207", "cancel_setl_id": "440000" + "9" * 24,
                "fixmedins_code": f.SHENZHEN_H, "psn_no": visit.psn_no}
    reversed_ = call(province, "reverse", reversal, caller="440000", msgid="R-LATE-3")
    assert reversed_["reversed"] is True
    assert reversed_["original"]["setl_id"] == settled["setl_id"]
    assert reversed_["original"]["amounts"] == settled["amounts"]
    assert reversed_["amounts"]["fund_pay_sumamt"] == -settled["amounts"]["fund_pay_sumamt"]
    again = call(province, "reverse", reversal | {"cancel_setl_id": "440000" + "0" * 24},
                 caller="440000", msgid="R-LATE-4")
    assert again == {"reversed": False, "already": True, "setl_id": settled["setl_id"]}


class LosesFirstAnswer:
    """An insured port whose first call reaches the insured place but whose answer is lost (the
    hub timed out just after the insured node committed)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, insu_admdvs: str, op: str, msgid: str, payload: Any) -> dict[str, Any]:
        self.calls.append((op, msgid, dict(payload)))
        answer: dict[str, Any] = self.inner.call(insu_admdvs, op, msgid, payload)
        if len(self.calls) == 1:
            raise PeerUnavailable("the hub did not answer in time")
        return answer

    def locate(self, certno: str) -> str:
        return str(self.inner.locate(certno))


def test_a_pending_reversal_whose_answer_was_lost_finishes_on_the_next_round(
        province: Province, chen: Any) -> None:
    visit = new_visit(province, chen)
    msgid = "H44030400123LOST00000000000001"
    settled = call(province, "settle", settle_payload(visit, setl_id="440000" + "3" * 24),
                   caller="440000", msgid=msgid)
    with province.node.store.tx() as tx:  # the settle's answer never came back
        tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, manual_reimbursement=True,
                  manual_reason="timeout", reversal_pending=msgid)
    lossy = LosesFirstAnswer(province.node.router)
    treating = replace(province.node.treating, insured=lossy)
    assert retry_pending_reversals(treating, datetime.now(UTC)) == 0
    assert retry_pending_reversals(treating, datetime.now(UTC)) == 1
    first, second = lossy.calls[0], lossy.calls[1]
    assert first == second  # one reversal msgid and one cancel id, whatever the attempt
    assert first[1].startswith("R") and len(first[1]) == 30
    with province.node.store.tx() as tx:
        rows = tx.rows("settlements", mdtrt_id=visit.mdtrt_id, role="insured")
        pending = tx.one("visits", mdtrt_id=visit.mdtrt_id).reversal_pending
    assert sorted((r.kind, r.status) for r in rows) == [("cancel", "settled"),
                                                        ("settle", "cancelled")]
    assert [r.ref_setl_id for r in rows if r.kind == "cancel"] == [settled["setl_id"]]
    assert pending is None
