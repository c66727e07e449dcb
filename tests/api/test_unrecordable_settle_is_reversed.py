"""A 2207 that the insured place settled but that the treating place can no longer record
(another terminal cancelled the visit's fee lines with 2205 while the settle was at the insured
place) does not stay settled there: the node reverses it (冲正) at once and tells the HIS so, or,
when the insured place cannot be reached for the reversal, marks the visit as a settle whose
reversal the heartbeat sends until it is done. Before, the insured settlement stood (its
accumulators and ledger charged) while the HIS was told [state_conflict], nothing changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from medsettle.adapters.his.client import HisError, Patient
from medsettle.core.errors import PeerUnavailable
from medsettle.services import failpoints
from medsettle.services.treating_settle import retry_pending_reversals
from tests.api.conftest import OUTPATIENT_LINES, Province, Visit, new_visit


def rows(province: Province, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with province.node.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def accumulators(province: Province, psn_no: str) -> list[tuple[Any, ...]]:
    """The person's accumulators that are not zero (a reversal leaves its rows at 0)."""
    return rows(province, "SELECT year, path, value FROM accumulators WHERE psn_no = :p "
                          "AND value <> 0 ORDER BY year, path", p=psn_no)


def insured_settlements(province: Province, visit: Visit) -> list[tuple[Any, ...]]:
    return rows(province, "SELECT kind, status FROM settlements WHERE mdtrt_id = :v AND "
                          "role = 'insured' ORDER BY kind", v=visit.mdtrt_id)


class Unreachable:
    """The insured port, except that a reversal (op "reverse") does not get through."""

    def __init__(self, port: Any) -> None:
        self.port = port

    def call(self, insured_region: str, op: str, msgid: str, request: Any) -> Any:
        if op == "reverse":
            raise PeerUnavailable("the insured province did not answer in time")
        return self.port.call(insured_region, op, msgid, request)

    def locate(self, certno: str) -> str:
        return str(self.port.locate(certno))


def settle_refused(province: Province, visit: Visit, msgid: str) -> HisError:
    """Settle `visit` while its fees are cancelled from another terminal: the refusal."""
    def cancel_the_fees() -> None:
        body = province.envelope("2205", {"data": {
            "mdtrt_id": visit.mdtrt_id, "psn_no": visit.psn_no, "chrg_bchno": "0000"}},
            insuplc=visit.flow.p.insuplc)
        answer = province.node.gateway.handle(json.dumps(body).encode(), {})
        assert isinstance(answer, dict) and answer["infcode"] == 0, answer

    failpoints.arm("settle.after_insured", cancel_the_fees)
    try:
        with pytest.raises(HisError) as refused:
            visit.flow.settle(visit.total, msgid=msgid)
    finally:
        failpoints.disarm()
    return refused.value


def test_a_settle_the_treating_place_cannot_record_is_reversed_at_the_insured_place(
        province: Province, chen: Patient) -> None:
    visit = new_visit(province, chen)
    before = accumulators(province, chen.psn_no)
    msgid = province.signed_in().msgid()
    refused = settle_refused(province, visit, msgid)
    assert refused.code == "state_conflict"
    assert "reversed (冲正)" in refused.answer["err_msg"]
    assert insured_settlements(province, visit) == [("cancel", "settled"),
                                                    ("settle", "cancelled")]
    assert accumulators(province, chen.psn_no) == before
    assert rows(province, "SELECT count(*) FROM settlements WHERE mdtrt_id = :v AND "
                          "role = 'treating'", v=visit.mdtrt_id) == [(0,)]
    assert rows(province, "SELECT status, manual_reimbursement, reversal_pending FROM visits "
                          "WHERE mdtrt_id = :v", v=visit.mdtrt_id) == [("open", False, None)]
    assert rows(province, "SELECT status FROM insured_visits WHERE mdtrt_id = :v",
                v=visit.mdtrt_id) == [("open",)]
    with pytest.raises(HisError) as again:  # a retry gets the same refusal
        visit.flow.settle(visit.total, msgid=msgid)
    assert again.value.answer["err_msg"] == refused.answer["err_msg"]
    assert insured_settlements(province, visit) == [("cancel", "settled"),
                                                    ("settle", "cancelled")]
    visit.flow.fees(OUTPATIENT_LINES)  # the visit goes on: its new fees settle
    out = visit.flow.settle(visit.total)["setlinfo"]
    assert rows(province, "SELECT status FROM settlements WHERE setl_id = :s ORDER BY role",
                s=out["setl_id"]) == [("settled",), ("settled",)]


def test_when_the_reversal_does_not_get_through_the_node_sends_it_until_done(
        province: Province, chen: Patient, monkeypatch: pytest.MonkeyPatch) -> None:
    visit = new_visit(province, chen)
    before = accumulators(province, chen.psn_no)
    treating = province.node.treating
    monkeypatch.setattr(treating, "insured", Unreachable(treating.insured))
    msgid = province.signed_in().msgid()
    refused = settle_refused(province, visit, msgid)
    assert refused.code == "state_conflict"
    assert "the node reverses (冲正) the insured place's settlement" in refused.answer["err_msg"]
    assert insured_settlements(province, visit) == [("settle", "settled")]
    assert rows(province, "SELECT manual_reimbursement, reversal_pending FROM visits WHERE "
                          "mdtrt_id = :v", v=visit.mdtrt_id) == [(True, msgid)]
    assert retry_pending_reversals(treating, datetime.now(UTC)) == 0  # still unreachable
    monkeypatch.setattr(treating, "insured", treating.insured.port)
    assert retry_pending_reversals(treating, datetime.now(UTC) + timedelta(minutes=11)) == 1
    assert insured_settlements(province, visit) == [("cancel", "settled"),
                                                    ("settle", "cancelled")]
    assert accumulators(province, chen.psn_no) == before
    assert rows(province, "SELECT reversal_pending FROM visits WHERE mdtrt_id = :v",
                v=visit.mdtrt_id) == [(None,)]
