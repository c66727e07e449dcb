"""2601 of a registration (2201/2401) or a fee upload (2204/2301) whose visit is since settled
is refused with [state_conflict] "cancel the settlement first", as 2202/2404 answer: what the
original did stands, held by the settlement. Before, it answered 无需冲正 ("nothing to
reverse") while the visit stood settled. Once the settlement is cancelled, the same reversal
(a new 2601) undoes the original."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from medsettle.adapters.his.client import HisError, Patient
from tests.api.conftest import Province, Visit, new_visit


def rows(province: Province, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with province.node.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def visit_states(province: Province, visit: Visit) -> tuple[Any, ...]:
    """The visit at the treating and at the insured place, and its active fee lines."""
    return (rows(province, "SELECT status FROM visits WHERE mdtrt_id = :v", v=visit.mdtrt_id),
            rows(province, "SELECT status FROM insured_visits WHERE mdtrt_id = :v",
                 v=visit.mdtrt_id),
            rows(province, "SELECT count(*) FROM fee_details WHERE mdtrt_id = :v AND "
                           "status = 'active'", v=visit.mdtrt_id))


def settled(province: Province, patient: Patient, inpatient: bool) -> Visit:
    visit = new_visit(province, patient, inpatient=inpatient)
    if inpatient:
        visit.flow.discharge()
    visit.setl_id = visit.flow.settle(visit.total, inpatient=inpatient)["setlinfo"]["setl_id"]
    return visit


@pytest.mark.parametrize(("inpatient", "registration", "upload"),
                         [(False, "2201", "2204"), (True, "2401", "2301")],
                         ids=["outpatient", "inpatient"])
def test_reversing_what_a_settlement_holds_is_refused_until_it_is_cancelled(
        province: Province, chen: Patient, inpatient: bool, registration: str,
        upload: str) -> None:
    visit = settled(province, chen, inpatient)
    before = visit_states(province, visit)
    assert before[:2] == ([("settled",)], [("settled",)])
    for infno in (upload, registration):
        with pytest.raises(HisError) as refused:
            visit.flow.reverse(visit.msgids[infno], infno)
        assert refused.value.code == "state_conflict"
        assert "cancel the settlement first" in refused.value.answer["err_msg"]
    assert visit_states(province, visit) == before
    visit.flow.cancel(visit.setl_id, inpatient=inpatient)
    assert visit.flow.reverse(visit.msgids[upload], upload)["memo"].startswith("已冲正")
    assert visit.flow.reverse(visit.msgids[registration],
                              registration)["memo"].startswith("已冲正")
    assert visit_states(province, visit) == ([("cancelled",)], [("cancelled",)], [(0,)])
