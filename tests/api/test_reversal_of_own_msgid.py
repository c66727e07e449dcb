"""2601 reverses the sender's own message even when another institution of the province used
the same msgid: msgids are one institution's (his-integration.md §3), so the original is looked
up among the sender's messages only. Before, the other institution's visit or message with that
msgid made the reversal of one's own message fail ([not_found] "is not a visit of …" or "is
not a message of …"); and another institution still cannot reverse anything of one's own."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from medsettle.adapters.his.client import HisError, Patient, VisitFlow
from medsettle.core.errors import PeerUnavailable
from tests.api.conftest import OTHER_H, Province, new_visit


def rows(province: Province, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with province.node.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def status(province: Province, table: str, visit_id: str) -> str:
    return str(rows(province, f"SELECT status FROM {table} WHERE mdtrt_id = :v",
                    v=visit_id)[0][0])


def settlement_status(province: Province, visit_id: str) -> list[tuple[Any, ...]]:
    return rows(province, "SELECT role, status FROM settlements WHERE mdtrt_id = :v AND "
                          "kind = 'settle' ORDER BY role", v=visit_id)


class SettleAnswerLost:
    """The insured port, except that a settle's answer is lost after the insured place made it
    (the HIS gets peer_unavailable, and the message is not kept)."""

    def __init__(self, port: Any) -> None:
        self.port = port

    def call(self, insured_region: str, op: str, msgid: str, request: Any) -> Any:
        answer = self.port.call(insured_region, op, msgid, request)
        if op == "settle":
            raise PeerUnavailable("the insured province did not answer in time")
        return answer

    def locate(self, certno: str) -> str:
        return str(self.port.locate(certno))


def test_a_registration_is_reversed_when_another_institution_used_its_msgid(
        province: Province, chen: Patient) -> None:
    shared = "SAMEMSGID-REGISTRATION-0001"
    mine = VisitFlow(province.signed_in(), chen)
    theirs = VisitFlow(province.signed_in(OTHER_H), chen)
    mine.register(msgid=shared)
    theirs.register(msgid=shared)
    assert mine.reverse(shared, "2201")["memo"].startswith("已冲正")
    assert status(province, "visits", mine.mdtrt_id) == "cancelled"
    assert status(province, "insured_visits", mine.mdtrt_id) == "cancelled"
    assert status(province, "visits", theirs.mdtrt_id) == "open"
    assert status(province, "insured_visits", theirs.mdtrt_id) == "open"


def test_a_settlement_is_reversed_when_another_institution_used_its_msgid(
        province: Province, chen: Patient) -> None:
    visit = new_visit(province, chen)
    shared = "SAMEMSGID-SETTLEMENT-0001"
    visit.flow.settle(visit.total, msgid=shared)
    theirs = VisitFlow(province.signed_in(OTHER_H), chen)
    theirs.register(msgid=shared)
    assert visit.flow.reverse(shared, "2207")["memo"].startswith("已冲正")
    assert settlement_status(province, visit.mdtrt_id) == [("insured", "cancelled"),
                                                           ("treating", "cancelled")]
    assert status(province, "visits", theirs.mdtrt_id) == "open"


def test_an_unanswered_settle_is_reversed_when_another_institution_used_its_msgid(
        province: Province, chen: Patient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settle went unanswered, so the node kept no message of it; the other institution's
    message with the same msgid is kept. The 2601 still reaches the insured place."""
    visit = new_visit(province, chen)
    shared = "SAMEMSGID-UNANSWERED-0001"
    treating = province.node.treating
    monkeypatch.setattr(treating, "insured", SettleAnswerLost(treating.insured))
    with pytest.raises(HisError) as lost:
        visit.flow.settle(visit.total, msgid=shared)
    assert lost.value.code == "peer_unavailable"
    monkeypatch.setattr(treating, "insured", treating.insured.port)
    VisitFlow(province.signed_in(OTHER_H), chen).register(msgid=shared)
    assert rows(province, "SELECT scope FROM message_log WHERE msgid = :m",
                m=shared) == [(f"his:{OTHER_H}",)]
    assert visit.flow.reverse(shared, "2207")["memo"].startswith("已冲正")
    assert settlement_status(province, visit.mdtrt_id) == [("insured", "cancelled")]
    assert rows(province, "SELECT reversal_pending FROM visits WHERE mdtrt_id = :v",
                v=visit.mdtrt_id) == [(None,)]


def test_another_institution_cannot_reverse_ones_messages(
        province: Province, chen: Patient) -> None:
    visit = new_visit(province, chen)
    settle = province.signed_in().msgid()
    visit.flow.settle(visit.total, msgid=settle)
    intruder = VisitFlow(province.signed_in(OTHER_H), chen)
    with pytest.raises(HisError) as refused:  # the insured place finds no settle of theirs
        intruder.reverse(settle, "2207")
    assert refused.value.code == "not_found" and OTHER_H in refused.value.answer["err_msg"]
    for infno in ("2201", "2204"):  # not theirs: nothing of theirs to reverse
        assert intruder.reverse(visit.msgids[infno], infno)["memo"].startswith("无需冲正")
    assert settlement_status(province, visit.mdtrt_id) == [("insured", "settled"),
                                                           ("treating", "settled")]
    assert rows(province, "SELECT count(*) FROM fee_details WHERE mdtrt_id = :v AND "
                          "status = 'active'", v=visit.mdtrt_id) == [(len(visit.serials),)]
    registered = new_visit(province, chen)  # an open visit and its unsettled lines too
    for infno in ("2201", "2204"):
        assert intruder.reverse(registered.msgids[infno], infno)["memo"].startswith("无需冲正")
    assert status(province, "visits", registered.mdtrt_id) == "open"
    assert status(province, "insured_visits", registered.mdtrt_id) == "open"
    assert rows(province, "SELECT count(*) FROM fee_details WHERE mdtrt_id = :v AND "
                          "status = 'active'", v=registered.mdtrt_id) == [
        (len(registered.serials),)]
