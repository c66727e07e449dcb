"""A filing cannot change while the person has an inpatient stay open (domain rule "never during a
stay"): the standing asks the database for open inpatient stays only, so other visits, however
many, neither count nor are read (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.records import InsuredVisit, VisitStatus
from medsettle.services.filings import _standing

PERSON = SimpleNamespace(psn_no="P1", insurance_active=True, commitment_barred_until=None)


def a_visit(visit_id: str, visit_type: str, status: VisitStatus, person: str = "P1"
            ) -> InsuredVisit:
    return InsuredVisit(visit_id, person, "440300", "H44030000001", visit_type, "21",
                        datetime(2026, 10, 4, 8, 0), status, "long_term")


def test_only_an_open_inpatient_stay_of_the_person_locks_their_filings(database: str) -> None:
    engine = make_engine(database)
    migrate(engine, "province")
    store = Store(engine)
    with store.tx() as tx:
        for visit in (a_visit("V1", "inpatient", VisitStatus.SETTLED),
                      a_visit("V2", "outpatient", VisitStatus.OPEN),
                      a_visit("V3", "inpatient", VisitStatus.OPEN, person="P2")):
            tx.add_insured_visit(visit)
    with store.tx() as tx:
        assert _standing(tx, PERSON).open_inpatient_stay is False
        tx.add_insured_visit(a_visit("V4", "inpatient", VisitStatus.OPEN))
        assert _standing(tx, PERSON).open_inpatient_stay is True
    engine.dispose()
