"""A served node settles its heap once started: what start-up left as garbage is collected,
and what is alive is frozen out of the cyclic collector's reach (adapters/heap.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from medsettle.adapters.heap import settle_heap


class Node:
    """A stand-in for what a node keeps: an object in a reference cycle."""

    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def thawed() -> Iterator[None]:
    """No automatic collection while the test runs (only settle_heap collects), and the test
    process's heap as it was afterwards: frozen objects thawed, collection on again."""
    gc.unfreeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


def test_garbage_left_by_start_up_is_collected_not_frozen(thawed: None) -> None:
    cycle = Node()
    gone = weakref.ref(cycle)
    del cycle  # unreachable, but only the cyclic collector can free it
    settle_heap()
    assert gone() is None


def test_what_is_alive_is_frozen_and_a_full_collection_no_longer_walks_it(thawed: None) -> None:
    kept = Node()
    assert any(o is kept for o in gc.get_objects())
    frozen = settle_heap()
    assert frozen == gc.get_freeze_count() > 0
    gc.collect()
    assert not any(o is kept for o in gc.get_objects())  # the collector no longer sees it
    assert kept.me is kept  # and it is still alive
