"""An admission (2401) whose insured province did not answer in time is kept at the treating node
marked for manual reimbursement, but the insured province may still process it late and open
the stay there. Cancelling it (2404, or 2601 of the 2401) now reaches the insured province: the
node reverses the registration there (冲正), at once or, while the province cannot be reached,
from its heartbeat until done; a late admission that had not arrived yet is then refused.
Before, the node skipped the insured province for a manual visit: the stay stayed open there
for ever (and with it the lock an open inpatient stay holds on the person's filings).

The node no longer waits for the HIS to cancel: marking a registration or admission manual
queues its reversal at once, which the heartbeat sends once the insured province answers; the
visit stays manual at the treating node, and a later cancel still works."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from medsettle.adapters.his.client import HisClient, HisError, VisitFlow
from tests.e2e import fixtures as f
from tests.e2e.harness import Federation, query
from tests.e2e.test_federation import patient


def eventually(what: Callable[[], Any], wanted: Callable[[Any], bool], seconds: float = 30
               ) -> Any:
    """`what()` once `wanted` holds of it, or its last value after `seconds`."""
    deadline = time.monotonic() + seconds
    value = what()
    while not wanted(value) and time.monotonic() < deadline:
        time.sleep(0.3)
        value = what()
    return value


def admitted_unanswered(fed: Federation, his: HisClient, person: dict[str, Any],
                        infno: str = "2401") -> tuple[VisitFlow, str]:
    """Admit (or register, 2201) `person` while Sichuan is frozen (peer_unavailable, the visit
    marked manual); Sichuan stays frozen. The flow and the admission's msgid."""
    visit = VisitFlow(his, patient(his, person))
    msgid = his.msgid()
    fed.pause_province("510000")
    with pytest.raises(HisError) as refused:
        if infno == "2401":
            visit.admit(msgid=msgid)
        else:
            visit.register(msgid=msgid)
    assert refused.value.code == "peer_unavailable"
    visit.mdtrt_id = query(fed, "440000", "SELECT mdtrt_id FROM visits WHERE msgid = :m",
                           m=msgid)[0]["mdtrt_id"]
    return visit, msgid


def cancel(his: HisClient, visit: VisitFlow, msgid: str, how: str, oinfno: str = "2401"
           ) -> Any:
    if how == "2601":
        return visit.reverse(msgid, oinfno)
    return his.call("2404", {"data": {"mdtrt_id": visit.mdtrt_id, "psn_no": visit.p.psn_no}},
                    insuplc=visit.p.insuplc)


def stay_at_insured(fed: Federation, visit_id: str) -> list[dict[str, Any]]:
    return query(fed, "510000", "SELECT status FROM insured_visits WHERE mdtrt_id = :m",
                 m=visit_id)


def reversal_pending(fed: Federation, visit_id: str) -> str | None:
    pending: str | None = query(fed, "440000", "SELECT reversal_pending FROM visits WHERE "
                                               "mdtrt_id = :m", m=visit_id)[0]["reversal_pending"]
    return pending


@pytest.mark.parametrize(("how", "person"), [("2601", f.SUN), ("2404", f.WU)],
                         ids=["2601", "2404"])
def test_cancelling_a_manual_admission_cancels_the_stay_the_insured_place_opened_late(
        federation: Federation, how: str, person: dict[str, Any]) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    try:
        visit, msgid = admitted_unanswered(federation, his, person)
    finally:
        federation.resume_province("510000")
    # the late admission reaches Sichuan, unless the node's queued reversal got there first
    eventually(lambda: stay_at_insured(federation, visit.mdtrt_id) or reversal_pending(
        federation, visit.mdtrt_id) is None, bool, 20)
    out = cancel(his, visit, msgid, how)
    assert out["memo"].startswith("已冲正" if how == "2601" else "已撤销")
    assert query(federation, "440000", "SELECT status, reversal_pending FROM visits WHERE "
                                       "mdtrt_id = :m", m=visit.mdtrt_id) == [
        {"status": "cancelled", "reversal_pending": None}]
    time.sleep(1.0)  # whatever Sichuan still had queued from its freeze has been handled
    assert stay_at_insured(federation, visit.mdtrt_id) in ([], [{"status": "cancelled"}])


