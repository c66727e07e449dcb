"""A hash two provinces published names neither in a lookup (a person insured twice, 重复参保, a
person who moved insurance, or a province that published a hash it does not insure). The hub's
operators see those hashes and take one province's publication back, in the audit log; lookups
find the person again. Nobody else may (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.federation import signed_headers
from medsettle.services.operators import create_operator
from tests.conftest import fresh_database

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

KEYS = {"440000": "k-guangdong", "510000": "k-sichuan", "110000": "k-beijing"}
NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)
PASSWORD = "correct horse battery staple 42"


class Hub:
    def __init__(self, http: TestClient, token: str) -> None:
        self.http, self.token = http, token
        self.as_operator = {"authorization": f"Bearer {token}"}

    def signed(self, path: str, doc: Any, node: str) -> Any:
        body = json.dumps(doc).encode()
        return self.http.post(path, content=body,
                              headers=signed_headers(KEYS[node], node, path, body))

    def publish(self, node: str, *hashes: str) -> None:
        assert self.signed("/fed/v1/locator", {"hashes": list(hashes)}, node).status_code == 200

    def locate(self, certno_hash: str) -> Any:
        return self.signed("/fed/v1/locate", {"certno_hash": certno_hash}, "110000")

    def withdraw(self, certno_hash: str, doc: Any, headers: dict[str, str] | None = None
                 ) -> Any:
        return self.http.post(f"/locator/{certno_hash}/withdraw", json=doc,
                              headers=self.as_operator if headers is None else headers)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Hub]:
    if request.param == "sqlite":
        yield from _hub(f"sqlite:///{tmp_path / 'hub.db'}")
    else:
        with fresh_database(request.getfixturevalue("pg_url")) as url:
            yield from _hub(url)


def _hub(url: str) -> Iterator[Hub]:
    app = create_hub_app(HubConfig(db_url=url, keys=KEYS))
    with TestClient(app, raise_server_exceptions=False) as http:
        with app.state.store.tx() as tx:
            _, token = create_operator(tx, "hub-ops", "hub", None, NOW, PASSWORD)
        yield Hub(http, token)
    app.state.store.engine.dispose()


def provinces(answer: Any) -> list[tuple[str, bool]]:
    assert answer.status_code == 200, answer.text
    return [(c["province"], c["holder"]) for c in answer.json()["result"]]


def test_an_operator_takes_a_squatters_publication_back_and_lookups_find_the_person(
        hub: Hub) -> None:
    person, squatted_later = "a1" * 32, "b2" * 32
    hub.publish("440000", person)       # the squatter published first: the locator holds it
    hub.publish("510000", person, squatted_later)
    hub.publish("440000", squatted_later)  # ... and later
    assert hub.locate(person).status_code == 409
    contested = hub.http.get("/locator/contested", headers=hub.as_operator).json()["result"]
    assert {(c["certno_hash"], c["province"], c["holder"]) for c in contested} == {
        (person, "510000", "440000"), (squatted_later, "440000", "510000")}
    assert provinces(hub.http.get(f"/locator/{person}", headers=hub.as_operator)) == [
        ("440000", True), ("510000", False)]

    assert provinces(hub.withdraw(person, {"province": "440000"})) == [("510000", True)]
    assert hub.locate(person).json()["result"]["province"] == "510000"
    assert provinces(hub.withdraw(squatted_later, {"province": "440000"})) == [
        ("510000", True)]
    assert hub.locate(squatted_later).json()["result"]["province"] == "510000"
    assert hub.http.get("/locator/contested", headers=hub.as_operator).json()["result"] == []
    # The holder's count and the twice-insured count of each province follow.
    asked = hub.signed("/fed/v1/locator", {"hashes": []}, "510000").json()["result"]
    assert asked == {"count": 0, "elsewhere": [], "held": 2, "twice": 0}

    with hub.http.app.state.store.tx() as tx:  # type: ignore[attr-defined]
        lines = [r for r in tx.rows("audit_log") if r.action == "locator.withdraw"]
    assert len(lines) == 2 and all(r.actor == "hub-ops" for r in lines)


def test_the_last_publication_taken_back_leaves_the_hash_unknown(hub: Hub) -> None:
    moved = "c3" * 32
    hub.publish("110000", moved)
    assert provinces(hub.withdraw(moved, {"province": "110000"})) == []
    assert hub.locate(moved).status_code == 404


@pytest.mark.parametrize(("path", "doc", "status", "field"), [
    ("d4" * 32, {"province": "510000"}, 404, "province"),   # 510000 never published it
    ("d4" * 32, {}, 400, "province"),
    ("d4" * 32, {"province": 440000}, 400, "province"),
    ("d4" * 32, {"province": "99"}, 400, "province"),
    ("D4" * 32, {"province": "440000"}, 400, "certno_hash"),
    ("d4" * 31, {"province": "440000"}, 400, "certno_hash"),
])
def test_a_bad_withdrawal_names_its_field_and_changes_nothing(
        hub: Hub, path: str, doc: Any, status: int, field: str) -> None:
    hub.publish("440000", "d4" * 32)
    answer = hub.withdraw(path, doc)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["field"] == field
    assert hub.locate("d4" * 32).json()["result"]["province"] == "440000"


def test_only_the_hubs_operators_see_or_take_back_a_publication(hub: Hub) -> None:
    person = "e5" * 32
    hub.publish("440000", person)
    hub.publish("510000", person)
    path = f"/locator/{person}/withdraw"
    body = json.dumps({"province": "440000"}).encode()
    tries = [
        hub.withdraw(person, {"province": "440000"}, headers={}),
        hub.withdraw(person, {"province": "440000"}, headers={"authorization": "Bearer nope"}),
        # a province's node signature is not an operator's: the other claimant cannot do it
        hub.http.post(path, content=body, headers=signed_headers(KEYS["510000"], "510000",
                                                                 path, body)),
        hub.http.get("/locator/contested"),
        hub.http.get(f"/locator/{person}", headers=signed_headers(
            KEYS["510000"], "510000", f"/locator/{person}", b"")),
    ]
    assert [t.status_code for t in tries] == [401] * 5
    assert hub.locate(person).status_code == 409
