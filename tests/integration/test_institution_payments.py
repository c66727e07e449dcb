"""A treating province pays its institutions what each month owes them: a record dated in a month
already paid (a cancel whose lost answer a resend of 2208 recovers weeks later) is paid back by
a later payment, and a refused amount (拒付) is netted once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core import ledger
from medsettle.core.clearing import YearMonth
from medsettle.services import clearing as svc
from medsettle.services import credit
from medsettle.services.ledger import post, stored_chain

OCT, NOV, DEC = YearMonth(2026, 10), YearMonth(2026, 11), YearMonth(2026, 12)
AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
           "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "hifmi_pay",
           "hifob_pay", "cvlserv_pay", "maf_pay", "psn_part_amt", "psn_cash_pay")
BASE = dict.fromkeys(AMOUNTS, 0) | {
    "role": "treating", "mdtrt_id": "M1", "psn_no": "P1", "insu_admdvs": "510100",
    "mdtrtarea_admvs": "440106", "fixmedins_code": "H1", "med_type": "21",
    "visit_type": "inpatient", "insutype": "310", "medical_year": "2026"}
SETTLED_AT = datetime(2026, 10, 10, 2, 0, tzinfo=UTC)
CANCELLED_AT = datetime(2026, 10, 31, 15, 59, 30, tzinfo=UTC)  # 23:59:30 on 31 Oct, Shanghai


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'province.db'}")
    migrate(engine, "province")
    yield Store(engine)
    engine.dispose()


def designate_h1(node: Store) -> None:
    with node.tx() as tx:
        tx.add("institutions", {"fixmedins_code": "H1", "name": "某医院", "admdvs": "440106",
                                "hosp_lv": "02", "level": "L3", "suspended": False,
                                "networked": True, "chronic_opened": []})


def decide(node: Store, case_id: str, refused: int, when: datetime) -> None:
    """A supervision case on H1 decided at the hub, told to this treating node."""
    with node.tx() as tx:
        credit.apply_decision(tx, case_id=case_id, institution="H1", insured="510000",
                              severity="minor", refused=refused, now=when, actor="node:hub")


def settle(node: Store, setl_id: str, amount: int, when: datetime = SETTLED_AT) -> None:
    """A cross-province settlement of H1 with its treating-place entry."""
    with node.tx() as tx:
        tx.add("settlements", BASE | {
            "setl_id": setl_id, "kind": "settle", "status": "settled", "ref_setl_id": None,
            "setl_time": when, "msgid": "X" + setl_id, "medfee_sumamt": amount,
            "fund_pay_sumamt": amount})
        post(tx, ledger.balanced(f"settle:treating:{setl_id}", "settle", setl_id, when, [
            ("receivable:province:510000", amount), ("payable:institution:H1", -amount)]))


def cancel_late(node: Store, setl_id: str, amount: int, booked: datetime) -> None:
    """The treating node records a cancel of `setl_id` dated 31 October, on `booked`: the
    insured place answered a resent 2208 with its standing cancel (its own, earlier time)."""
    with node.tx() as tx:
        tx.change("settlements", {"setl_id": setl_id, "role": "treating"}, status="cancelled")
        tx.add("settlements", BASE | {
            "setl_id": "C" + setl_id, "kind": "cancel", "status": "settled",
            "ref_setl_id": setl_id, "setl_time": CANCELLED_AT, "msgid": "Y" + setl_id,
            "medfee_sumamt": -amount, "fund_pay_sumamt": -amount})
        post(tx, ledger.balanced(f"cancel:treating:C{setl_id}", "cancel", setl_id, booked, [
            ("receivable:province:510000", -amount), ("payable:institution:H1", amount)]))


def pay(node: Store, month: YearMonth, at: datetime) -> dict[str, int]:
    with node.tx() as tx:
        return svc.pay_institutions(tx, month, at)


def book(node: Store) -> tuple[dict[str, int], list[str]]:
    """The node's balances and its institution payment entries, after checking its chain."""
    with node.tx() as tx:
        chain = stored_chain(tx.rows("ledger_entries", order_by="seq"))
    assert ledger.verify(chain) is None
    return (ledger.balances(chain),
            [c.entry.entry_id for c in chain if c.entry.kind == "institution_paid"])


