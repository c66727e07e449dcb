"""Money conserves over a simulated day, end to end: what every ledger says was paid equals what
the settlements say, the hub's index agrees, and clearing's nets sum to zero across provinces."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from medsettle.adapters.cli_demo import rows_of, today_in_china
from medsettle.adapters.db import tables as t
from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import signed_headers
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.launcher import Federation
from medsettle.adapters.player import Player
from medsettle.core.clearing import YearMonth
from medsettle.services import clearing
from medsettle.services.verify import verify_hub_log, verify_node
from medsettle.sim.population import generate_province
from medsettle.sim.traffic import plan_day

SHIPPED = load_policy_book()  # the shipped policy parameters

PROVINCES = ["440000", "310000", "110000", "510000"]


@pytest.fixture(scope="module")
def day_played(tmp_path_factory: pytest.TempPathFactory) -> Federation:
    day = today_in_china()
    seeds = {p: generate_province(p, persons=300, institutions=8, on=day, seed=11,
                              book=SHIPPED)
             for p in PROVINCES}
    fed = Federation(tmp_path_factory.mktemp("money"), {p: rows_of(s) for p, s in seeds.items()})
    fed.start()
    try:
        tally = Player(fed.urls).play(plan_day(seeds, day=day, visits=120, seed=11), 8)
        assert sum(tally.settled.values()) >= 100, (tally.failed, tally.reasons)
        fed.flush_hub_journal()
        yield fed
    finally:
        fed.close()


def rows(url: str, table: t.Table) -> list[dict]:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(select(table)).mappings()]
    engine.dispose()
    return found


def balances(url: str) -> dict[str, int]:
    result: dict[str, int] = defaultdict(int)
    for posting in rows(url, t.ledger_postings):
        result[posting["account"]] += posting["amount"]
    return result


def test_every_ledger_agrees_with_its_settlements_to_the_fen(day_played: Federation) -> None:
    for province in PROVINCES:
        url = day_played.dbs[province]
        book = balances(url)
        settlements = rows(url, t.settlements)
        owed: dict[str, int] = defaultdict(int)
        receivable: dict[str, int] = defaultdict(int)
        hifp = cash = 0
        for s in settlements:
            obligation = s["fund_pay_sumamt"] + s["acct_pay"]
            if s["role"] == "insured":
                owed[s["mdtrtarea_admvs"][:2] + "0000"] += obligation
                hifp += s["hifp_pay"]
            else:
                receivable[s["insu_admdvs"][:2] + "0000"] += obligation
                cash += s["psn_cash_pay"]
        for other, amount in owed.items():
            assert book.get(f"payable:province:{other}", 0) == -amount
        for other, amount in receivable.items():
            assert book.get(f"receivable:province:{other}", 0) == amount
        assert sum(v for k, v in book.items() if k.startswith("fund:hifp:")) == hifp
        assert sum(v for k, v in book.items() if k.startswith("institution_cash:")) == -cash
        assert sum(book.values()) == 0
        assert verify_node(Store(make_engine(url)), "province", {}) is None


def test_the_hub_index_and_the_clearing_nets_conserve_money(day_played: Federation) -> None:
    hub = Store(make_engine(day_played.dbs["hub"]))
    assert verify_hub_log(hub) is None
    index = rows(day_played.dbs["hub"], t.settlement_index)
    treating_side = {s["setl_id"]: s for p in PROVINCES
                     for s in rows(day_played.dbs[p], t.settlements)
                     if s["role"] == "treating" and s["insu_admdvs"][:2] != s["mdtrtarea_admvs"][:2]}
    assert {r["setl_id"] for r in index} == set(treating_side)
    for row in index:
        assert row["fund_pay_sumamt"] == treating_side[row["setl_id"]]["fund_pay_sumamt"]

    month = YearMonth.of(datetime.now(UTC))
    after = month.bounds()[1] + timedelta(days=1)  # clearing runs once the month has ended
    result = clearing.run_clearing(hub, month, after)
    statements = clearing.all_statements(hub, month)
    assert sum(s.net for s in statements) == 0
    expected_owes: dict[str, int] = defaultdict(int)
    for row in index:
        sign = 1 if row["kind"] == "settle" else -1
        expected_owes[row["insu_admdvs"][:2] + "0000"] += sign * abs(
            row["fund_pay_sumamt"] + row["acct_pay"])
    assert {s.province: s.owes for s in statements if s.owes} == \
        {p: v for p, v in expected_owes.items() if v}
    again = clearing.run_clearing(hub, month, after + timedelta(days=1))
    assert again["created"] is False and result["created"] is True


def test_a_paid_statement_makes_the_treating_province_pay_its_institutions_once(
        day_played: Federation) -> None:
    province = "440000"
    key = json.loads(day_played.keys_path.read_text())[province]
    month = YearMonth.of(datetime.now(UTC))
    base = f"/clearing/{month}/statements/{province}"

    def hub_post(path: str, doc: dict) -> dict:
        body = json.dumps(doc).encode()
        response = httpx.post(day_played.hub_url + path, content=body, timeout=30,
                              headers=signed_headers(key, province, path, body))
        assert response.status_code == 200, response.text
        return response.json()

    for side in ("insured", "treating"):
        hub_post(f"{base}/confirm", {"side": side})
    paid = hub_post(f"{base}/paid", {})
    institutions = paid["institutions_paid"]
    assert institutions, paid
    book = balances(day_played.dbs[province])
    assert all(book.get(f"payable:institution:{code}", 0) == 0 for code in institutions)
    assert sum(institutions.values()) == -sum(v for k, v in book.items()
                                              if k.startswith(f"bank:{province}"))
    path = f"/fed/v1/clearing/{month}/pay-institutions"
    again = httpx.post(day_played.urls[province] + path, content=b"{}",
                       headers=signed_headers(key, "hub", path, b"{}")).json()["result"]
    assert again == {}
    assert verify_node(Store(make_engine(day_played.dbs[province])), "province", {}) is None
