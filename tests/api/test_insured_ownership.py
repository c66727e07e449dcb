"""The insured node acts only for the province that owns what a call touches, checks every
payload field, and refuses a settle that arrives after its reversal (in-process, no hub).

The Guangdong node of tests/api/conftest.py insures 陈明 and treats him at 深圳示例医院; its
federation operations are called here directly as another province (or the hub) would reach
them through the hub, naming the caller the hub would name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from medsettle.core.calendar import business_date
from medsettle.core.errors import (
    Forbidden,
    InvalidInput,
    MedSettleError,
    NotFound,
    PeerUnavailable,
    StateConflict,
)
from medsettle.core.jsonform import decode, encode
from medsettle.services.exchange import REQUESTS
from medsettle.services.insured_ops import run_op
from medsettle.services.treating_settle import retry_pending_reversals
from tests.api.conftest import CHEN_FILING, OTHER_H, Province, Visit, new_visit
from tests.e2e import fixtures as f

OTHER_PROVINCE = "310000"  # Shanghai: it treats none of 陈明's visits here


def call(province: Province, op: str, payload: Any, *, caller: str,
         msgid: str = "M-OWNERSHIP-1") -> Any:
    """Run an operation as the insured node's route does: the JSON payload read into the
    operation's typed request (core/jsonform), then run for `caller`; the answer as JSON."""
    request = decode(REQUESTS[op], payload)
    return encode(run_op(province.node.store, province.node.book, op, msgid, request,
                         datetime.now(UTC), caller))


def settle_payload(visit: Visit, **changes: Any) -> dict[str, Any]:
    line = {"cls": "A", "price": "80.00", "count": "1", "selfpay_prop": "0",
            "cap_price": None, "restricted_ok": True, "code": f.DRUG_A}
    return {"visit_id": visit.mdtrt_id, "settlement_id": "440000" + "7" * 24,
            "person_id": visit.psn_no, "insutype": "310", "visit_type": "outpatient",
            "med_type": "11", "disease": None, "level": "L3", "deductible_level": None,
            "use_account": False, "lines": [line], "institution": f.SHENZHEN_H,
            "treating_region": "440300", "insured_region": "440100",
            "disease_opened": True} | changes


def open_payload(**changes: Any) -> dict[str, Any]:
    return {"visit_id": "440000" + "1" * 24, "person_id": f.CHEN["psn_no"], "insutype": "310",
            "visit_type": "outpatient", "med_type": "11", "treating_region": "310104",
            "institution": "H31010400077", "begins": "2026-11-20T09:00:00",
            "emergency": False, "disease": None, "cert_type": "02", "cert_no": f.CHEN["certno"],
            "card_sn": None} | changes


def referral_payload(**changes: Any) -> dict[str, Any]:
    return {"person_id": f.CHEN["psn_no"], "destination": "310100",
            "begins": business_date(datetime.now(UTC)).isoformat(),
            "institution": f.SHANGHAI_H} | changes


Attempt = Callable[[Visit, Visit], tuple[str, dict[str, Any], str]]

