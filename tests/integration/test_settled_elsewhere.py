"""R05 reads one business day of the person's settlements in other provinces
(`Tx.settled_elsewhere`), not their whole history: the day is Asia/Shanghai's, its bounds exact,
and only the person's settled settle records of the role, treated outside the province asking,
count (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.benefits import Amounts
from medsettle.core.records import Role, SettlementKind, SettlementRecord, SettlementStatus

DAY = date(2026, 10, 5)  # Shanghai: 2026-10-04 16:00 UTC up to 2026-10-05 16:00 UTC


def record(setl_id: str, at: datetime, *, person: str = "P1", role: Role = Role.INSURED,
           kind: SettlementKind = SettlementKind.SETTLE,
           status: SettlementStatus = SettlementStatus.SETTLED,
           treating: str = "440300") -> SettlementRecord:
    return SettlementRecord(setl_id, role, kind, status, f"V-{setl_id}", person, "510100",
                            treating, f"H{treating}00001", "11", "outpatient", "310", at, "2026",
                            Amounts(*([0] * 16)), f"M-{setl_id}")


def test_one_business_day_of_the_persons_settled_records(database: str) -> None:
    engine = make_engine(database)
    migrate(engine, "province")
    store = Store(engine)
    with store.tx() as tx:
        for r in (
            record("S-eve", datetime(2026, 10, 4, 15, 59, 59, tzinfo=UTC)),  # 23:59:59 the day before
            record("S-first", datetime(2026, 10, 4, 16, 0, tzinfo=UTC)),  # 00:00 on the day
            record("S-noon", datetime(2026, 10, 5, 4, 0, tzinfo=UTC)),
            record("S-last", datetime(2026, 10, 5, 15, 59, 59, tzinfo=UTC)),
            record("S-next", datetime(2026, 10, 5, 16, 0, tzinfo=UTC)),  # 00:00 the day after
            record("S-other", datetime(2026, 10, 5, 4, 0, tzinfo=UTC), person="P2"),
            record("S-cancelled", datetime(2026, 10, 5, 5, 0, tzinfo=UTC),
                   status=SettlementStatus.CANCELLED),
            record("S-treating", datetime(2026, 10, 5, 6, 0, tzinfo=UTC), role=Role.TREATING),
            record("S-same-province", datetime(2026, 10, 5, 7, 0, tzinfo=UTC),
                   treating="310100"),  # Shanghai asks: its own settlements are not elsewhere
        ):
            tx.add_settlement(r)
    with store.read() as tx:
        found = tx.settled_elsewhere("P1", Role.INSURED, DAY, "310000")
        from_guangdong = tx.settled_elsewhere("P1", Role.INSURED, DAY, "440100")
    assert [r.settlement_id for r in found] == ["S-first", "S-noon", "S-last"]
    assert found[1].treating_region == "440300" and found[1].institution == "H44030000001"
    assert [r.settlement_id for r in from_guangdong] == ["S-same-province"]
    engine.dispose()
