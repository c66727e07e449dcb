"""3201: a period whose refunds outweigh its settlements has negative totals and count at the
node (a cancel counts −1 with negative amounts in its own period); the institution declares them
as they are, and bad totals are still refused naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.his.inputs_other import parse_reconcile_totals
from medsettle.adapters.his.outputs import yuan
from medsettle.core.errors import InvalidInput
from medsettle.services import institution_reconcile as rc

AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
           "inscp_scp_amt", "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "hifmi_pay",
           "hifob_pay", "cvlserv_pay", "maf_pay", "psn_part_amt", "psn_cash_pay")
PERIOD = {"insutype": "310", "clr_type": "11", "setl_optins": "440300",
          "stmt_begndate": "2026-11-01", "stmt_enddate": "2026-11-30"}


def declared(**totals: Any) -> dict[str, object]:
    return {"data": PERIOD | {"medfee_sumamt": "0", "fund_pay_sumamt": "0", "acct_pay": "0",
                              "fixmedins_setl_cnt": 0} | totals}


def test_the_institution_declares_the_nodes_negative_totals_of_a_period_with_only_a_refund(
        tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'province.db'}")
    migrate(engine, "province")
    node = Store(engine)
    base = dict.fromkeys(AMOUNTS, 0) | {
        "role": "treating", "status": "settled", "mdtrt_id": "M1", "psn_no": "P1",
        "insu_admdvs": "510100", "mdtrtarea_admvs": "440306", "fixmedins_code": "H1",
        "med_type": "11", "visit_type": "outpatient", "insutype": "310",
        "medical_year": "2026", "msgid": "X"}
    with node.tx() as tx:
        tx.add_many("settlements", [
            base | {"setl_id": "S1", "kind": "settle", "ref_setl_id": None,  # 31 Oct 23:00
                    "setl_time": datetime(2026, 10, 31, 15, 0, tzinfo=UTC),
                    "medfee_sumamt": 30_000, "fund_pay_sumamt": 20_000, "acct_pay": 5_000},
            base | {"setl_id": "C1", "kind": "cancel", "ref_setl_id": "S1",  # 1 Nov 09:00
                    "setl_time": datetime(2026, 11, 1, 1, 0, tzinfo=UTC),
                    "medfee_sumamt": -30_000, "fund_pay_sumamt": -20_000, "acct_pay": -5_000}])
    totals = rc.totals_of(rc.of_clearing_type(
        rc.records(node, "H1", date(2026, 11, 1), date(2026, 11, 30)), "310", "11"))
    engine.dispose()
    assert totals.as_dict() == {"count": -1, "medfee_sumamt": -30_000,
                                "fund_pay_sumamt": -20_000, "acct_pay": -5_000}
    parsed = parse_reconcile_totals(declared(
        medfee_sumamt=yuan(totals.medfee_sumamt), fund_pay_sumamt=yuan(totals.fund_pay_sumamt),
        acct_pay=yuan(totals.acct_pay), fixmedins_setl_cnt=totals.count))
    assert (parsed.fixmedins_setl_cnt, parsed.medfee_sumamt, parsed.fund_pay_sumamt,
            parsed.acct_pay) == (-1, -30_000, -20_000, -5_000)


@pytest.mark.parametrize("totals, expected", [
    ({"medfee_sumamt": "-300.00", "fixmedins_setl_cnt": "-1"}, (-30_000, -1)),
    ({"medfee_sumamt": -0.05, "fixmedins_setl_cnt": -12}, (-5, -12)),
    ({"medfee_sumamt": " 12.50 ", "fixmedins_setl_cnt": " 3 "}, (1_250, 3)),
])
def test_signed_totals_and_counts_are_read_as_sent(totals: dict[str, object],
                                                   expected: tuple[int, int]) -> None:
    parsed = parse_reconcile_totals(declared(**totals))
    assert (parsed.medfee_sumamt, parsed.fixmedins_setl_cnt) == expected


@pytest.mark.parametrize("field, value", [
    ("medfee_sumamt", "-1e12"), ("medfee_sumamt", "1.2.3"), ("acct_pay", "-0.0000001"),
    ("fund_pay_sumamt", None), ("fund_pay_sumamt", True),
    ("fixmedins_setl_cnt", "--3"), ("fixmedins_setl_cnt", "-1.5"), ("fixmedins_setl_cnt", 1.5),
    ("fixmedins_setl_cnt", -10**12), ("fixmedins_setl_cnt", "-1234567890123"),
    ("fixmedins_setl_cnt", "−3"), ("fixmedins_setl_cnt", False), ("fixmedins_setl_cnt", ""),
])
def test_bad_totals_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_reconcile_totals(declared(**{field: value}))
    assert refused.value.field == f"input.data.{field}"


def test_3202_takes_the_same_signed_header_totals() -> None:
    """3202's header carries the period's totals as 3201 does: a period whose refunds outweigh
    its settlements has negative ones, which were refused, so its details could not be sent."""
    from medsettle.adapters.his.inputs_other import parse_reconcile_details

    read = parse_reconcile_details({"data": {
        "setl_optins": "440300", "stmt_begndate": "2026-11-01", "stmt_enddate": "2026-11-01",
        "medfee_sumamt": "-300.00", "fund_pay_sumamt": -200, "cash_payamt": "-50.00",
        "fixmedins_setl_cnt": "-1"}})
    assert (read.medfee_sumamt, read.fund_pay_sumamt, read.cash_payamt,
            read.fixmedins_setl_cnt) == (-30_000, -20_000, -5_000, -1)
    with pytest.raises(InvalidInput, match="input.data.cash_payamt"):
        parse_reconcile_details({"data": {
            "setl_optins": "440300", "stmt_begndate": "2026-11-01",
            "stmt_enddate": "2026-11-01", "medfee_sumamt": "0", "fund_pay_sumamt": "0",
            "cash_payamt": "-1e11", "fixmedins_setl_cnt": "0"}})
