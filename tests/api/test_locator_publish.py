"""After an outage of the hub a province sends its locator hashes again only when the hub no
longer holds one for each of its insured persons (adapters/province_node.publish_locator)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from medsettle.adapters.db.node_data import insured_count
from medsettle.adapters.locator_key import locator_hash
from medsettle.core.policy import PolicyBook
from tests.api.conftest import REGION, Province, start_province
from tests.e2e import fixtures as f


class FakeHub:
    """Answers the locator route as the hub does for one province, holding what it sent."""

    def __init__(self, held: set[str]) -> None:
        self.held = held
        self.requests: list[int] = []

    def ask(self, path: str, doc: dict[str, Any], timeout: float | None = None) -> Any:
        assert path == "/fed/v1/locator"
        self.requests.append(len(doc["hashes"]))
        self.held |= set(doc["hashes"])
        return {"count": len(doc["hashes"]), "held": len(self.held)}


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[Province]:
    yield from start_province(tmp_path_factory.mktemp("locator"), f.ROWS[REGION], book)


def every_hash(node: Province) -> set[str]:
    return {locator_hash(str(p["certno"])) for p in f.ROWS[REGION]["persons"]}


def test_a_hub_holding_every_person_is_only_asked(node: Province) -> None:
    hub = FakeHub(every_hash(node))
    node.node.hub = hub  # type: ignore[assignment]
    try:
        node.node.publish_locator(unless_held=True)
    finally:
        node.node.hub = None
    assert hub.requests == [0]  # one empty request that asks, nothing sent


def test_a_hub_that_lost_them_gets_every_hash_again(node: Province) -> None:
    hub = FakeHub(set())  # restarted on an empty locator
    node.node.hub = hub  # type: ignore[assignment]
    try:
        node.node.publish_locator(unless_held=True)
    finally:
        node.node.hub = None
    count = insured_count(node.node.store)
    assert count == len(f.ROWS[REGION]["persons"]) >= 1
    assert hub.requests == [0, count] and every_hash(node) <= hub.held