#: (why, attempt(open visit, settled visit) → (op, payload, caller), the error expected)
FOREIGN: list[tuple[str, Attempt, type[MedSettleError]]] = [
    ("open a visit in another province's name",
     lambda o, s: ("open_visit", open_payload(), "440000"), Forbidden),
    ("register a visit as a province that does not treat it",
     lambda o, s: ("open_visit", open_payload(), "510000"), Forbidden),
    ("open a visit knowing only the person number (no credential)",
     lambda o, s: ("open_visit", open_payload(treating_region="440300", cert_type=None,
                                              cert_no=None), "440000"), InvalidInput),
    ("open a visit showing another person's ID card",
     lambda o, s: ("open_visit", open_payload(treating_region="440300",
                                              cert_no=f.WANG["certno"]), "440000"), NotFound),
    ("open a visit showing an ID card no insured person holds",
     lambda o, s: ("open_visit", open_payload(treating_region="440300",
                                              cert_no=f.make_id_card("11010519700101001")),
                   "440000"), NotFound),
    ("file a referral into a third province",
     lambda o, s: ("file_referral", referral_payload(destination="510100"), OTHER_PROVINCE),
     Forbidden),
    ("change the admission of another province's visit",
     lambda o, s: ("change_visit", {"visit_id": o.mdtrt_id, "begins": "2026-11-01T08:00:00",
                                    "institution": f.SHENZHEN_H}, OTHER_PROVINCE),
     Forbidden),
    ("change the admission of another institution's visit",
     lambda o, s: ("change_visit", {"visit_id": o.mdtrt_id, "begins": "2026-11-01T08:00:00",
                                    "institution": OTHER_H}, "440000"), Forbidden),
    ("cancel another province's registration",
     lambda o, s: ("cancel_visit", {"visit_id": o.mdtrt_id, "institution": f.SHENZHEN_H},
                   OTHER_PROVINCE), Forbidden),
    ("cancel another institution's registration",
     lambda o, s: ("cancel_visit", {"visit_id": o.mdtrt_id, "institution": OTHER_H},
                   "440000"), Forbidden),
    ("pre-settle another province's visit",
     lambda o, s: ("pre_settle", settle_payload(o, settlement_id=None), OTHER_PROVINCE), Forbidden),
    ("settle another province's visit with made-up lines",
     lambda o, s: ("settle", settle_payload(o), OTHER_PROVINCE), Forbidden),
    ("settle a visit in the name of another institution of the province",
     lambda o, s: ("settle", settle_payload(o, institution=OTHER_H), "440000"), Forbidden),
    ("settle a visit naming another province as the insured place (cleared to it)",
     lambda o, s: ("settle", settle_payload(o, insured_region="510100"), "440000"),
     InvalidInput),
    ("settle a visit for another person",
     lambda o, s: ("settle", settle_payload(o, person_id=f.WANG["psn_no"]), "440000"),
     InvalidInput),
    ("cancel another province's settlement",
     lambda o, s: ("cancel_settlement", {"settlement_id": s.setl_id,
                                         "cancel_id": "310000" + "2" * 24},
                   OTHER_PROVINCE), Forbidden),
    ("cancel a settlement in the name of another institution",
     lambda o, s: ("cancel_settlement", {"settlement_id": s.setl_id, "institution": OTHER_H,
                                         "cancel_id": "440000" + "2" * 24}, "440000"),
     Forbidden),
    ("reverse another province's settlement by its msgid",
     lambda o, s: ("reverse", {"original": s.msgids["2207"], "original_infno": "2207",
                               "cancel_id": "310000" + "3" * 24,
                               "institution": f.SHENZHEN_H}, OTHER_PROVINCE), NotFound),
    ("reverse another institution's settlement by its msgid",
     lambda o, s: ("reverse", {"original": s.msgids["2207"], "original_infno": "2207",
                               "cancel_id": "440000" + "3" * 24,
                               "institution": OTHER_H}, "440000"), NotFound),
    ("read the accumulators of a person with no visit in the caller's province",
     lambda o, s: ("accumulations", {"person_id": f.CHEN["psn_no"]}, OTHER_PROVINCE), Forbidden),
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


def test_a_referral_is_revoked_only_by_the_institution_that_filed_it(
        province: Province) -> None:
    """2501 through the hub (Shanghai files for 陈明 into Shanghai) records who filed; 2502 by
    another province, by another institution of the same province, or for a filing the person
    made, changes nothing."""
    filed = call(province, "file_referral", referral_payload(), caller=OTHER_PROVINCE,
                 msgid="M-REFERRAL-1")
    revoke = {"person_id": f.CHEN["psn_no"], "filing_no": filed["filing_no"],
              "institution": f.SHANGHAI_H}
    before = province.snapshot()
    for caller, edit in (("440000", {}), ("440000", {"institution": f.SHENZHEN_H}),
                         (OTHER_PROVINCE, {"institution": "H31010400078"}),
                         (OTHER_PROVINCE, {"filing_no": CHEN_FILING["filing_no"]})):
        with pytest.raises((Forbidden, NotFound)):
            call(province, "revoke_filing", revoke | edit, caller=caller, msgid="M-REVOKE-X")
    assert province.snapshot() == before
    done = call(province, "revoke_filing", revoke, caller=OTHER_PROVINCE, msgid="M-REVOKE-1")
    assert done == {"filing_no": filed["filing_no"], "revoked": True}
    with province.node.store.engine.connect() as conn:
        stored = conn.execute(text("SELECT status, filed_by_node, filed_by_institution "
                                   "FROM filings WHERE filing_no = :n"),
                              {"n": filed["filing_no"]}).one()
    assert tuple(stored) == ("cancelled", OTHER_PROVINCE, f.SHANGHAI_H)


BAD_PAYLOADS: list[tuple[str, str, dict[str, Any], str]] = [
    ("settle", "lines not a list", {"lines": "many"}, "payload.lines"),
    ("settle", "a line price not a decimal", {"lines": [
        {"cls": "A", "price": "eighty", "count": "1", "selfpay_prop": "0", "cap_price": None,
         "restricted_ok": True}]}, "payload.lines[0].price"),
    ("settle", "a line price a float", {"lines": [
        {"cls": "A", "price": 80.0, "count": "1", "selfpay_prop": "0", "cap_price": None,
         "restricted_ok": True}]}, "payload.lines[0].price"),
    ("settle", "a line class unknown", {"lines": [
        {"cls": "Z", "price": "1", "count": "1", "selfpay_prop": "0", "cap_price": None,
         "restricted_ok": True}]}, "payload.lines[0].cls"),
    ("settle", "use_account a string", {"use_account": "yes"}, "payload.use_account"),
    ("settle", "visit_id a number", {"visit_id": 440000}, "payload.visit_id"),
    ("settle", "no person_id", {"person_id": None}, "payload.person_id"),
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


def test_an_unknown_operation_or_a_request_of_another_kind_is_refused(
        province: Province) -> None:
    node, now = province.node, datetime.now(UTC)
    with pytest.raises(InvalidInput) as refused:
        run_op(node.store, node.book, "pay_everyone", "M", object(), now, "440000")
    assert refused.value.field == "op"
    with pytest.raises(InvalidInput) as refused:
        run_op(node.store, node.book, "settle", "M", {"visit_id": "V"}, now, "440000")
    assert refused.value.field == "payload"


def test_a_settle_that_arrives_after_its_reversal_is_refused_and_settles_nothing(
        province: Province, chen: Any) -> None:
    visit = new_visit(province, chen)
    reversal = {"original": "H44030400123LATE00000000000001", "original_infno": "2207",
                "cancel_id": "440000" + "4" * 24, "institution": f.SHENZHEN_H,
                "person_id": visit.psn_no}
    assert call(province, "reverse", reversal, caller="440000", msgid="R-LATE-1") == {
        "reversed": False, "already": False, "cancelled": None, "visit_id": None}
    before = province.snapshot()
    with pytest.raises(StateConflict, match="reversed"):
        call(province, "settle", settle_payload(visit, settlement_id="440000" + "5" * 24),
             caller="440000", msgid=reversal["original"])
    assert province.snapshot() == before
    settled = call(province, "settle", settle_payload(visit, settlement_id="440000" + "6" * 24),
                   caller="440000", msgid="H44030400123LATE00000000000002")
    assert settled["settlement_id"] == "440000" + "6" * 24  # the visit itself is still open


def test_a_reversal_after_the_settle_cancels_it_and_reports_the_original(
        province: Province, chen: Any) -> None:
    visit = new_visit(province, chen)
    msgid = "H44030400123LATE00000000000003"
    settled = call(province, "settle", settle_payload(visit, settlement_id="440000" + "8" * 24),
                   caller="440000", msgid=msgid)
    reversal = {"original": msgid, "original_infno": "2207", "cancel_id": "440000" + "9" * 24,
                "institution": f.SHENZHEN_H, "person_id": visit.psn_no}
    reversed_ = call(province, "reverse", reversal, caller="440000", msgid="R-LATE-3")
    assert reversed_["reversed"] is True
    cancelled = reversed_["cancelled"]
    assert cancelled["original"]["settlement_id"] == settled["settlement_id"]
    assert cancelled["original"]["amounts"] == settled["amounts"]
    assert cancelled["cancel"]["amounts"]["fund_pay_sumamt"] == -settled["amounts"][
        "fund_pay_sumamt"]
    again = call(province, "reverse", reversal | {"cancel_id": "440000" + "0" * 24},
                 caller="440000", msgid="R-LATE-4")
    assert again["reversed"] is False and again["already"] is True


class LosesFirstAnswer:
    """An insured port whose first call reaches the insured place but whose answer is lost (the
    hub timed out just after the insured node committed)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, Any]] = []

    def call(self, insured_region: str, op: str, msgid: str, request: Any) -> Any:
        self.calls.append((op, msgid, request))
        answer = self.inner.call(insured_region, op, msgid, request)
        if len(self.calls) == 1:
            raise PeerUnavailable("the hub did not answer in time")
        return answer

    def locate(self, certno: str) -> str:
        return str(self.inner.locate(certno))


def test_a_pending_reversal_whose_answer_was_lost_finishes_on_the_next_round(
        province: Province, chen: Any) -> None:
    visit = new_visit(province, chen)
    msgid = "H44030400123LOST00000000000001"
    settled = call(province, "settle", settle_payload(visit, settlement_id="440000" + "3" * 24),
                   caller="440000", msgid=msgid)
    with province.node.store.tx() as tx:  # the settle's answer never came back
        tx.change("visits", {"mdtrt_id": visit.mdtrt_id}, manual_reimbursement=True,
                  manual_reason="timeout", reversal_pending=msgid)
    lossy = LosesFirstAnswer(province.node.router)
    treating = replace(province.node.treating, insured=lossy)
    now = datetime.now(UTC)
    assert retry_pending_reversals(treating, now) == 0
    assert retry_pending_reversals(treating, now + timedelta(seconds=2)) == 1  # its backoff
    first, second = lossy.calls[0], lossy.calls[1]
    assert first == second  # one reversal msgid and one cancel id, whatever the attempt
    assert first[1].startswith("R") and len(first[1]) == 30
    with province.node.store.tx() as tx:
        rows = tx.rows("settlements", mdtrt_id=visit.mdtrt_id, role="insured")
        pending = tx.one("visits", mdtrt_id=visit.mdtrt_id).reversal_pending
    assert sorted((r.kind, r.status) for r in rows) == [("cancel", "settled"),
                                                        ("settle", "cancelled")]
    assert [r.ref_setl_id for r in rows if r.kind == "cancel"] == [settled["settlement_id"]]
    assert pending is None
