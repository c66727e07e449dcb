"""The daily reconciliation lists a cancel the treating node never recorded while it still holds
the settlement in force: the treating node would pay its institution for a settlement the hub
nets to nothing. A cancel of a settlement the treating node never had stays already reversed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from medsettle.services.reconcile import Record, compare

DAY = date(2026, 10, 31)
SETTLE = Record(setl_id="S1", kind="settle", ref_setl_id=None, status="settled", mdtrt_id="M1",
                psn_no="P1", insu_admdvs="510100", mdtrtarea_admvs="440106",
                fixmedins_code="H1", visit_type="inpatient",
                setl_time=datetime(2026, 10, 31, 2, 0, tzinfo=UTC), medfee_sumamt=10_000,
                fund_pay_sumamt=10_000, acct_pay=0, psn_cash_pay=0)
CANCEL = replace(SETTLE, setl_id="C1", kind="cancel", ref_setl_id="S1",
                 setl_time=datetime(2026, 10, 31, 15, 59, 30, tzinfo=UTC),
                 medfee_sumamt=-10_000, fund_pay_sumamt=-10_000)
AT_HUB = [replace(SETTLE, status=""), replace(CANCEL, status="")]
AT_INSURED = [replace(SETTLE, status="cancelled"), CANCEL]


def verdicts(treating: list[Record], hub: list[Record], insured: list[Record],
             day: date = DAY) -> dict[str, tuple[str, str, str]]:
    return {f.setl_id: (f.problem, f.action, f.outcome)
            for f in compare(treating, hub, insured, day)}


def test_a_cancel_whose_answer_the_treating_node_lost_is_listed_for_review() -> None:
    found = verdicts([SETTLE], AT_HUB, AT_INSURED)
    assert found == {"C1": ("cancel_missing_at_treating", "manual_review", "listed")}
    detail = compare([SETTLE], AT_HUB, AT_INSURED, DAY)[0].detail
    assert "still holds S1 as settled" in detail and "2208" in detail


def test_it_is_listed_not_indexed_when_the_hub_lacks_the_cancel_too() -> None:
    found = verdicts([SETTLE], AT_HUB[:1], AT_INSURED)
    assert found == {"C1": ("cancel_missing_at_treating", "manual_review", "listed")}


def test_a_cancel_of_a_settlement_the_treating_node_never_had_is_already_reversed() -> None:
    assert verdicts([], AT_HUB, AT_INSURED) == {
        "S1": ("insured_only", "none", "already_reversed"),
        "C1": ("insured_only", "none", "already_reversed")}


def test_a_cancel_the_treating_node_recorded_too_is_balanced() -> None:
    treating = [replace(SETTLE, status="cancelled"), CANCEL]
    assert verdicts(treating, AT_HUB, AT_INSURED) == {}


def test_a_cancel_whose_original_is_outside_the_days_read_is_listed_for_review() -> None:
    weeks_later = replace(CANCEL, setl_time=datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    found = verdicts([], [replace(weeks_later, status="")], [weeks_later], date(2026, 11, 20))
    assert found == {"C1": ("cancel_missing_at_treating", "manual_review", "listed")}
