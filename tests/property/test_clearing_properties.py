"""Netting never creates or loses a fen (hypothesis)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from medsettle.core.clearing import YearMonth, net, obligations, pairwise, statements

PROVINCES = ["110000", "310000", "440000", "510000", "650000"]
pair = st.tuples(st.sampled_from(PROVINCES), st.sampled_from(PROVINCES)).filter(
    lambda p: p[0] != p[1])
obligation_maps = st.dictionaries(pair, st.integers(-10**9, 10**12), max_size=20)


@given(obligation_maps)
def test_multilateral_nets_sum_to_zero(obl: dict[tuple[str, str], int]) -> None:
    assert sum(net(obl).values()) == 0


@given(obligation_maps)
def test_pairwise_netting_agrees_with_multilateral(obl: dict[tuple[str, str], int]) -> None:
    n = pairwise(obl)
    for (i, t), amount in n.items():
        assert n[(t, i)] == -amount
        assert amount == obl.get((i, t), 0) - obl.get((t, i), 0)
    for province, value in net(obl).items():
        assert sum(a for (i, _), a in n.items() if i == province) == -value


@given(obligation_maps)
def test_statements_carry_the_nets(obl: dict[tuple[str, str], int]) -> None:
    found = statements(YearMonth(2026, 10), obl)
    assert {s.province: s.net for s in found} == net(obl)
    assert sum(s.owes for s in found) == sum(s.due for s in found) == sum(obl.values())


settle_rows = st.lists(st.tuples(st.sampled_from(PROVINCES), st.sampled_from(PROVINCES),
                                 st.integers(0, 10**8), st.integers(0, 10**7), st.booleans()),
                       max_size=30)


@given(settle_rows)
def test_a_cancel_in_the_same_month_cancels_its_settlement_exactly(
        rows: list[tuple[str, str, int, int, bool]]) -> None:
    settled = [{"kind": "settle", "insu_admdvs": i, "mdtrtarea_admvs": t, "medfee_sumamt": f + a,
                "fund_pay_sumamt": f, "acct_pay": a} for i, t, f, a, _ in rows]
    amounts = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
    cancels = [{**r, "kind": "cancel", **{k: -int(r[k]) for k in amounts}}  # type: ignore[call-overload]
               for r, row in zip(settled, rows, strict=True) if row[4]]
    kept = [r for r, row in zip(settled, rows, strict=True) if not row[4]]
    assert {k: v.obligation for k, v in obligations(settled + cancels).items()
            if v.obligation or v.settlements} == {k: v.obligation
                                                  for k, v in obligations(kept).items()}
