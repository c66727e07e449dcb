"""The real-time rules at the insured node: R05's hard stop against the person's settlements of
the day, warnings kept with their evidence, and warn_msg in the HIS answer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.core.benefits import Amounts
from medsettle.core.errors import SettledElsewhereToday
from medsettle.core.lines import FeeLine
from medsettle.core.records import (
    InsuredVisit,
    Role,
    SettlementKind,
    SettlementRecord,
    SettlementStatus,
    VisitStatus,
)
from medsettle.services.supervision_realtime import screen, use_thresholds

NOW = datetime(2026, 10, 5, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
PERSON = SimpleNamespace(insu_admdvs="510100", gend="1", brdy=date(1970, 1, 1))


@pytest.fixture
def store(tmp_path) -> Store:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    migrate(engine, "province")
    use_thresholds(load_threshold_book())
    return Store(engine)


def visit(treating: str = "440300", vtype: str = "inpatient") -> InsuredVisit:
    return InsuredVisit("V2", "P1", treating, f"H{treating}00001", vtype, "21",
                        datetime(2026, 10, 4, 8, 0), VisitStatus.OPEN, "long_term")


def request(*lines: FeeLine) -> SimpleNamespace:
    return SimpleNamespace(lines=lines, level="L3", disease=None)


def earlier_settlement(store: Store, treating: str) -> None:
    zero = Amounts(*([0] * 16))
    with store.tx() as tx:
        tx.add_settlement(SettlementRecord(
            "S1", Role.INSURED, SettlementKind.SETTLE, SettlementStatus.SETTLED, "V1", "P1",
            "510100", treating, f"H{treating}00001", "11", "outpatient", "310",
            datetime(2026, 10, 5, 1, 0, tzinfo=UTC), "2026", zero, "M1"))


def test_same_day_in_another_province_is_refused(store: Store) -> None:
    earlier_settlement(store, "310100")
    with store.tx() as tx, pytest.raises(SettledElsewhereToday, match="R05"):
        screen(tx, visit(), PERSON, request(), NOW, persist=True, settlement_id="S2")


def test_same_day_in_the_same_province_passes(store: Store) -> None:
    earlier_settlement(store, "440100")
    with store.tx() as tx:
        assert screen(tx, visit(), PERSON, request(), NOW, persist=False,
                      settlement_id=None) == ()


def test_warnings_are_returned_and_a_settlements_hits_kept(store: Store) -> None:
    bed = FeeLine(cls="A", price=Decimal("50"), count=Decimal("4"), code="001109000010000")
    above_cap = FeeLine(cls="B", price=Decimal("120"), count=Decimal("1"),
                        cap_price=Decimal("100"), code="XJ01DDD002A00100000001")
    with store.tx() as tx:
        warnings = screen(tx, visit(), PERSON, request(bed, above_cap), NOW, persist=True,
                          settlement_id="S2")
    assert [w[:3] for w in warnings] == ["R03"]  # 4 beds on a 2-day stay; the cap is honoured
    with store.tx() as tx:
        [row] = tx.rows("supervision_hits")
    assert row.rule == "R03" and row.settlement_id == "S2" and row.source == "realtime"
    assert row.document["threshold"] == "r03.daily_caps = 01:1, 02:1, 07:1"


def test_the_gateway_puts_the_warnings_in_warn_msg() -> None:
    from medsettle.adapters.his.gateway import HisGateway
    gateway = HisGateway.__new__(HisGateway)
    gateway.clock = lambda: NOW  # type: ignore[method-assign]
    gateway.t = SimpleNamespace(region="440000")  # type: ignore[assignment]
    answer = gateway.success({}, NOW, SimpleNamespace(warnings=("R03 分解/重复收费: x",) * 20))
    assert answer["infcode"] == 0 and answer["warn_msg"].startswith("R03 分解/重复收费: x; ")
    assert len(answer["warn_msg"]) == 200
    assert gateway.success({}, NOW)["warn_msg"] == ""
