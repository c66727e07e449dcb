"""A hub killed and restarted between two heartbeats is noticed by the name of its process in
the heartbeat's answer: the node sends its index catch-up although no heartbeat failed
(adapters/index_catchup.HubBoots). A node also sends it once after it starts. A 10,000-visit kill drill once left 6 settlements to the
daily reconciliation because the restart fell between two heartbeats."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from medsettle.adapters import index_catchup
from medsettle.adapters.index_catchup import HubBoots
from medsettle.core.policy import PolicyBook
from tests.api.conftest import REGION, Province, start_province
from tests.e2e import fixtures as f


def test_a_hub_process_not_heard_from_before_is_new_but_the_first_one_is_not() -> None:
    boots = HubBoots(keep=2)
    assert not boots.is_new({"boot": "a"})  # joining: nothing to catch up
    assert not boots.is_new({"boot": "a"})
    assert boots.is_new({"boot": "b"})  # restarted
    assert not boots.is_new({"boot": "b"})
    assert not boots.is_new(None) and not boots.is_new({"ok": True}) and not boots.is_new(
        {"boot": ""})  # an answer that names no process (an older hub) tells nothing
    assert not boots.is_new({"boot": "a"})  # two workers of one hub, taking turns
    assert boots.is_new({"boot": "c"})
    assert boots.is_new({"boot": "b"})  # forgotten: only the last `keep` are kept


def test_a_catch_up_follows_start_loss_and_restart_and_each_is_sent_once_more_later(
        monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[datetime, timedelta]] = []
    monkeypatch.setattr(index_catchup, "send_index_catch_up",
                        lambda store, hub, now, settling: sent.append((now, settling)) or 7)
    at = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    catch_up = index_catchup.CatchUp(again=timedelta(seconds=15))

    def beat(seconds: int, boot: str = "a") -> tuple[int, bool] | None:
        now = at + timedelta(seconds=seconds)
        catch_up.heard({"boot": boot})
        return catch_up.send(None, None, now) if catch_up.due(now) else None  # type: ignore[arg-type]

    assert catch_up.owed()  # from the node's start (the metric medsettle_index_catch_up_owed)
    assert beat(0) == (7, True)  # the node started
    assert beat(2) is None and beat(14) is None
    assert catch_up.owed()  # the repeat is still to come
    assert beat(16) == (7, False)  # once more: what was in flight has committed
    assert not catch_up.owed()
    assert beat(18) is None and beat(60) is None  # not again
    catch_up.lost()  # a heartbeat failed
    assert beat(62) == (7, True) and beat(64) is None and beat(78) == (7, False)
    assert beat(80, boot="b") == (7, True)  # a new hub process
    assert beat(82, boot="b") is None
    assert len(sent) == 5
    # a catch-up after a loss reaches up to now; its repeat leaves the last seconds, whose
    # settlements may still be crossing back, to the hub, which was up by then
    assert [settling for _, settling in sent] == [timedelta(0), index_catchup.SETTLING,
                                                  timedelta(0), index_catchup.SETTLING,
                                                  timedelta(0)]


class RestartingHub:
    """Answers register and heartbeats as one hub process, then (once told) as another."""

    def __init__(self) -> None:
        self.boot = "first"
        self.heartbeats = 0  # answered by the present process
        self.beaten = threading.Event()  # set after two heartbeats of the present process

    def restart(self) -> None:
        self.beaten = threading.Event()
        self.boot, self.heartbeats = "second", 0

    def ask(self, path: str, doc: dict[str, Any], timeout: float | None = None) -> Any:
        if path in ("/fed/v1/register", "/fed/v1/heartbeat"):
            self.heartbeats += path.endswith("heartbeat")
            if self.heartbeats >= 2:
                self.beaten.set()
            return {"boot": self.boot}
        if path == "/fed/v1/locator":
            return {"count": len(doc["hashes"]), "elsewhere": [], "held": 10**6, "twice": 0}
        raise AssertionError(f"unexpected request {path}")

    def post(self, path: str, doc: dict[str, Any], timeout: float | None = None) -> Any:
        raise AssertionError(f"unexpected request {path}")  # an empty ledger sends no anchor


@pytest.fixture()
def node(tmp_path: Path, book: PolicyBook) -> Iterator[Province]:
    yield from start_province(tmp_path, f.ROWS[REGION], book)


def heartbeats_with(node: Province, hub: RestartingHub, restart: bool,
                    monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """Run the node's heartbeat loop until two heartbeats reached the hub's last process (it
    restarted after the node's first catch-up if `restart`); when the node sent catch-ups."""
    sent: list[datetime] = []
    first = threading.Event()

    def catch_up(store: object, hub: object, now: datetime, settling: timedelta) -> int:
        sent.append(now)
        first.set()
        return 0

    monkeypatch.setattr(index_catchup, "send_index_catch_up", catch_up)
    node.node.config = replace(node.node.config, heartbeat_seconds=0.05)
    node.node.hub = hub  # type: ignore[assignment]
    loop = threading.Thread(target=node.node.background)
    loop.start()
    try:
        assert first.wait(10), "no catch-up after the node joined"
        if restart:
            hub.restart()
        assert hub.beaten.wait(10)
    finally:
        node.node._stop.set()
        loop.join(10)
        node.node.hub = None
    return sent


def test_a_hub_restarted_between_heartbeats_gets_the_index_catch_up(
        node: Province, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(heartbeats_with(node, RestartingHub(), True, monkeypatch)) == 2  # start, restart


def test_the_same_hub_process_gets_the_catch_up_once_after_the_node_starts(
        node: Province, monkeypatch: pytest.MonkeyPatch) -> None:
    """A node killed after a settlement committed and before its answer crossed back, or one
    that was down when the hub restarted, left rows the hub may lack: it sends them at start."""
    assert len(heartbeats_with(node, RestartingHub(), False, monkeypatch)) == 1
