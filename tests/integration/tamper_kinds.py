"""The 14 kinds of tampering of docs/security.md, each done through raw SQL on a scene: a province
ledger with its records and accumulators, and a hub log with its index (tamper_kit builds them).
tests/integration/test_ledger_tamper.py runs the table; bench/tamper_table.py prints it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from medsettle.adapters.db.store import Store
from medsettle.core import ledger
from medsettle.services.verify import verify_all, verify_hub_log
from tests.integration.tamper_kit import (
    SETTLEMENTS,
    T0,
    append_entry,
    entry_at,
    forged_settlement,
    json_param,
    person_of,
    postings_of,
    rehash_log_from,
    set_postings,
    shift_up,
    sql,
)


@dataclass(frozen=True)
class Scene:
    """A province ledger anchored at seq 10 and at its head, and a hub log whose heads a
    province kept at lines 6 and 10 (lines 11–12 were written after the last anchor)."""

    province: Store
    hub: Store
    anchors: dict[int, str]
    log_anchors: dict[int, str]

    def caught(self, with_anchors: bool) -> bool:
        """Whether `medsettle verify` (province, then hub with its log) names a tampering."""
        province = verify_all(self.province, "province", self.anchors if with_anchors else {})
        hub = verify_hub_log(self.hub, self.log_anchors if with_anchors else None)
        return province is not None or hub is not None


def _balanced_shift(engine: Engine, seq: int, fen: int) -> list[list[Any]]:
    postings = postings_of(entry_at(engine, seq))
    postings[0][1], postings[-1][1] = postings[0][1] + fen, postings[-1][1] - fen
    return postings


def entry_modified(s: Scene) -> None:
    sql(s.province.engine, "UPDATE ledger_entries SET ref = 'X' WHERE seq = 3")


def postings_row_changed(s: Scene) -> None:
    sql(s.province.engine, "UPDATE ledger_postings SET amount = amount + 1 "
                           "WHERE seq = 6 AND line = 0")


def entry_deleted(s: Scene) -> None:
    for table in ("ledger_postings", "ledger_entries"):
        sql(s.province.engine, f"DELETE FROM {table} WHERE seq = 12")


def entry_inserted(s: Scene) -> None:
    engine = s.province.engine
    before = entry_at(engine, 7)
    for table in ("ledger_postings", "ledger_entries"):
        shift_up(engine, table, 8)
    forged = ledger.balanced("settle:insured:FORGED", "settle", "FORGED", T0,
                             [("payable:province:440000", -500_000),
                              ("fund:hifp:510100", 500_000)])
    sql(engine, "INSERT INTO ledger_entries (seq, entry_id, kind, ref, booked_at, postings, "
                f"prev_hash, hash) VALUES (8, :id, 'settle', 'FORGED', :at, "
                f"{json_param(engine)}, :prev, :hash)", id=forged.entry_id, at=T0,
        value=json.dumps([[p.account, p.amount] for p in forged.postings]),
        prev=before.hash, hash=ledger.chain_hash(before.hash, 8, forged))


def entries_reordered(s: Scene) -> None:
    for table in ("ledger_entries", "ledger_postings"):
        sql(s.province.engine, f"UPDATE {table} SET seq = -1 WHERE seq = 5")
        sql(s.province.engine, f"UPDATE {table} SET seq = 5 WHERE seq = 12")
        sql(s.province.engine, f"UPDATE {table} SET seq = 12 WHERE seq = -1")


def tail_rewritten(s: Scene) -> None:
    engine = s.province.engine
    set_postings(engine, SETTLEMENTS, _balanced_shift(engine, SETTLEMENTS, 500), rehash=True,
                 table_too=True)


def tail_cut(s: Scene) -> None:
    for table in ("ledger_postings", "ledger_entries"):
        sql(s.province.engine, f"DELETE FROM {table} WHERE seq >= :s", s=SETTLEMENTS - 1)


def chain_rewritten(s: Scene) -> None:
    engine = s.province.engine
    set_postings(engine, 7, _balanced_shift(engine, 7, 20_000), rehash=True, table_too=True)


def settlement_row_changed(s: Scene) -> None:
    sql(s.province.engine, "UPDATE settlements SET hifp_pay = hifp_pay + 1000, fund_pay_sumamt "
                           "= fund_pay_sumamt + 1000 WHERE setl_id = :id AND role = 'insured'",
        id=f"S{5:029d}")


def accumulator_changed(s: Scene) -> None:
    sql(s.province.engine, "UPDATE accumulators SET value = value + 50000 "
                           "WHERE psn_no = :p AND path = 'acct_balance'", p=person_of(1))


def entry_appended(s: Scene) -> None:
    forged = forged_settlement(21)
    lines = ledger.settlement_postings(
        "insured", forged.amounts.as_dict(), insured=forged.insured_region,
        treating=forged.treating_region, psn_no=forged.person_id,
        fixmedins_code=forged.institution)
    append_entry(s.province.engine, ledger.balanced(
        f"settle:insured:{forged.settlement_id}", "settle", forged.settlement_id, T0, lines))


def hub_log_rewritten(s: Scene) -> None:
    sql(s.hub.engine, "UPDATE hub_messages SET latency_ms = 1 WHERE id = 4")
    rehash_log_from(s.hub.engine, 4)


def hub_log_cut_through_anchor(s: Scene) -> None:
    sql(s.hub.engine, "DELETE FROM hub_messages WHERE id >= 9")


def hub_log_cut_after_anchor(s: Scene) -> None:
    sql(s.hub.engine, "DELETE FROM hub_messages WHERE id > 10")


@dataclass(frozen=True)
class Kind:
    """A kind of tampering, whether verify catches it (with anchors, without), and whether it
    did before records and accumulators were checked against the ledger."""

    name: str
    tamper: Callable[[Scene], None]
    with_anchors: bool
    without: bool
    before_with: bool
    before_without: bool


KINDS = (
    Kind("entry_modified", entry_modified, True, True, True, True),
    Kind("postings_row_changed", postings_row_changed, True, True, True, True),
    Kind("entry_deleted", entry_deleted, True, True, True, True),
    Kind("entry_inserted", entry_inserted, True, True, True, True),
    Kind("entries_reordered", entries_reordered, True, True, True, True),
    Kind("tail_rewritten", tail_rewritten, True, True, True, False),
    Kind("tail_cut", tail_cut, True, True, True, False),
    Kind("chain_rewritten", chain_rewritten, True, True, True, False),
    Kind("hub_log_rewritten", hub_log_rewritten, True, False, True, False),
    Kind("hub_log_cut_through_anchor", hub_log_cut_through_anchor, True, True, True, False),
    Kind("settlement_row_changed", settlement_row_changed, True, True, False, False),
    Kind("accumulator_changed", accumulator_changed, True, True, False, False),
    Kind("entry_appended_after_anchor", entry_appended, True, True, False, False),
    Kind("hub_log_cut_after_anchor", hub_log_cut_after_anchor, True, True, False, False),
)