def test_a_manual_admission_cancelled_while_the_insured_place_is_down_is_reversed_later(
        federation: Federation) -> None:
    his = federation.his("440000", f.SHENZHEN_H)
    try:
        visit, msgid = admitted_unanswered(federation, his, f.ZHENG)
        out = cancel(his, visit, msgid, "2404")  # the reversal does not get through: pending
        assert out["memo"].startswith("已撤销")
        assert query(federation, "440000", "SELECT status, reversal_pending FROM visits WHERE "
                                           "mdtrt_id = :m", m=visit.mdtrt_id) == [
            {"status": "cancelled", "reversal_pending": msgid}]
    finally:
        federation.resume_province("510000")
    pending = eventually(lambda: query(
        federation, "440000", "SELECT reversal_pending FROM visits WHERE mdtrt_id = :m",
        m=visit.mdtrt_id), lambda rows: rows == [{"reversal_pending": None}])
    assert pending == [{"reversal_pending": None}], "the heartbeat sent the reversal"
    time.sleep(1.0)  # whatever Sichuan still had queued from its freeze has been handled
    assert stay_at_insured(federation, visit.mdtrt_id) in ([], [{"status": "cancelled"}])


@pytest.mark.parametrize(("infno", "person"), [("2201", f.ZHAO), ("2401", f.QIAN)],
                         ids=["2201", "2401"])
def test_a_registration_marked_manual_is_reversed_at_the_insured_place_without_a_cancel(
        federation: Federation, infno: str, person: dict[str, Any]) -> None:
    """No 2202/2404/2601 from the HIS: the reversal queued when the visit was marked manual
    reaches Sichuan once it thaws, and whichever of it and the late registration Sichuan works
    off first, no stay is left open there."""
    his = federation.his("440000", f.SHENZHEN_H)
    try:
        visit, msgid = admitted_unanswered(federation, his, person, infno)
        assert query(federation, "440000", "SELECT status, reversal_pending FROM visits WHERE "
                                           "mdtrt_id = :m", m=visit.mdtrt_id) == [
            {"status": "manual", "reversal_pending": msgid}]
    finally:
        federation.resume_province("510000")
    pending = eventually(lambda: reversal_pending(federation, visit.mdtrt_id),
                         lambda value: value is None)
    assert pending is None, "the heartbeat sent the reversal"
    time.sleep(1.0)  # whatever Sichuan still had queued from its freeze has been handled
    assert stay_at_insured(federation, visit.mdtrt_id) in ([], [{"status": "cancelled"}])
    assert query(federation, "510000", "SELECT count(*) AS n FROM insured_visits WHERE "
                                       "psn_no = :p AND status = 'open'",
                 p=person["psn_no"]) == [{"n": 0}]
    assert query(federation, "440000", "SELECT status FROM visits WHERE mdtrt_id = :m",
                 m=visit.mdtrt_id) == [{"status": "manual"}], "still manual at the hospital"

    with pytest.raises(HisError) as resent:  # the HIS resends the registration: as before
        if infno == "2401":
            visit.admit(msgid=msgid)
        else:
            visit.register(msgid=msgid)
    assert resent.value.code == "state_conflict"
    assert "手工报销" in resent.value.answer["err_msg"]

    out = cancel(his, visit, msgid, "2601" if infno == "2201" else "2404", infno)  # works
    assert out["memo"].startswith("已冲正" if infno == "2201" else "已撤销")
    assert query(federation, "440000", "SELECT status, reversal_pending FROM visits WHERE "
                                       "mdtrt_id = :m", m=visit.mdtrt_id) == [
        {"status": "cancelled", "reversal_pending": None}]
    assert stay_at_insured(federation, visit.mdtrt_id) in ([], [{"status": "cancelled"}])
