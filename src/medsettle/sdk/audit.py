"""Pre-event and in-event audit (事前事中): 3101 and 3103.

The HIS names each patient's current visit and may add orders not billed yet; the answer lists
each rule hit (`result[]`), empty when the audit found nothing.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from medsettle.sdk.base import Request
from medsettle.sdk.types import Answer, Count, Id, Message, OptText, Price, Yuan


class AuditOrder(Message):
    """`fsi_order_dtos[]`: an order (处方/医嘱) not billed yet."""

    rx_id: Id
    hilist_code: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    hilist_name: OptText = ""
    cnt: Count
    pric: Price


class AuditEncounter(Message):
    """`fsi_encounter_dtos[]`: a visit and its orders."""

    mdtrt_id: OptText = ""
    fsi_order_dtos: list[AuditOrder] = []


class AuditPatient(Message):
    """`patient_dtos[]`: a patient (`patn_id` is the psn_no) and the visit to audit."""

    patn_id: Id
    curr_mdtrt_id: Id
    fsi_encounter_dtos: list[AuditEncounter] = []


class AuditTask(Message):
    """3101/3103 `data`."""

    syscode: OptText = ""
    task_id: OptText = ""
    trig_scen: OptText = ""
    rule_ids: list[str] | str | None = None
    patient_dtos: list[AuditPatient]


class AuditDetail(Answer):
    """`judge_result_detail_dtos[]`: a line or order a finding names."""

    jrd_id: str = ""
    rx_id: str = ""
    vola_item_type: str = ""


class AuditFinding(Answer):
    """`result[]`: one rule hit."""

    jr_id: str
    rule_id: str
    rule_name: str = ""
    vola_cont: str = ""
    patn_id: str = ""
    mdtrt_id: str = ""
    vola_amt: Yuan | None = None
    sev_deg: str = ""
    judge_result_detail_dtos: list[AuditDetail] = []


class AuditAnswer(Answer):
    """3101/3103 output: the findings, none when the audit passed."""

    result: list[AuditFinding]


class PreEventAuditRequest(Request[AuditAnswer]):
    """3101 pre-event audit (明细审核事前分析)."""

    INFNO = "3101"
    READ_ONLY = True
    PERSON = False
    data: AuditTask


class InEventAuditRequest(PreEventAuditRequest):
    """3103 in-event audit (明细审核事中分析)."""

    INFNO = "3103"
