"""An anchor round at the hub (services.anchors.take_anchors): every registered province is
asked for its head; one down fails alone; a head contradicting a kept anchor is a conflict."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.errors import PeerUnavailable
from medsettle.services import anchors
from medsettle.services.hub import register

NOW = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)


def hub(tmp_path: Path) -> Store:
    store = Store(make_engine(f"sqlite:///{tmp_path / 'hub.db'}"))
    migrate(store.engine, "hub")
    with store.tx() as tx:
        for region in ("310000", "440000", "510000"):
            register(tx, region, f"http://{region}.test", NOW)
    return store


def test_a_round_keeps_each_head_and_names_the_province_that_failed(tmp_path: Path) -> None:
    store = hub(tmp_path)
    heads = {"440000": {"seq": 7, "hash": "a" * 64}, "510000": None}
    asked: list[tuple[str, Mapping[str, Any]]] = []

    def ask(region: str, endpoint: str, doc: Mapping[str, Any]) -> Any:
        asked.append((region, doc))
        if region == "310000":
            raise PeerUnavailable("province 310000 did not answer")
        return {"ok": True, "result": {"head": heads[region]}}

    outcomes = anchors.take_anchors(store, ask, NOW)
    assert outcomes == {"310000": "failed: province 310000 did not answer",
                        "440000": "seq 7", "510000": "empty chain"}
    assert all("hub_heads" in doc for _, doc in asked)
    with store.tx() as tx:
        assert anchors.anchors_of(tx, "440000") == {7: "a" * 64}
    again = anchors.take_anchors(store, ask, NOW)
    assert again["440000"] == "seq 7 (already anchored)"


def test_a_head_that_contradicts_a_kept_anchor_is_a_conflict(tmp_path: Path) -> None:
    store = hub(tmp_path)
    with store.tx() as tx:
        anchors.store_anchor(tx, "440000", 7, "a" * 64, NOW.date(), NOW)
    outcomes = anchors.take_anchors(store, lambda region, endpoint, doc: {
        "ok": True, "result": {"head": {"seq": 7, "hash": "b" * 64}}}, NOW)
    assert outcomes["440000"].startswith("CONFLICT: node 440000 already anchored seq 7")
    with store.tx() as tx:
        assert anchors.anchors_of(tx, "440000") == {7: "a" * 64}  # the proof stays


def test_a_province_keeps_the_hubs_heads_and_answers_with_its_own(tmp_path: Path) -> None:
    province = Store(make_engine(f"sqlite:///{tmp_path / 'province.db'}"))
    migrate(province.engine, "province")
    head = anchors.exchange(province, {"log": {"seq": 3, "hash": "c" * 64}}, NOW)
    assert head is None  # an empty chain
    with province.tx() as tx:
        assert anchors.hub_anchors_of(tx, "log") == {3: "c" * 64}
