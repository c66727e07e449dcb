"""A real province ledger with its settlement records and accumulators, a hub log with its
index, and the raw-SQL moves of someone with database rights (tests/integration/test_ledger_tamper).

The province is built the way the insured and treating services build it: the record is added,
the accumulators take its delta, the entry books it (services.ledger.book_settlement); a cancel
adds its record, subtracts the delta and marks the settlement cancelled.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

from medsettle.adapters.db import tables
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core import ledger
from medsettle.core.benefits import AMOUNT_FIELDS, Amounts
from medsettle.core.records import Role, SettlementKind, SettlementRecord, SettlementStatus
from medsettle.services import hub as hub_svc
from medsettle.services.ledger import book_settlement
from medsettle.services.verify import read_chain

T0 = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
SETTLEMENTS = 20
OPENING_BALANCE = 100_000


def amounts(n: int) -> dict[str, int]:
    """A consistent 16-field settlement result in fen (the n-th of the test ledger)."""
    medfee = 28_100 + 1_337 * n
    fulamt, overlmt, preselfpay = 4_500, 0, 1_560 + n
    inscp = medfee - fulamt - overlmt - preselfpay
    dedc = 20_000 if n % 3 else 0
    hifp, hifmi, cvlserv = (inscp - dedc) // 2, 300 * (n % 2), 0
    fund = hifp + hifmi + cvlserv
    acct = min(medfee - fund, 22_580)
    result = {"medfee_sumamt": medfee, "fulamt_ownpay_amt": fulamt, "overlmt_selfpay": overlmt,
              "preselfpay_amt": preselfpay, "inscp_scp_amt": inscp, "act_pay_dedc": dedc,
              "hifp_pay": hifp, "pool_prop_selfpay": inscp - dedc - hifp, "hifmi_pay": hifmi,
              "hifob_pay": 0, "cvlserv_pay": cvlserv, "maf_pay": 0, "fund_pay_sumamt": fund,
              "psn_part_amt": medfee - fund, "acct_pay": acct,
              "psn_cash_pay": medfee - fund - acct}
    assert tuple(result) == AMOUNT_FIELDS
    return result


def person_of(n: int) -> str:
    return f"5101000000000000000000{n % 4:04d}"


def record(n: int) -> SettlementRecord:
    """The n-th settlement: odd n recorded at the insured place, even n at the treating place."""
    role = Role.INSURED if n % 2 else Role.TREATING
    money = amounts(n)
    delta = {"visits.outpatient": 1, "pool_paid.main": money["hifp_pay"],
             "acct_balance": -money["acct_pay"]} if role is Role.INSURED else None
    return SettlementRecord(
        settlement_id=f"S{n:029d}", role=role, kind=SettlementKind.SETTLE,
        status=SettlementStatus.SETTLED, visit_id=f"V{n:029d}", person_id=person_of(n),
        insured_region="510100", treating_region="440300", institution="H44030400123",
        med_type="11", visit_type="outpatient", insutype="310",
        settled_at=T0 + timedelta(minutes=n, microseconds=7 * n), medical_year="2025",
        amounts=Amounts(**money), msgid=f"M{n:029d}", balance=OPENING_BALANCE,
        policy_id="510100/employee/2025", benefit_class="filed", delta=delta)


def build_ledger(url: str) -> Store:
    """A migrated province database with 18 settlements and 2 cancels, their records and the
    accumulators of the insured persons (opening values loaded first)."""
    engine = make_engine(url)
    migrate(engine, "province")
    store = Store(engine)
    with store.tx() as tx:
        tx.add_many("accumulators", [
            {"psn_no": person_of(p), "year": year, "path": path, "value": value,
             **({"opening": value} if "opening" in tables.accumulators.c else {})}
            for p in range(4) for year, path, value in (("", "acct_balance", OPENING_BALANCE),
                                                        ("2025", "visits.outpatient", 2))])
    for n in range(1, SETTLEMENTS - 1):
        settle(store, record(n))
    for n in (4, 9):
        cancel(store, record(n), T0 + timedelta(hours=2, minutes=n))
    return store


def settle(store: Store, rec: SettlementRecord) -> None:
    with store.tx() as tx:
        if rec.delta:
            tx.apply_delta(rec.person_id, rec.medical_year, _paths(rec.delta))
        tx.add_settlement(rec)
        book_settlement(tx, rec, rec.settled_at)


def cancel(store: Store, original: SettlementRecord, at: datetime) -> None:
    with store.tx() as tx:
        if original.delta:
            tx.apply_delta(original.person_id, original.medical_year, _paths(original.delta), -1)
        rec = original.cancel("C" + original.settlement_id[1:], at, OPENING_BALANCE, "MC")
        tx.add_settlement(rec)
        book_settlement(tx, rec, at)
        tx.mark_settlement(original.settlement_id, original.role, SettlementStatus.CANCELLED)


def _paths(delta: Any) -> dict[tuple[str, ...], int]:
    return {tuple(k.split(".")): v for k, v in delta.items()}


def forged_settlement(n: int) -> SettlementRecord:
    """A settlement the node never made (for appending behind its back)."""
    return replace(record(n), settlement_id=f"F{n:029d}", visit_id=f"W{n:029d}")


def sql(engine: Engine, statement: str, **params: object) -> list[Any]:
    """Run raw SQL in its own transaction (behind the application's back)."""
    with engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return list(result) if result.returns_rows else []


def drop_triggers(engine: Engine, names: tuple[str, ...] = ("ledger_entries", "ledger_postings")
                  ) -> None:
    """What someone with the rights to do it does first: drop the append-only triggers."""
    with engine.begin() as conn:
        for table in names:
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
            else:
                for event in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{event}"))


def json_param(engine: Engine) -> str:
    return "CAST(:value AS json)" if engine.dialect.name == "postgresql" else ":value"


def entry_at(engine: Engine, seq: int) -> Any:
    return sql(engine, "SELECT * FROM ledger_entries WHERE seq = :seq", seq=seq)[0]


def postings_of(row: Any) -> list[list[Any]]:
    value = row.postings
    return json.loads(value) if isinstance(value, str) else value


def rehash_from(engine: Engine, seq: int) -> None:
    """Recompute the hash of entry `seq` and of every later one, as an attacker would."""
    chain = read_chain(Store(engine), "province")
    prev = ledger.GENESIS if seq == 1 else chain[seq - 2].hash
    for item in chain[seq - 1:]:
        digest = ledger.chain_hash(prev, item.seq, item.entry)
        sql(engine, "UPDATE ledger_entries SET prev_hash = :p, hash = :h WHERE seq = :s",
            p=prev, h=digest, s=item.seq)
        prev = digest


def set_postings(engine: Engine, seq: int, postings: list[list[Any]], rehash: bool,
                 table_too: bool = False) -> None:
    """Rewrite an entry's postings JSON; with `rehash`, recompute its hash (and later ones);
    with `table_too`, make ledger_postings repeat the new lines."""
    sql(engine, f"UPDATE ledger_entries SET postings = {json_param(engine)} WHERE seq = :seq",
        value=json.dumps(postings), seq=seq)
    if rehash:
        rehash_from(engine, seq)
    if table_too:
        for line, (_, amount) in enumerate(postings):
            sql(engine, "UPDATE ledger_postings SET amount = :v WHERE seq = :s AND line = :n",
                v=amount, s=seq, n=line)


def append_entry(engine: Engine, entry: ledger.Entry) -> None:
    """Append an entry with a valid hash after the head (and its postings rows)."""
    head = read_chain(Store(engine), "province")[-1]
    chained = ledger.chain(head, entry)
    sql(engine, "INSERT INTO ledger_entries (seq, entry_id, kind, ref, booked_at, postings, "
                f"prev_hash, hash) VALUES (:seq, :id, :kind, :ref, :at, {json_param(engine)}, "
                ":prev, :hash)", seq=chained.seq, id=entry.entry_id, kind=entry.kind,
        ref=entry.ref, at=entry.booked_at,
        value=json.dumps([[p.account, p.amount] for p in entry.postings]),
        prev=chained.prev_hash, hash=chained.hash)
    for line, p in enumerate(entry.postings):
        sql(engine, "INSERT INTO ledger_postings (seq, line, account, amount) VALUES "
                    "(:s, :n, :a, :v)", s=chained.seq, n=line, a=p.account, v=p.amount)


def shift_up(engine: Engine, table: str, start: int) -> None:
    """seq += 1 for seq >= start, in two steps so no unique key collides on the way."""
    sql(engine, f"UPDATE {table} SET seq = seq + 100000 WHERE seq >= :s", s=start)
    sql(engine, f"UPDATE {table} SET seq = seq - 99999 WHERE seq >= 100000")


# --- the hub's log and index -----------------------------------------------------------------

LOG_LINES = 12


def build_hub(url: str) -> Store:
    """A migrated hub database whose journal logged 12 settle messages and indexed them."""
    engine = make_engine(url)
    migrate(engine, "hub")
    store = Store(engine)
    for n in range(1, LOG_LINES + 1):
        at = T0 + timedelta(minutes=n)
        with store.tx() as tx:
            hub_svc.write_journal(tx, [hub_svc.message_row(
                msgid=f"M{n:029d}", op="settle", from_region="440000", to_region="510000",
                outcome="ok", latency_ms=10 + n, now=at)], [_index_row(n, at)], at)
    return store


def _index_row(n: int, at: datetime) -> dict[str, Any]:
    money = amounts(n)
    return {"setl_id": f"S{n:029d}", "kind": "settle", "ref_setl_id": None,
            "mdtrt_id": f"V{n:029d}", "psn_no": person_of(n), "insu_admdvs": "510100",
            "mdtrtarea_admvs": "440300", "fixmedins_code": "H44030400123",
            "visit_type": "outpatient", "setl_time": at, "medfee_sumamt": money["medfee_sumamt"],
            "fund_pay_sumamt": money["fund_pay_sumamt"], "acct_pay": money["acct_pay"],
            "psn_cash_pay": money["psn_cash_pay"], "msgid": f"M{n:029d}"}


def log_heads(hub: Store, *lines: int) -> dict[int, str]:
    """The hub's log heads a province kept at `lines` (as anchors hand them out)."""
    with hub.tx() as tx:
        return {int(r.id): str(r.hash) for r in tx.rows("hub_messages") if int(r.id) in lines}


def rehash_log_from(engine: Engine, line: int) -> None:
    """Recompute the hash of log line `line` and of every later one."""
    from medsettle.services.verify import log_fields

    with Store(engine).tx() as tx:
        rows = tx.rows("hub_messages", order_by="id")
    prev = ledger.GENESIS if line == 1 else rows[line - 2].hash
    for row in rows[line - 1:]:
        digest = ledger.record_hash(prev, int(row.id), log_fields(row._mapping))
        sql(engine, "UPDATE hub_messages SET prev_hash = :p, hash = :h WHERE id = :i",
            p=prev, h=digest, i=row.id)
        prev = digest
