"""A cancel reaches the hub's settlement index only as its treating province recorded it, over a
real federation (SQLite and PostgreSQL). An insured province's index catch-up (POST
/fed/v1/index) could otherwise cancel a genuine settlement at the hub, and the monthly clearing
would not charge it for the visit. The hub asks the treating node for its record of each cancel
it does not hold yet (GET /fed/v1/settlements?role=treating&ids=…, hub-signed) and holds the
cancels that node does not confirm."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from medsettle.adapters.db.store import TABLES
from medsettle.adapters.federation import load_keys, signed_headers
from medsettle.adapters.his.client import HisClient, Patient, VisitFlow
from medsettle.adapters.launcher import Federation
from tests.e2e import fixtures as f
from tests.e2e.test_reconcile_federation import store, wait_caught_up

AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


@pytest.fixture(scope="module")
def fed(federation: Federation) -> Federation:
    """The module's real federation (tests/e2e/conftest.py: SQLite and PostgreSQL), once
    Sichuan's start-up index catch-up and its repeat are done (they would put back the index
    rows the tests delete)."""
    wait_caught_up(federation, "510000")
    return federation


def visit(his: HisClient, person: dict[str, Any]) -> tuple[VisitFlow, str]:
    """A Chengdu employee treated in Shenzhen, settled (¥177.00); the flow and the setl_id."""
    out = his.person("01", person["evoucher"])
    flow = VisitFlow(his, Patient.from_1101(out, "01", person["evoucher"]))
    flow.register()
    flow.fees([(f.DRUG_A, "80.00", "1"), (f.DRUG_B, "52.00", "1"), (f.SERVICE_C, "45.00", "1")])
    return flow, flow.settle("177.00")["setlinfo"]["setl_id"]


def index_row(fed: Federation, setl_id: str) -> dict[str, Any] | None:
    fed.flush_hub_journal()
    with store(fed, "hub").tx() as tx:
        found = tx.one("settlement_index", setl_id=setl_id)
    if found is None:
        return None
    row = {k: v for k, v in found._mapping.items() if k in INDEX_FIELDS}
    row["setl_time"] = row["setl_time"].isoformat()
    return row


def indexed(fed: Federation, setl_id: str, seconds: float = 30) -> dict[str, Any]:
    """The index row of a settlement the hub forwarded: the hub queues it for its journal as it
    forwards the answer, so it is flushed and read again until it is there."""
    deadline = time.monotonic() + seconds
    while (found := index_row(fed, setl_id)) is None:
        assert time.monotonic() < deadline, f"{setl_id} never reached the hub's index"
        time.sleep(0.1)
    return found


INDEX_FIELDS = ("setl_id", "kind", "ref_setl_id", "mdtrt_id", "psn_no", "insu_admdvs",
                "mdtrtarea_admvs", "fixmedins_code", "visit_type", "setl_time",
                *AMOUNTS, "msgid")


def confirm_as(fed: Federation, region: str, rows: list[dict[str, Any]]) -> httpx.Response:
    body = json.dumps({"rows": rows}).encode()
    key = load_keys(fed.keys_path)[region]
    return httpx.post(f"{fed.hub_url}/fed/v1/index", content=body, timeout=30,
                      headers=signed_headers(key, region, "/fed/v1/index", body))


def test_an_insured_province_cannot_cancel_a_genuine_settlement_at_the_hub(
        fed: Federation) -> None:
    _, setl_id = visit(fed.his("440000", f.SHENZHEN_H), f.ZHAO)
    original = indexed(fed, setl_id)
    assert original["kind"] == "settle"
    forged = original | {"setl_id": "XX" + setl_id[2:], "kind": "cancel",
                         "ref_setl_id": setl_id} | {k: -original[k] for k in AMOUNTS}
    answer = confirm_as(fed, "510000", [forged])
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == {"rows": 0, "held": [
        {"setl_id": forged["setl_id"],
         "why": "the treating province holds the settlement, not this cancel"}]}
    assert index_row(fed, forged["setl_id"]) is None
    assert index_row(fed, setl_id) == original  # still charged at clearing


def test_a_lost_cancel_the_treating_province_recorded_is_indexed_from_the_catch_up(
        fed: Federation) -> None:
    flow, setl_id = visit(fed.his("440000", f.SHENZHEN_H), f.QIAN)
    flow.cancel(setl_id)  # 2208, through the hub: indexed from the answer it forwards
    with store(fed, "510000").tx() as tx:
        cancel_id = tx.one("settlements", ref_setl_id=setl_id, role="insured").setl_id
    lost = indexed(fed, cancel_id)
    assert lost["kind"] == "cancel"
    with store(fed, "hub").tx() as tx:  # as if the hub died before writing it
        table = TABLES["settlement_index"]
        tx.conn.execute(table.delete().where(table.c.setl_id == cancel_id))
    with store(fed, "440000").tx() as tx:  # the treating node's cancel undid less
        tx.change("settlements", {"setl_id": cancel_id, "role": "treating"},
                  fund_pay_sumamt=lost["fund_pay_sumamt"] + 100)
    held = confirm_as(fed, "510000", [lost]).json()["result"]
    assert held == {"rows": 0, "held": [{"setl_id": cancel_id,
                                         "why": "the treating province's cancel differs"}]}
    assert index_row(fed, cancel_id) is None
    with store(fed, "440000").tx() as tx:
        tx.change("settlements", {"setl_id": cancel_id, "role": "treating"},
                  fund_pay_sumamt=lost["fund_pay_sumamt"])
    answer = confirm_as(fed, "510000", [lost])
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == {"rows": 1, "held": []}
    assert index_row(fed, cancel_id) == lost


def test_the_treating_nodes_records_by_id_are_for_the_hub_only(fed: Federation) -> None:
    keys = load_keys(fed.keys_path)
    url = fed.urls["440000"]
    query = "role=treating&ids=A1,B2"
    unsigned = httpx.get(f"{url}/fed/v1/settlements?{query}")
    assert unsigned.status_code == 401
    as_province = signed_headers(keys["440000"], "510000", "/fed/v1/settlements", b"", query)
    assert httpx.get(f"{url}/fed/v1/settlements?{query}",
                     headers=as_province).status_code == 401
    for bad in ("", "A 1", ",".join(f"S{i}" for i in range(501)), "S" * 31):
        query = urlencode({"role": "treating", "ids": bad})
        headers = signed_headers(keys["440000"], "hub", "/fed/v1/settlements", b"", query)
        answer = httpx.get(f"{url}/fed/v1/settlements?{query}", headers=headers)
        assert answer.status_code == 400, (bad, answer.text)
        assert answer.json()["error"]["field"] == "ids"


def test_a_settlement_and_cancel_the_treating_node_never_recorded_are_indexed_as_a_pair(
        fed: Federation) -> None:
    """A settle whose answer never reached the treating node, reversed at the insured node: the
    treating province holds neither record, so it claims nothing, and the pair nets to zero."""
    flow, setl_id = visit(fed.his("440000", f.SHENZHEN_H), f.SUN)
    flow.cancel(setl_id)
    with store(fed, "510000").tx() as tx:
        cancel_id = tx.one("settlements", ref_setl_id=setl_id, role="insured").setl_id
    rows = [indexed(fed, setl_id), indexed(fed, cancel_id)]
    settlements, index = TABLES["settlements"], TABLES["settlement_index"]
    with store(fed, "440000").tx() as tx:
        tx.conn.execute(settlements.delete().where(
            settlements.c.setl_id.in_([setl_id, cancel_id]), settlements.c.role == "treating"))
    with store(fed, "hub").tx() as tx:
        tx.conn.execute(index.delete().where(index.c.setl_id.in_([setl_id, cancel_id])))
    answer = confirm_as(fed, "510000", rows)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == {"rows": 2, "held": []}
    assert [index_row(fed, setl_id), index_row(fed, cancel_id)] == rows
