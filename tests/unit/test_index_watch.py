"""The drill's watch of the hub's index reports two things: the longest stretch in which some
settlement was missing (under load there is nearly always one in flight) and the longest any one
settlement stayed missing (what a lost index row would show)."""

from __future__ import annotations

from medsettle.adapters.chaos import IndexWatch


def row(setl_id: str, fen: int = 100) -> dict[str, object]:
    return {"setl_id": setl_id, "fund_pay_sumamt": fen}


def test_one_settlement_s_age_is_told_apart_from_a_gap_that_never_closes() -> None:
    watch = IndexWatch(fed=None, insured=())  # type: ignore[arg-type]  # samples given here
    for at, rows in [(1.0, [row("A")]), (2.0, [row("A"), row("B", -250)]), (3.0, [row("A")]),
                     (4.0, [row("C")]), (5.0, [])]:
        watch.sample(at, rows)
    assert watch.longest() == 4.0  # every sample from 1 s to 4 s had a gap
    assert watch.oldest() == 2.0  # A: missing from 1 s to 3 s; B and C in one sample each
    assert watch.worst() == (2, 350)  # two rows at 2 s, their fund in fen (a reversal counts)


def test_a_watch_with_no_gap_reports_zero() -> None:
    watch = IndexWatch(fed=None, insured=())  # type: ignore[arg-type]
    watch.sample(1.0, [])
    assert (watch.longest(), watch.oldest(), watch.worst()) == (0.0, 0.0, (0, 0))
