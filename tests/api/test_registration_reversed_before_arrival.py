"""A registration (2201/2401) reversed (2601) before it reached the insured place stays reversed:
the insured place marks its msgid reversed, so the registration is refused when it arrives late
(a frozen insured province working off its queue) or is resent by the HIS's retry queue, as a
settle reversed before it arrived is (his-integration.md §6). Before, only a registration the
insured place already held was marked, and one that came after the reversal opened a visit
nobody would cancel."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from medsettle.adapters.his.client import HisError, Patient, VisitFlow
from tests.api.conftest import Province


def visits_of(province: Province, msgid: str) -> list[tuple[str, ...]]:
    with province.node.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT v.status, i.status FROM visits v LEFT JOIN insured_visits i "
            "ON i.mdtrt_id = v.mdtrt_id WHERE v.msgid = :m"), {"m": msgid})]


@pytest.mark.parametrize("infno", ["2201", "2401"])
def test_a_registration_reversed_before_it_arrived_is_refused_when_it_comes(
        province: Province, chen: Patient, infno: str) -> None:
    his = province.signed_in()
    flow = VisitFlow(his, chen)
    msgid = his.msgid()
    assert flow.reverse(msgid, infno)["memo"].startswith("无需冲正")
    with pytest.raises(HisError) as refused:
        if infno == "2201":
            flow.register(msgid=msgid)
        else:
            flow.admit(begntime=datetime.now() - timedelta(hours=1), msgid=msgid)
    assert refused.value.code == "state_conflict"
    assert "reversed" in refused.value.answer["err_msg"]
    assert visits_of(province, msgid) == []
