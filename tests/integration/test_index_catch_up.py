"""The index catch-up sends only the seconds the hub lacks, on SQLite and PostgreSQL.

An insured node and the hub count their rows per UTC second in their own databases (which may
differ), so the two counts must name a second alike; the node then reads and sends only the
seconds where the hub holds fewer. The hub answers a province only about what it is a party to,
and takes index rows only from their insured province.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.db.records import settlement_row
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import signed_headers
from medsettle.adapters.index_catchup import AGAIN, CATCH_UP, SETTLING, send_index_catch_up
from medsettle.core.benefits import Amounts
from medsettle.core.calendar import second_key
from medsettle.core.records import Role, SettlementKind, SettlementRecord, SettlementStatus
from medsettle.services.reconcile import record_from
from tests.conftest import fresh_database, migrated_store

NOW = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)
KEYS = {"510000": "k-sichuan", "440000": "k-guangdong", "310000": "k-shanghai"}
BEIJING = timezone(timedelta(hours=8))


def record(setl_id: str, at: datetime, *, insured: str = "510100", treating: str = "440300",
           role: Role = Role.INSURED) -> SettlementRecord:
    return SettlementRecord(setl_id, role, SettlementKind.SETTLE, SettlementStatus.SETTLED,
                            f"V-{setl_id}", "P1", insured, treating, f"H{treating}00001", "11",
                            "outpatient", "310", at, "2026", Amounts(*([100] * 16)),
                            f"M-{setl_id}")


def index_row(r: SettlementRecord) -> dict[str, Any]:
    """The hub's index row of a record, as the node sends it."""
    return record_from(settlement_row(r)).index_row()


#: Sichuan's insured treated elsewhere (at a second's edges, in another zone, with
#: microseconds); Sichuan's own treated and records of another role, which are not counted.
SICHUAN = [record("S1", datetime(2026, 11, 30, 4, 10, 0, tzinfo=UTC)),
           record("S2", datetime(2026, 11, 30, 12, 10, 0, 999_999, tzinfo=BEIJING)),
           record("S3", datetime(2026, 11, 30, 4, 10, 1, 1, tzinfo=UTC)),
           record("S4", datetime(2026, 11, 30, 4, 10, 1, 500_000, tzinfo=UTC),
                  treating="310104"),
           record("S5", datetime(2026, 11, 30, 4, 29, 50, tzinfo=UTC))]
NOT_COUNTED = [record("L1", datetime(2026, 11, 30, 4, 10, 0, tzinfo=UTC), treating="510104"),
               record("T1", datetime(2026, 11, 30, 4, 10, 1, tzinfo=UTC), role=Role.TREATING),
               record("OLD", NOW - CATCH_UP - timedelta(seconds=1))]


@pytest.fixture(params=["sqlite", "postgres"])
def node_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    yield from migrated_store(request, tmp_path, "province")


def hub_on(request: pytest.FixtureRequest, tmp_path: Path, keys: dict[str, str]
           ) -> Iterator[TestClient]:
    """A hub with the nodes' `keys`, on SQLite (`request.param` "sqlite") or a fresh
    PostgreSQL database, behind a TestClient that answers a 500 as a response."""
    def serving(url: str) -> Iterator[TestClient]:
        with TestClient(create_hub_app(HubConfig(db_url=url, keys=keys)),
                        raise_server_exceptions=False) as client:
            yield client
    if request.param == "sqlite":
        yield from serving(f"sqlite:///{tmp_path / 'hub.db'}")
    else:
        with fresh_database(request.getfixturevalue("pg_url")) as url:
            yield from serving(url)


