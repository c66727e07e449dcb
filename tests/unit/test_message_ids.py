"""Ids derived from a message are the same on every retry and unique per message."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from medsettle.core.benefits import AMOUNT_FIELDS, Amounts
from medsettle.core.ids import derived_id, reversal_msgid
from medsettle.core.jsonform import encode
from medsettle.services.exchange import Cancelled, Indexed, Reversed
from medsettle.services.hub import index_rows

MSGID = "H44030400123202611291030000001"
NEXT = "H44030400123202611291030000002"  # the same second, the next serial


def test_a_derived_id_is_thirty_characters_led_by_the_region_and_stable() -> None:
    first = derived_id("440000", "H44030400123", MSGID, "settle")
    assert len(first) == 30 and first.startswith("440000") and first[6:].isdigit()
    assert derived_id("440000", "H44030400123", MSGID, "settle") == first
    assert derived_id("440000", "H44030400123", MSGID, "cancel") != first
    assert derived_id("440000", "H44030400456", MSGID, "settle") != first


def test_two_settlements_in_the_same_second_get_different_reversal_msgids() -> None:
    """The old rule, "R" + msgid cut to 30 characters, gave these two the same one."""
    first, second = (reversal_msgid("440000", "H44030400123", m) for m in (MSGID, NEXT))
    assert first != second
    assert ("R" + MSGID)[:30] == ("R" + NEXT)[:30]
    assert len(first) == 30 and first.startswith("R") and first[1:].isdigit()
    assert reversal_msgid("440000", "H44030400123", MSGID) == first


@given(st.lists(st.text(min_size=1, max_size=30), min_size=2, max_size=50, unique=True))
def test_distinct_msgids_never_share_a_reversal_msgid(msgids: list[str]) -> None:
    assert len({reversal_msgid("440000", "H44030400123", m) for m in msgids}) == len(msgids)


def _entry(settlement_id: str, kind: str, fund: int, at: datetime, msgid: str,
           cancels: str | None = None) -> Indexed:
    amounts = Amounts(**{name: 0 for name in AMOUNT_FIELDS} | {
        "medfee_sumamt": abs(fund) * 2, "fund_pay_sumamt": fund, "hifp_pay": fund,
        "psn_part_amt": abs(fund) * 2 - fund, "psn_cash_pay": abs(fund)})
    return Indexed(settlement_id=settlement_id, kind=kind, visit_id="M1", person_id="P1",
                   insured_region="510100", treating_region="440300",
                   institution="H44030400123", visit_type="outpatient", settled_at=at,
                   amounts=amounts, msgid=msgid, cancels=cancels)


def test_the_hub_indexes_a_cancel_together_with_the_settlement_it_cancels() -> None:
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    original = _entry("S1", "settle", 5000, datetime(2026, 11, 29, 7, 59, tzinfo=UTC), MSGID)
    cancel = _entry("C1", "cancel", -5000, now, "R1", cancels="S1")
    answer = encode(Reversed(True, cancelled=Cancelled(cancel, original, balance=0)))
    rows = index_rows("reverse", answer, {"original": MSGID}, "R1", now)
    assert [(r["setl_id"], r["kind"], r["ref_setl_id"]) for r in rows] == [
        ("S1", "settle", None), ("C1", "cancel", "S1")]
    assert sum(r["fund_pay_sumamt"] for r in rows) == 0
    assert rows[0]["setl_time"] == datetime(2026, 11, 29, 7, 59, tzinfo=UTC)
    assert rows[0]["msgid"] == MSGID


def test_an_answer_without_a_settlement_indexes_nothing() -> None:
    now = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    assert index_rows("reverse", encode(Reversed(False)), {}, "R1", now) == []
    assert index_rows("person_info", {"anything": 1}, {}, "M", now) == []
