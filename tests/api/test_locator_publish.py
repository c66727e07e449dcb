"""A province sends its locator hashes again (after an outage of the hub, and at each anchor
round) only when something may be missing at the hub: persons loaded since the last
publication, or a hub holding fewer than it did then (adapters/province_node.publish_locator)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medsettle.adapters.locator_key import locator_hash
from medsettle.core.codes import make_id_card
from medsettle.core.policy import PolicyBook
from tests.api.conftest import REGION, Province, start_province
from tests.api.test_console_pages import add, browser, sign_in
from tests.e2e import fixtures as f


class FakeHub:
    """Answers the locator route as the hub does for one province: `held` is what it holds for
    the province; `foreign` are hashes it keeps for another province (not counted as ours)."""

    def __init__(self, held: set[str], foreign: frozenset[str] = frozenset()) -> None:
        self.held = held
        self.foreign = foreign
        self.also: set[str] = set()  # of our held hashes, those another province published too
        self.requests: list[int] = []

    def ask(self, path: str, doc: dict[str, Any], timeout: float | None = None) -> Any:
        assert path == "/fed/v1/locator"
        self.requests.append(len(doc["hashes"]))
        self.held |= set(doc["hashes"]) - self.foreign
        if not doc["hashes"]:  # an ask
            return {"count": 0, "elsewhere": [], "held": len(self.held),
                    "twice": len(self.foreign | self.also)}
        return {"count": len(doc["hashes"]), "elsewhere": [
            {"certno_hash": h, "province": "510000"} for h in doc["hashes"]
            if h in self.foreign | self.also]}


@pytest.fixture()
def node(tmp_path: Path, book: PolicyBook) -> Iterator[Province]:
    yield from start_province(tmp_path, f.ROWS[REGION], book)


def persons(node: Province) -> int:
    with node.node.store.read() as tx:
        return tx.count("persons")


def ours() -> set[str]:
    return {locator_hash(str(p["certno"])) for p in f.ROWS[REGION]["persons"]}


def looks(node: Province, hub: FakeHub, times: int = 1) -> list[int]:
    """What the node sends in `times` looks (as after an outage, or each anchor round)."""
    node.node.hub = hub  # type: ignore[assignment]
    try:
        for _ in range(times):
            node.node.publish_locator(unless_held=True)
    finally:
        node.node.hub = None
    return hub.requests


def test_after_a_publication_a_hub_that_kept_everything_is_only_asked(node: Province) -> None:
    hub = FakeHub(set())
    count = persons(node)
    assert count == len(f.ROWS[REGION]["persons"]) >= 1
    assert looks(node, hub, times=3) == [count, 0, 0, 0]  # sent once (then counted), asked
    assert hub.held == ours()


def test_a_hub_that_lost_its_locator_gets_every_hash_again(node: Province) -> None:
    hub = FakeHub(set())
    looks(node, hub)
    hub.held.clear()  # restarted on an empty locator
    hub.requests.clear()
    count = persons(node)
    assert looks(node, hub) == [0, count, 0] and hub.held == ours()


def test_a_person_loaded_since_is_sent(node: Province) -> None:
    hub = FakeHub(set())
    looks(node, hub)
    newcomer = f.CHEN | {"psn_no": "44030000000000000000000077",
                         "certno": make_id_card("44030419920202007"), "card_no": "A44000077",
                         "card_sn": "SN440077", "evoucher": "EC440300" + "N" * 23 + "7"}
    with node.node.store.tx() as tx:
        tx.add("persons", newcomer)
    hub.requests.clear()
    assert looks(node, hub) == [0, persons(node), 0]
    assert locator_hash(newcomer["certno"]) in hub.held


def test_a_hash_kept_for_another_province_does_not_resend_everything(node: Province) -> None:
    """A person insured in two provinces: the hub keeps the other province's row, so it holds
    one fewer for us than we insure, for good."""
    hub = FakeHub(set(), foreign=frozenset(list(ours())[:1]))
    count = persons(node)
    assert looks(node, hub, times=3) == [count, 0, 0, 0]
    assert len(hub.held) == count - 1
    with node.node.store.read() as tx:  # and the node knows whom: 重复参保
        twice = [(r.psn_no, r.province) for r in tx.rows("insured_elsewhere")]
    assert twice == [(f.ROWS[REGION]["persons"][0]["psn_no"], "510000")]


def test_the_supervision_page_lists_persons_insured_elsewhere(node: Province) -> None:
    looks(node, FakeHub(set(), foreign=frozenset(list(ours())[:1])))
    add(node, "clerk")
    page = sign_in(browser(node), "clerk").get("/console/supervision").text
    section = page[page.index('id="insured-elsewhere"'):]
    person = f.ROWS[REGION]["persons"][0]["psn_no"]
    assert "重复参保" in section and f'data-person="{person}"' in section
    assert "四川" in section  # the other province, by name


def test_a_person_another_province_insures_too_is_learnt_at_the_next_look(
        node: Province) -> None:
    """We published first; another province publishes the same hash later: the hub's count of
    our persons insured twice goes up, and the next look sends ours again to learn whom."""
    hub = FakeHub(set())
    looks(node, hub)
    hub.also = set(list(ours())[:1])
    hub.requests.clear()
    count = persons(node)
    assert looks(node, hub, times=2) == [0, count, 0, 0]
    with node.node.store.read() as tx:
        assert [r.province for r in tx.rows("insured_elsewhere")] == ["510000"]


class SlowHub(FakeHub):
    """A hub that registers the node at once but holds the locator publication until released
    (a busy hub at start)."""

    def __init__(self) -> None:
        super().__init__(set())
        self.registered = threading.Event()
        self.release = threading.Event()

    def ask(self, path: str, doc: dict[str, Any], timeout: float | None = None) -> Any:
        if path == "/fed/v1/register":
            self.registered.set()
            return {"ok": True}
        if path == "/fed/v1/heartbeat":
            return {"ok": True}
        assert self.release.wait(10), "the test never released the locator"
        return super().ask(path, doc, timeout)


def test_the_node_says_it_joined_only_once_its_persons_can_be_found(node: Province) -> None:
    """Registered is not joined: until the locator reached the hub, no other province can find
    the node's insured persons, and /healthz says so (a launcher waits for it)."""
    hub = SlowHub()
    node.node.hub = hub  # type: ignore[assignment]
    loop = threading.Thread(target=node.node.background)
    loop.start()
    try:
        assert hub.registered.wait(10)
        assert node.http.get("/healthz").json()["joined"] is False
        hub.release.set()
        assert node.node.joined.wait(10)
        assert node.http.get("/healthz").json()["joined"] is True
        assert hub.held == ours()
    finally:
        hub.release.set()
        node.node._stop.set()
        loop.join(10)
        node.node.hub = None