@pytest.fixture(params=["sqlite", "postgres"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    yield from hub_on(request, tmp_path, KEYS)


class SignedHub:
    """A node's HubClient over the test client: the same signed requests, in process."""

    def __init__(self, client: TestClient, node: str) -> None:
        self.client, self.node = client, node
        self.posted: list[list[dict[str, Any]]] = []

    def read(self, path: str, query: str = "", timeout: float | None = None) -> Any:
        answer = self.client.get(f"{path}?{query}", headers=signed_headers(
            KEYS[self.node], self.node, path, b"", query)).json()
        assert answer["ok"], answer
        return answer["result"]

    def ask(self, path: str, doc: dict[str, Any], timeout: float | None = None) -> Any:
        self.posted.append(doc["rows"])
        return self.post(path, doc)

    def post(self, path: str, doc: dict[str, Any]) -> Any:
        body = json.dumps(doc, default=str).encode()
        return self.client.post(path, content=body, headers=signed_headers(
            KEYS[self.node], self.node, path, body)).json()


def settled(store: Store, records: list[SettlementRecord]) -> None:
    with store.tx() as tx:
        for r in records:
            tx.add_settlement(r)


def test_a_node_counts_its_insureds_cross_province_records_per_utc_second(
        node_store: Store) -> None:
    settled(node_store, SICHUAN + NOT_COUNTED)
    with node_store.read() as tx:
        counts = tx.cross_province_seconds("settlements", "510000", NOW - CATCH_UP, NOW,
                                           role="insured")
    assert counts == Counter(second_key(r.settled_at) for r in SICHUAN)
    assert counts == {"2026-11-30T04:10:00": 2, "2026-11-30T04:10:01": 2,
                      "2026-11-30T04:29:50": 1}


def test_the_catch_up_sends_only_the_seconds_the_hub_holds_fewer_of(
        node_store: Store, hub: TestClient) -> None:
    just_now = record("S6", NOW - timedelta(seconds=1))
    settled(node_store, SICHUAN + NOT_COUNTED + [just_now])
    sichuan = SignedHub(hub, "510000")
    held = [SICHUAN[0], SICHUAN[1], SICHUAN[2]]  # 04:10:00 whole, 04:10:01 half, 04:29:50 none
    assert sichuan.post("/fed/v1/index", {"rows": [index_row(r) for r in held]})["ok"]
    assert send_index_catch_up(node_store, sichuan, NOW) == 4  # type: ignore[arg-type]
    assert [[r["setl_id"] for r in rows] for rows in sichuan.posted] == [
        ["S3", "S4", "S5", "S6"]]  # after a loss: up to now
    assert send_index_catch_up(node_store, sichuan, NOW) == 0  # type: ignore[arg-type]
    window = urlencode({"since": (NOW - CATCH_UP).isoformat(), "until": NOW.isoformat()})
    assert sichuan.read("/fed/v1/index/seconds", window)["seconds"] == Counter(
        second_key(r.settled_at) for r in SICHUAN + [just_now])
    repeat = NOW + AGAIN
    lost = record("S7", NOW + timedelta(seconds=1))  # committed, its answer lost with the hub
    in_flight = record("S8", repeat - SETTLING + timedelta(seconds=1))  # crossing back
    settled(node_store, [lost, in_flight])
    assert send_index_catch_up(node_store, sichuan, repeat,  # type: ignore[arg-type]
                               SETTLING) == 1
    assert [r["setl_id"] for r in sichuan.posted[-1]] == ["S7"]


def test_the_hub_answers_a_province_only_about_what_it_is_a_party_to(hub: TestClient) -> None:
    rows = [index_row(r) for r in SICHUAN]  # treated in Guangdong, one in Shanghai
    assert SignedHub(hub, "510000").post("/fed/v1/index", {"rows": rows})["ok"]
    day = "day=2026-11-30"
    seen = {node: {r["setl_id"] for r in SignedHub(hub, node).read("/fed/v1/index", day)}
            for node in KEYS}
    assert seen == {"510000": {"S1", "S2", "S3", "S4", "S5"},
                    "440000": {"S1", "S2", "S3", "S5"}, "310000": {"S4"}}
    window = urlencode({"since": (NOW - CATCH_UP).isoformat(), "until": NOW.isoformat()})
    assert SignedHub(hub, "440000").read("/fed/v1/index/seconds", window)["seconds"] == {}


def test_a_province_cannot_index_another_provinces_insured(hub: TestClient) -> None:
    guangdong = SignedHub(hub, "440000")  # the treating province of S1, not its insurer
    refused = guangdong.post("/fed/v1/index", {"rows": [index_row(SICHUAN[0])]})
    assert refused["error"]["code"] == "forbidden"
    assert "rows[0].insu_admdvs" in refused["error"]["message"]
    assert SignedHub(hub, "510000").read("/fed/v1/index", "day=2026-11-30") == []


@pytest.mark.parametrize(("query", "field"), [
    ({"since": "2026-11-30T04:00:00", "until": "2026-11-30T04:30:00+00:00"}, "since"),
    ({"since": "2026-11-30T04:00:00+00:00", "until": "yesterday"}, "until"),
    ({"since": "2026-11-30T04:30:00+00:00", "until": "2026-11-30T04:00:00+00:00"}, "until"),
    ({"since": "2026-11-30T02:00:00+00:00", "until": "2026-11-30T04:00:00+00:00"}, "until")])
def test_a_window_that_is_not_one_is_refused_naming_the_field(
        hub: TestClient, query: dict[str, str], field: str) -> None:
    path, encoded = "/fed/v1/index/seconds", urlencode(query)
    answer = hub.get(f"{path}?{encoded}", headers=signed_headers(
        KEYS["510000"], "510000", path, b"", encoded))
    assert answer.status_code == 400 and answer.json()["error"]["field"] == field
