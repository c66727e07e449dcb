"""5206 lets a province read a person's accumulators only where the person has a visit; the
insured node asks the database whether one visit of the person was treated in that province
(`Tx.treated_in`), instead of reading back every visit the person ever had (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.records import InsuredVisit, VisitStatus


def visit(visit_id: str, person: str, treating: str) -> InsuredVisit:
    return InsuredVisit(visit_id, person, treating, f"H{treating}00001", "outpatient", "11",
                        datetime(2026, 10, 5, 4, 0, tzinfo=UTC), VisitStatus.OPEN, "employee")


def test_a_visit_of_the_person_in_the_province_asking(database: str) -> None:
    engine = make_engine(database)
    migrate(engine, "province")
    store = Store(engine)
    with store.tx() as tx:
        tx.add_insured_visit(visit("V1", "P1", "440300"))  # Shenzhen, Guangdong
        tx.add_insured_visit(visit("V2", "P1", "440100"))  # Guangzhou, Guangdong again
        tx.add_insured_visit(visit("V3", "P2", "310100"))  # another person in Shanghai
    with store.read() as tx:
        assert tx.treated_in("P1", "440000") and tx.treated_in("P1", "440300")
        assert not tx.treated_in("P1", "310000")  # P2's visit there is not P1's
        assert tx.treated_in("P2", "310000")
        assert not tx.treated_in("P3", "440000")  # no visit at all
    engine.dispose()
