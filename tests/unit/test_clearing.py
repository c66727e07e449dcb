"""Clearing (清算) core: months, obligations, statements and their states, prepayment."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from medsettle.core.clearing import (
    PrepaymentRule,
    Statement,
    YearMonth,
    draw,
    from_dict,
    level,
    net,
    obligations,
    size,
    statements,
    summary_text,
    to_csv,
    to_dict,
    to_json,
    top_up,
    top_up_due,
    usage,
    usage_text,
    worse,
)
from medsettle.core.errors import InvalidInput, StateConflict

OCT = YearMonth(2026, 10)


def row(insured: str, treating: str, fund: int, acct: int, kind: str = "settle",
        medfee: int = 0) -> dict[str, object]:
    return {"kind": kind, "insu_admdvs": insured, "mdtrtarea_admvs": treating,
            "medfee_sumamt": medfee or fund + acct, "fund_pay_sumamt": fund, "acct_pay": acct}


def a_statement() -> Statement:
    found = statements(OCT, {("110000", "440000"): 5000, ("440000", "110000"): 2000,
                             ("310000", "110000"): 700})
    return next(s for s in found if s.province == "110000")


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-10", "2026/10", "", "2026-1",
                                  "abcd-ef", "1999-12"])
def test_a_bad_month_is_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        YearMonth.parse(text)
    assert caught.value.field == "month"


def test_a_month_is_bounded_in_shanghai_time() -> None:
    start, end = OCT.bounds()
    assert start == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert end == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert YearMonth.of(datetime(2026, 10, 31, 16, 30, tzinfo=UTC)) == YearMonth(2026, 11)
    assert str(YearMonth(2026, 12).shift(1)) == "2027-01"
    assert YearMonth.parse(" 2026-10 ") == OCT


def test_obligation_is_funds_plus_account_and_excludes_cash_and_local_rows() -> None:
    found = obligations([row("110101", "440106", 800, 200, medfee=1500),
                         row("110000", "440300", 100, 0),
                         row("440100", "440300", 999, 1)])
    assert list(found) == [("110000", "440000")]
    assert found[("110000", "440000")].obligation == 1100
    assert found[("110000", "440000")].medfee_sumamt == 1600
    assert found[("110000", "440000")].settlements == 2


def test_a_cancel_counts_negative_whatever_sign_it_stored() -> None:
    found = obligations([row("110000", "440000", 800, 200),
                         row("110000", "440000", -800, -200, kind="cancel"),
                         row("110000", "440000", 50, 0),
                         row("110000", "440000", 50, 0, kind="cancel")])
    assert found[("110000", "440000")].obligation == 0
    assert found[("110000", "440000")].settlements == 0


def test_nets_sum_to_zero_and_statement_totals_match() -> None:
    obl = {("110000", "440000"): 5000, ("440000", "110000"): 2000, ("310000", "110000"): 700}
    assert net(obl) == {"110000": -2300, "440000": 3000, "310000": -700}
    s = a_statement()
    assert (s.owes, s.due, s.net) == (5000, 2700, -2300)
    assert [line.counterparty for line in s.lines] == ["310000", "440000"]


def test_a_statement_is_confirmed_only_by_both_sides_then_paid() -> None:
    s = a_statement().confirm("insured")
    assert s.state == "drafted" and s.insured_confirmed
    s = s.confirm("treating")
    assert s.state == "confirmed"
    assert s.paid().state == "paid"


def test_an_unconfirmed_statement_cannot_be_paid() -> None:
    with pytest.raises(StateConflict):
        a_statement().confirm("insured").paid()


def test_a_disputed_statement_cannot_be_paid_until_redrafted_and_confirmed() -> None:
    s = a_statement().confirm("insured").disputed("settlement S1 is not ours")
    assert (s.state, s.insured_confirmed, s.dispute) == ("disputed", False,
                                                         "settlement S1 is not ours")
    with pytest.raises(StateConflict, match="disputed"):
        s.paid()
    with pytest.raises(StateConflict):
        s.confirm("treating")
    s = s.redrafted()
    assert (s.state, s.dispute, s.redrafts) == ("drafted", None, 1)
    assert s.confirm("insured").confirm("treating").paid().state == "paid"


def test_bad_side_and_empty_reason_name_their_fields() -> None:
    with pytest.raises(InvalidInput) as side:
        a_statement().confirm("both")
    assert side.value.field == "side"
    with pytest.raises(InvalidInput) as reason:
        a_statement().disputed("  ")
    assert reason.value.field == "reason"
    with pytest.raises(StateConflict):
        a_statement().redrafted()


def test_a_paid_statement_cannot_be_disputed() -> None:
    paid = a_statement().confirm("insured").confirm("treating").paid()
    with pytest.raises(StateConflict):
        paid.disputed("late")


def test_csv_has_a_row_per_counterparty_and_a_total() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(a_statement()))))
    assert [r["counterparty"] for r in rows] == ["310000", "440000", "TOTAL"]
    assert rows[-1]["net_fen"] == "-2300"
    assert sum(int(r["net_fen"]) for r in rows[:-1]) == int(rows[-1]["net_fen"])


def test_json_round_trips() -> None:
    s = a_statement().confirm("treating")
    doc = json.loads(to_json(s))
    assert doc["net"] == -2300 and doc["treating_confirmed"] is True
    assert from_dict(doc) == s
    assert from_dict(to_dict(s)) == s


def test_summary_gives_chinese_terms_once() -> None:
    text = summary_text(a_statement().disputed("wrong total"))
    assert "清算单" in text and text.count("应付") == 1 and text.count("净额") == 1
    assert "pays ¥23.00" in text and "wrong total" in text


def test_prepayment_size_is_months_times_average_month() -> None:
    assert size([100, 200, 301]) == 401  # 2 × 200.33 rounded half up
    assert size([100, 200, 300], months=3) == 600
    assert size([]) == 0
    with pytest.raises(InvalidInput):
        size([1], months=-1)


def test_usage_levels_are_configurable() -> None:
    assert usage(300, 1000) == Decimal("0.7")
    assert level(301, 1000) == "ok"
    assert level(300, 1000) == "warning"
    assert level(0, 1000) == "critical"
    assert level(-5, 1000) == "critical"
    assert level(0, 0) == "ok" and level(-1, 0) == "critical"
    strict = PrepaymentRule(warn_usage=Decimal("0.5"), critical_usage=Decimal("0.9"))
    assert level(500, 1000, strict) == "warning" and level(100, 1000, strict) == "critical"
    assert usage_text(usage(250, 1000)) == "0.7500"
    assert usage_text(usage(2000, 1000)) == "-1.0000"
    assert worse("ok", "warning") and not worse("critical", "warning")


def test_draw_and_top_up_arithmetic() -> None:
    assert draw(1000, 1500) == -500
    assert top_up(-500, 1500) == 1000
    assert top_up_due(400, 1000) == 600 and top_up_due(1200, 1000) == 0
    for bad in (0, -1, True):
        with pytest.raises(InvalidInput):
            top_up(0, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        draw(0, -1)
