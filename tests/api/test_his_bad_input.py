from tests.api.conftest import Province, Visit


def test_smoke(province: Province, open_visit: Visit, settled_visit: Visit, inpatient_stay: Visit, cancelled_settlement: Visit) -> None:
    print(open_visit, settled_visit.setl_id, inpatient_stay.mdtrt_id)
    print(province.snapshot())
