"""Messages whose answer was lost, then reversed (2601) and sent again, and what one institution
can do to another's messages and patients (in-process: the Guangdong node of conftest.py is
both the treating and the insured place of 陈明).

A HIS that gets no answer reverses the message (冲正) and may later resend it from its retry
queue. The insured place must not hand the resent message the answer the reversal undid: the
treating place would record a settlement, or a visit, that the insured place cancelled.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from medsettle.adapters.his.client import HisError, Patient, VisitFlow
from medsettle.core.ids import derived_id
from medsettle.services import failpoints
from tests.api.conftest import OTHER_H, Province, new_visit
from tests.e2e import fixtures as f


def rows(province: Province, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with province.node.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


@pytest.fixture
def killed_at() -> Iterator[Any]:
    """Arm a failpoint that kills the message there, as a node killed at that moment."""
    def arm(name: str) -> None:
        def crash() -> None:
            raise RuntimeError(f"node killed at {name}")
        failpoints.arm(name, crash)
    yield arm
    failpoints.disarm()


def test_5206_answers_only_for_the_institutions_own_patients(
        province: Province, chen: Patient) -> None:
    """(First in this module: 深圳第二示例医院 has no visit of 陈明 yet.)"""
    visit = new_visit(province, chen)  # 陈明 is a patient of 深圳示例医院 only
    visit.flow.settle(visit.total)
    assert rows(province, "SELECT 1 FROM visits WHERE fixmedins_code = :h", h=OTHER_H) == []
    other = province.signed_in(OTHER_H)
    refused = other.send(other.envelope("5206", {"data": {"psn_no": chen.psn_no}},
                                        insuplc=chen.insuplc))
    assert refused["infcode"] != 0
    assert f"has no visit at {OTHER_H}" in refused["err_msg"]
    assert "cuminfo" not in str(refused)
    mine = province.signed_in().call("5206", {"data": {"psn_no": chen.psn_no}},
                                     insuplc=chen.insuplc)
    assert mine["cuminfo"]


def test_a_settle_resent_after_its_reversal_is_refused_and_nothing_is_settled(
        province: Province, chen: Patient, killed_at: Any) -> None:
    visit = new_visit(province, chen)
    msgid = visit.flow.his.msgid()
    killed_at("settle.after_insured")
    with pytest.raises(HisError):
        visit.flow.settle(visit.total, msgid=msgid)
    failpoints.disarm()
    assert visit.flow.reverse(msgid, "2207")["memo"].startswith("已冲正")
    with pytest.raises(HisError) as refused:
        visit.flow.settle(visit.total, msgid=msgid)  # the HIS's retry queue resends it
    assert "reversed" in str(refused.value)
    assert rows(province, "SELECT role, status FROM settlements WHERE mdtrt_id = :v AND "
                          "kind = 'settle' ORDER BY role", v=visit.mdtrt_id) == [
        ("insured", "cancelled")]
    # the visit itself is still open at both places: a new 2207 settles it once
    settled = visit.flow.settle(visit.total)
    assert settled["setlinfo"]["setl_id"]


def test_a_registration_resent_after_its_reversal_is_refused(
        province: Province, chen: Patient, killed_at: Any) -> None:
    his = province.signed_in(f.SHENZHEN_H)
    flow = VisitFlow(his, chen)
    msgid = his.msgid()
    killed_at("visit.after_insured")
    with pytest.raises(HisError):
        flow.register(msgid=msgid)
    failpoints.disarm()
    visit_id = derived_id("440000", f.SHENZHEN_H, msgid, "visit")
    assert rows(province, "SELECT status FROM insured_visits WHERE mdtrt_id = :v",
                v=visit_id) == [("open",)]
    assert flow.reverse(msgid, "2201")["memo"].startswith("已冲正")
    assert rows(province, "SELECT status FROM insured_visits WHERE mdtrt_id = :v",
                v=visit_id) == [("cancelled",)]
    with pytest.raises(HisError) as refused:
        flow.register(msgid=msgid)
    assert "reversed" in str(refused.value)
    assert rows(province, "SELECT status FROM visits WHERE mdtrt_id = :v", v=visit_id) == []


def _hospital_no(province: Province, visit_id: str) -> str:
    return str(rows(province, "SELECT ipt_otp_no FROM visits WHERE mdtrt_id = :v",
                    v=visit_id)[0][0])


def test_one_institutions_msgid_does_not_block_anothers_cancel(
        province: Province, chen: Patient) -> None:
    """Msgids are one institution's: the same string sent by two hospitals of the province is
    two messages at the insured place too (2202 here; 2404 and 2403 travel the same way)."""
    mine = new_visit(province, chen)
    other = province.signed_in(OTHER_H)
    theirs = VisitFlow(other, chen)
    theirs.register()
    shared = "SAME-MSGID-0001"
    for his, visit_id in ((other, theirs.mdtrt_id), (province.signed_in(), mine.mdtrt_id)):
        answer = his.send(his.envelope("2202", {"data": {
            "psn_no": chen.psn_no, "mdtrt_id": visit_id,
            "ipt_otp_no": _hospital_no(province, visit_id)}}, insuplc=chen.insuplc,
            msgid=shared))
        assert answer["infcode"] == 0, answer["err_msg"]
    assert rows(province, "SELECT status FROM insured_visits WHERE mdtrt_id IN (:a, :b)",
                a=mine.mdtrt_id, b=theirs.mdtrt_id) == [("cancelled",), ("cancelled",)]


def test_one_institutions_msgid_does_not_block_anothers_admission_change(
        province: Province, chen: Patient) -> None:
    mine = new_visit(province, chen, inpatient=True)
    other = province.signed_in(OTHER_H)
    theirs = VisitFlow(other, chen)
    theirs.admit(begntime=datetime.now() - timedelta(days=3))
    when = (datetime.now() - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    for his, visit_id in ((other, theirs.mdtrt_id), (province.signed_in(), mine.mdtrt_id)):
        answer = his.send(his.envelope("2403", {"adminfo": {
            "mdtrt_id": visit_id, "psn_no": chen.psn_no, "begntime": when,
            "adm_dept_codg": "A04", "adm_dept_name": "外科"}}, insuplc=chen.insuplc,
            msgid="SAME-MSGID-2403"))
        assert answer["infcode"] == 0, answer["err_msg"]


@pytest.mark.parametrize("infno", ["3201", "3202"])
def test_a_reconciliation_resent_after_a_crash_keeps_one_report(
        province: Province, chen: Patient, infno: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """3201/3202 keep their report (and 3202 its result file) with the answer: a node killed
    before the answer was kept leaves nothing, and the resent message writes them once."""
    from medsettle.adapters.his import gateway
    his = province.signed_in()
    period = {"setl_optins": "440304", "stmt_begndate": "2026-01-01",
              "stmt_enddate": "2026-01-31", "medfee_sumamt": "100.00",
              "fund_pay_sumamt": "50.00", "fixmedins_setl_cnt": "1"}
    data = (period | {"insutype": "310", "clr_type": "11", "acct_pay": "0.00"}
            if infno == "3201" else period | {"cash_payamt": "50.00", "detail": [
                {"setl_id": "S1", "mdtrt_id": "M1", "psn_no": chen.psn_no,
                 "medfee_sumamt": "100.00", "fund_pay_sumamt": "50.00", "acct_pay": "0.00",
                 "refd_setl_flag": "0"}]})
    envelope = his.envelope(infno, {"data": data})
    keep = gateway.StoredReply.keep
    attempts = []

    def killed_once(self: Any, tx: Any, answer: Any) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("node killed before the answer was kept")
        return keep(self, tx, answer)

    monkeypatch.setattr(gateway.StoredReply, "keep", killed_once)
    assert his.send(envelope)["infcode"] != 0
    assert his.send(envelope)["infcode"] == 0
    assert his.send(envelope)["infcode"] == 0  # answered from the message log
    reports = rows(province, "SELECT report FROM reconciliation_reports WHERE counterpart = :h",
                   h=f.SHENZHEN_H)
    assert sum(envelope["msgid"] in str(r[0]) for r in reports) == 1
    assert len(rows(province, "SELECT file_no FROM his_files WHERE msgid = :m",
                    m=envelope["msgid"])) == (1 if infno == "3202" else 0)
