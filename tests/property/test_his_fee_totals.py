"""5262 feesttinfo: the fee-category totals of a settlement lose no fen and never count a line
twice, whatever its lines."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from medsettle.adapters.his.views_queries import fee_totals
from medsettle.core.money import yuan_to_fen
from medsettle.core.records import StoredLine
from medsettle.services.treating import Classified

_line = st.builds(
    lambda amount, cls, kind, parts: Classified(StoredLine(
        visit_id="V", serial="S", batch="B", code="X", hospital_code="H", name="",
        price=Decimal(1), count=Decimal(1), cls=cls, level="01", selfpay_prop=Decimal(0),
        cap_price=None, restricted_ok=True, amount=amount, full_self_paid=parts[0],
        over_cap=parts[1], preselfpay=parts[2], in_scope=0,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC)), kind),
    st.integers(0, 10**9), st.sampled_from(["A", "B", "C", "none"]),
    st.sampled_from(["01", "03", "09", "11", "14"]),
    st.tuples(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6)))


def _fen(value: float) -> int:
    return yuan_to_fen(value, "amount")


@given(st.lists(_line, max_size=40))
def test_category_totals_add_up_to_the_lines_to_the_fen(lines: list[Classified]) -> None:
    rows = fee_totals(lines)
    assert sum(_fen(r["item_sumamt"]) for r in rows) == sum(c.line.amount for c in lines)
    assert sum(_fen(r["preselfpay_amt"]) for r in rows) == sum(c.line.preselfpay for c in lines)
    assert [r["med_chrgitm_type"] for r in rows] == sorted({c.charge_type for c in lines})
    for row in rows:
        assert _fen(row["item_claa_amt"]) + _fen(row["item_clab_amt"]) <= _fen(row["item_sumamt"])
