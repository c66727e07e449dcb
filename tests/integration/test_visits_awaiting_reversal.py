"""The heartbeat's look for reversals still to send reads only those visits, on both databases
(it used to read and unseal every visit the node ever registered)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from medsettle.adapters.db.store import Store
from medsettle.core.records import TreatedVisit, VisitStatus
from tests.conftest import migrated_store

BEGINS = datetime(2026, 11, 29, 9, 30)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from migrated_store(request, tmp_path, "province")


def visit(n: int, **changes: object) -> TreatedVisit:
    base = TreatedVisit(visit_id=f"V{n:029d}", person_id=f"P{n}", insured_region="510100",
                        institution="H44010000001", med_type="11", visit_type="outpatient",
                        hospital_no=f"MZ{n}", begins=BEGINS.replace(minute=n),
                        status=VisitStatus.OPEN, insutype="310", msgid=f"M{n}")
    return replace(base, **changes)  # type: ignore[arg-type]


def test_only_manual_visits_with_a_settle_to_reverse_are_found(store: Store) -> None:
    with store.tx() as tx:
        tx.add_treated_visit(visit(1))
        tx.add_treated_visit(visit(2, status=VisitStatus.MANUAL, manual_reason="hub down"))
        tx.add_treated_visit(visit(3, status=VisitStatus.MANUAL, manual_reason="timeout",
                                   reversal_pending="H44010000001202611290930000003"))
        tx.add_treated_visit(visit(4, status=VisitStatus.MANUAL, manual_reason="timeout",
                                   reversal_pending="H44010000001202611290930000004"))
    with store.read() as tx:
        found = tx.visits_awaiting_reversal()
    assert [v.visit_id for v in found] == [visit(3).visit_id, visit(4).visit_id]
    assert found[0].reversal_pending == "H44010000001202611290930000003"
    with store.tx() as tx:  # sent: the visit leaves the list
        tx.change_treated_visit(visit(3).visit_id, reversal_pending=None)
    with store.read() as tx:
        assert [v.visit_id for v in tx.visits_awaiting_reversal()] == [visit(4).visit_id]
