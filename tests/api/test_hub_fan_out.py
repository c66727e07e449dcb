"""The hub's routes that ask every province at once, or run a month's batch, take a few starts
per caller and then 429 with when to retry (adapters/api/fan_out.py): a member in a loop no
longer makes the hub send 32 requests a turn. Another caller is unaffected; so is another
route."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from medsettle.adapters.api.fan_out import FAN_OUT_BURST
from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.federation import signed_headers

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

KEYS = {"440000": "k-guangdong", "510000": "k-sichuan"}


@pytest.fixture
def hub(tmp_path: Any) -> Iterator[TestClient]:
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{tmp_path / 'hub.db'}", keys=KEYS))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def post(hub: TestClient, path: str, node: str, doc: Any = None) -> Any:
    body = json.dumps(doc or {}).encode()
    return hub.post(path, content=body, headers=signed_headers(KEYS[node], node, path, body))


@pytest.mark.parametrize("route", ["/fed/v1/anchors/round", "/statistics/2026-{:02d}/collect",
                                   "/supervision/2026-{:02d}/run"])
def test_a_caller_gets_a_few_starts_of_a_fan_out_then_429(hub: TestClient, route: str) -> None:
    # Each start names another month where the route has one: the limit is the route's.
    starts = [post(hub, route.format(month), "440000") for month in range(1, FAN_OUT_BURST + 2)]
    assert [s.status_code for s in starts] == [200] * FAN_OUT_BURST + [429], starts[-1].text
    error = starts[-1].json()["error"]
    assert error["code"] == "rate_limited" and 0 < error["retry_after"] <= 5
    assert route.split("/")[1] in error["message"] and "440000" in error["message"]
    assert post(hub, route.format(1), "510000").status_code == 200  # another caller
    assert post(hub, "/fed/v1/journal/flush", "440000").status_code == 200  # another route


@pytest.mark.parametrize("route", ["/clearing/2025-{:02d}/run", "/statistics/2026-{:02d}/collect",
                                   "/supervision/2026-{:02d}/run"])
def test_naming_another_operator_each_time_is_still_the_same_node(hub: TestClient,
                                                                  route: str) -> None:
    """A node may name the operator who asked it (its own text): the limit counts the node."""
    starts = [post(hub, route.format(month), "440000", {"operator": f"op{month}"})
              for month in range(1, FAN_OUT_BURST + 2)]
    assert [s.status_code for s in starts][-1] == 429, starts[-1].text