def test_a_cancel_recorded_after_its_month_was_paid_is_taken_back_when_the_month_is_paid_again(
        node: Store) -> None:
    settle(node, "S1", 10_000)
    assert pay(node, OCT, datetime(2026, 11, 20, tzinfo=UTC)) == {"H1": 10_000}
    cancel_late(node, "S1", 10_000, datetime(2026, 11, 22, tzinfo=UTC))
    assert pay(node, OCT, datetime(2026, 11, 25, tzinfo=UTC)) == {"H1": -10_000}
    assert pay(node, OCT, datetime(2026, 11, 26, tzinfo=UTC)) == {}  # nothing new: nothing paid
    balances, payments = book(node)
    assert balances.get("payable:institution:H1", 0) == 0
    assert payments == ["pay-institution:2026-10:H1", "pay-institution:2026-10:H1:2"]


def test_the_next_months_payment_takes_back_a_cancel_dated_in_a_month_already_paid(
        node: Store) -> None:
    settle(node, "S1", 10_000)
    settle(node, "S2", 4_000, datetime(2026, 11, 5, tzinfo=UTC))
    assert pay(node, OCT, datetime(2026, 11, 20, tzinfo=UTC)) == {"H1": 10_000}
    cancel_late(node, "S1", 10_000, datetime(2026, 11, 22, tzinfo=UTC))
    # November's payment: 4,000 of November, −10,000 for October's cancel
    assert pay(node, NOV, datetime(2026, 12, 20, tzinfo=UTC)) == {"H1": -6_000}
    assert pay(node, DEC, datetime(2027, 1, 20, tzinfo=UTC)) == {}
    balances, payments = book(node)
    assert balances.get("payable:institution:H1", 0) == 0 and balances["bank:440000"] == -4_000
    assert payments == ["pay-institution:2026-10:H1", "pay-institution:2026-10:H1:2",
                        "pay-institution:2026-11:H1"]


def test_a_month_not_paid_yet_is_not_paid_by_a_later_months_payment(node: Store) -> None:
    settle(node, "S1", 10_000)  # October, whose statement the hub has not paid
    settle(node, "S2", 4_000, datetime(2026, 11, 5, tzinfo=UTC))
    assert pay(node, NOV, datetime(2026, 12, 20, tzinfo=UTC)) == {"H1": 4_000}
    assert pay(node, OCT, datetime(2026, 12, 21, tzinfo=UTC)) == {"H1": 10_000}
    balances, _ = book(node)
    assert balances.get("payable:institution:H1", 0) == 0


def test_a_refused_amount_is_netted_from_the_payment_of_the_month_it_was_decided_in(
        node: Store) -> None:
    designate_h1(node)
    settle(node, "S1", 10_000)
    decide(node, "CASE1", 3_000, datetime(2026, 11, 4, tzinfo=UTC))
    # October is paid after the decision, but the case was decided in November
    assert pay(node, OCT, datetime(2026, 11, 20, tzinfo=UTC)) == {"H1": 10_000}
    assert pay(node, NOV, datetime(2026, 12, 20, tzinfo=UTC)) == {"H1": -3_000}
    assert pay(node, NOV, datetime(2026, 12, 21, tzinfo=UTC)) == {}  # netted once
    assert pay(node, DEC, datetime(2027, 1, 20, tzinfo=UTC)) == {}
    balances, _ = book(node)
    assert balances.get("payable:institution:H1", 0) == 0
    assert balances["bank:440000"] == -7_000 and balances["receivable:province:510000"] == 7_000


def test_a_refusal_is_netted_against_the_months_payment_and_a_case_refusing_nothing_is_not(
        node: Store) -> None:
    designate_h1(node)
    settle(node, "S1", 10_000, datetime(2026, 11, 2, tzinfo=UTC))
    decide(node, "CASE1", 2_500, datetime(2026, 11, 9, tzinfo=UTC))
    decide(node, "CASE2", 0, datetime(2026, 11, 10, tzinfo=UTC))
    assert pay(node, NOV, datetime(2026, 12, 20, tzinfo=UTC)) == {"H1": 7_500}
    with node.tx() as tx:
        netted = [(str(r.entry_id), str(r.ref)) for r in tx.rows("ledger_entries")
                  if r.kind == "refusal_netted"]
    balances, _ = book(node)
    assert netted == [("refusal-netted:CASE1", "2026-11:H1")]
    assert balances.get("payable:institution:H1", 0) == 0
