"""2403: a corrected admission time is checked again by the insured place and kept."""

from __future__ import annotations

from datetime import timedelta

import pytest

from medsettle.adapters.his.client import HisError, Patient, VisitFlow, beijing_now
from tests.api.conftest import Province


def test_a_corrected_admission_time_is_kept_on_both_sides(province: Province,
                                                         chen: Patient) -> None:
    his = province.signed_in()
    stay = VisitFlow(his, chen)
    admitted = beijing_now().replace(microsecond=0) - timedelta(days=2)
    stay.admit(begntime=admitted)
    earlier = admitted - timedelta(days=1)
    out = his.call("2403", {"adminfo": {"mdtrt_id": stay.mdtrt_id, "psn_no": chen.psn_no,
                                        "begntime": earlier.strftime("%Y-%m-%d %H:%M:%S"),
                                        "med_type": "28"}}, insuplc=chen.insuplc)
    assert out == {"mdtrt_id": stay.mdtrt_id, "memo": "已变更：begntime, med_type"}
    with province.node.store.tx() as tx:
        treating = tx.one("visits", mdtrt_id=stay.mdtrt_id)
        insured = tx.one("insured_visits", mdtrt_id=stay.mdtrt_id)
    assert treating.begntime == earlier and treating.med_type == "28"
    assert insured.begntime == earlier


def test_an_outpatient_medical_type_is_refused_naming_the_field(province: Province,
                                                                chen: Patient) -> None:
    his = province.signed_in()
    stay = VisitFlow(his, chen)
    stay.admit()
    with pytest.raises(HisError, match="med_type"):
        his.call("2403", {"adminfo": {"mdtrt_id": stay.mdtrt_id, "psn_no": chen.psn_no,
                                      "med_type": "11"}}, insuplc=chen.insuplc)
