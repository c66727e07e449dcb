"""The hub's signed routes at the edge: a malformed body is a 400 naming the field, a call the hub
must not forward is refused (400 or 403), an unexpected fault is a JSON 500, and the routing
table is safe to read while other threads change it."""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.federation import signed_headers
from medsettle.core.errors import NotFound
from medsettle.services import hub as hub_svc
from medsettle.services.forwarding import FORWARDED_OPS
from medsettle.services.hub_routing import RoutingTable
from medsettle.services.insured_ops import OPERATIONS

with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

KEYS = {"440000": "k-guangdong", "510000": "k-sichuan", "110000": "k-beijing"}
HASH = "ab" * 32
CALL = {"to": "510100", "op": "person_info", "msgid": "H44030400123202503011030000001",
        "payload": {"cert_type": "02", "cert_no": "x"}}
SETTLE = {"visit_id": "M1", "person_id": "P1", "treating_region": "440300",
          "insured_region": "510100"}
DROP = object()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("hub") / "hub.db"
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{db}", keys=KEYS))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def post(client: TestClient, path: str, doc: Any, node: str = "440000") -> Any:
    """POST a document (or raw bytes) signed by `node`."""
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return client.post(path, content=body, headers=signed_headers(KEYS[node], node, path, body))


def call(**change: Any) -> dict[str, Any]:
    """CALL with some keys changed (DROP removes one)."""
    return {k: v for k, v in (CALL | change).items() if v is not DROP}


BAD_BODIES = [
    ("/fed/v1/call", call(to=DROP), "to"),
    ("/fed/v1/call", call(to=510000), "to"),
    ("/fed/v1/call", call(to=None), "to"),
    ("/fed/v1/call", call(to="51"), "to"),
    ("/fed/v1/call", call(to="990000"), "to"),
    ("/fed/v1/call", call(to="５１００００"), "to"),
    ("/fed/v1/call", call(op=DROP), "op"),
    ("/fed/v1/call", call(op=["settle"]), "op"),
    ("/fed/v1/call", call(msgid=DROP), "msgid"),
    ("/fed/v1/call", call(msgid=12345), "msgid"),
    ("/fed/v1/call", call(op="cancel_settlement", msgid=""), "msgid"),
    ("/fed/v1/call", call(msgid=None), "msgid"),
    ("/fed/v1/call", call(msgid="M" * 41), "msgid"),
    ("/fed/v1/call", call(msgid="two words"), "msgid"),
    ("/fed/v1/call", call(msgid="编号1"), "msgid"),
    ("/fed/v1/call", call(payload=DROP), "payload"),
    ("/fed/v1/call", call(payload=[1, 2]), "payload"),
    ("/fed/v1/call", call(payload="{}"), "payload"),
    ("/fed/v1/call", [CALL], "body"),
    ("/fed/v1/call", b"{not json", "body"),
    ("/fed/v1/locate", {}, "certno_hash"),
    ("/fed/v1/locate", {"certno_hash": 12}, "certno_hash"),
    ("/fed/v1/locate", {"certno_hash": ["ab" * 32]}, "certno_hash"),
    ("/fed/v1/locate", {"certno_hash": "AB" * 32}, "certno_hash"),
    ("/fed/v1/register", {}, "endpoint"),
    ("/fed/v1/register", {"endpoint": 8144}, "endpoint"),
    ("/fed/v1/register", {"endpoint": "ftp://127.0.0.1:8144"}, "endpoint"),
    ("/fed/v1/register", {"endpoint": "http://" + "h" * 200}, "endpoint"),
    # the hub appends its paths: a query, user or fragment would aim its requests elsewhere
    ("/fed/v1/register", {"endpoint": "http://127.0.0.1:9/admin/delete?x="}, "endpoint"),
    ("/fed/v1/register", {"endpoint": "http://user:pw@10.0.0.1:80"}, "endpoint"),
    ("/fed/v1/register", {"endpoint": "http://10.0.0.1:80/#x"}, "endpoint"),
    ("/fed/v1/register", {"endpoint": "https://gd.example:8443"}, "endpoint"),
    ("/fed/v1/locator", {}, "hashes"),
    ("/fed/v1/locator", {"hashes": HASH}, "hashes"),
    ("/fed/v1/locator", {"hashes": {"a": HASH}}, "hashes"),
    ("/fed/v1/locator", {"hashes": [HASH, 7]}, "hashes[1]"),
    ("/fed/v1/locator", {"hashes": [HASH, "abc"]}, "hashes[1]"),
    ("/fed/v1/locator", {"hashes": [None]}, "hashes[0]"),
    ("/fed/v1/locator", {"hashes": [HASH] * 10_001}, "hashes"),
    ("/fed/v1/journal/flush", "now", "body"),
]


@pytest.mark.parametrize(("path", "doc", "field"), BAD_BODIES,
                         ids=[f"{p.rsplit('/', 1)[1]}-{i}" for i, (p, _, _) in
                              enumerate(BAD_BODIES)])
def test_a_malformed_signed_body_is_a_400_naming_the_field(hub: TestClient, path: str, doc: Any,
                                                           field: str) -> None:
    answer = post(hub, path, doc)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert answer.json()["ok"] is False
    assert error["code"] in ("invalid_input", "invalid_code")
    assert error["field"] == field


REFUSED_CALLS = [
    ("440000", call(op="run_clearing"), 400, "invalid_input", "op"),
    ("440000", call(op="pay_institutions"), 400, "invalid_input", "op"),
    ("440000", call(op="../ops/settle"), 400, "invalid_input", "op"),
    ("440000", call(to="440300"), 403, "forbidden", "to"),
    ("440000", call(to="440000", op="cancel_settlement"), 403, "forbidden", "to"),
    ("440000", call(op="settle", payload=SETTLE | {"treating_region": "510100"}), 403,
     "forbidden", "payload.treating_region"),
    ("440000", call(op="open_visit", payload=SETTLE | {"treating_region": "110100"}), 403,
     "forbidden", "payload.treating_region"),
    ("440000", call(op="pre_settle", payload=SETTLE | {"treating_region": "510100"}), 403,
     "forbidden", "payload.treating_region"),
    ("440000", call(op="settle", payload={"visit_id": "M1"}), 400, "invalid_code",
     "payload.treating_region"),
    ("440000", call(op="settle", payload=SETTLE | {"treating_region": 440300}), 400,
     "invalid_code", "payload.treating_region"),
    ("510000", call(to="110000", op="settle", payload=SETTLE), 403, "forbidden",
     "payload.treating_region"),
    # a settlement of Guangdong's own insured, indexed as Sichuan's, would be cleared to it
    ("110000", call(to="440100", op="settle", payload=SETTLE | {"treating_region": "110100"}),
     403, "forbidden", "payload.insured_region"),
    ("440000", call(op="pre_settle", payload=SETTLE | {"insured_region": "110100"}), 403,
     "forbidden", "payload.insured_region"),
    ("440000", call(op="settle", payload=SETTLE | {"insured_region": None}), 400,
     "invalid_code", "payload.insured_region"),
    # a referral filed through the hub goes into the sender's own province only
    ("440000", call(op="file_referral", payload={"destination": "110100"}), 403, "forbidden",
     "payload.destination"),
    ("440000", call(op="file_referral", payload={"person_id": "P1"}), 400, "invalid_code",
     "payload.destination"),
]


@pytest.mark.parametrize(("sender", "doc", "status", "code", "field"), REFUSED_CALLS)
def test_the_hub_forwards_only_what_a_treating_place_may_ask(
        hub: TestClient, sender: str, doc: dict[str, Any], status: int, code: str,
        field: str) -> None:
    answer = post(hub, "/fed/v1/call", doc, node=sender)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(f"{field}: ")
    assert error["field"] == (field if status == 400 else None)


@pytest.mark.parametrize("doc", [
    call(),
    call(msgid=""),  # a read the treating node sends without a msgid
    call(op="accumulations", msgid="", payload={"person_id": "P1"}),
    call(op="cancel_settlement", payload={"setl_id": "S1", "cancel_setl_id": "C1"}),
    call(op="settle", payload=SETTLE),
    call(to="110105", op="open_visit", payload=SETTLE | {"treating_region": "440000"}),
    call(to="110105", op="file_referral", payload={"destination": "440300"}),
])
def test_an_allowed_call_goes_on_to_routing(hub: TestClient, doc: dict[str, Any]) -> None:
    answer = post(hub, "/fed/v1/call", doc)  # nobody registered: routing finds no node
    assert answer.status_code == 404, answer.text
    assert "no province node serves" in answer.json()["error"]["message"]


def test_every_forwarded_operation_is_one_the_insured_node_runs() -> None:
    assert FORWARDED_OPS <= set(OPERATIONS)


def test_an_unexpected_fault_at_the_hub_is_a_json_500(hub: TestClient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: Any) -> str:
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(hub_svc, "locate", broken)
    answer = post(hub, "/fed/v1/locate", {"certno_hash": HASH})
    assert answer.status_code == 500
    assert answer.json() == {"ok": False, "error": {
        "code": "internal", "message": "internal error at the hub; see its log"}}
    assert "disk on fire" not in answer.text


class Lookups:
    """A database lookup for a RoutingTable that can act as another thread meanwhile."""

    def __init__(self, meanwhile: Any = None) -> None:
        self.meanwhile = meanwhile
        self.count = 0

    def __call__(self, province: str) -> str:
        self.count += 1
        if province == "990000":
            raise NotFound("no province node serves region 990000")
        if self.meanwhile is not None:
            self.meanwhile(province)
        return f"http://db/{province}"


def test_a_route_forgotten_during_its_lookup_still_answers() -> None:
    table: RoutingTable
    lookups = Lookups(meanwhile=lambda province: table.forget(province))
    table = RoutingTable(lookups)
    assert table.endpoint_of("510000") == "http://db/510000"  # was KeyError with a plain dict


def test_a_registration_during_a_lookup_wins_the_cache() -> None:
    table: RoutingTable
    lookups = Lookups(meanwhile=lambda province: table.set(province, "http://new/510000"))
    table = RoutingTable(lookups)
    assert table.endpoint_of("510000") == "http://db/510000"
    assert table.endpoint_of("510000") == "http://new/510000"
    assert lookups.count == 1


def test_routes_are_cached_forgotten_and_looked_up_again() -> None:
    lookups = Lookups()
    table = RoutingTable(lookups)
    table.set("440000", "http://registered/440000")
    assert table.endpoint_of("440000") == "http://registered/440000"
    assert table.endpoint_of("510000") == table.endpoint_of("510000") == "http://db/510000"
    assert lookups.count == 1
    table.forget("510000")
    table.forget("510000")  # forgetting twice is harmless
    assert table.endpoint_of("510000") == "http://db/510000"
    assert lookups.count == 2
    with pytest.raises(NotFound):
        table.endpoint_of("990000")
    assert len(table) == 2


def test_the_routing_table_never_raises_under_concurrent_update_and_read() -> None:
    table = RoutingTable(Lookups())
    failures: list[BaseException] = []
    stop = threading.Event()

    def churn(k: int) -> None:
        try:
            while not stop.is_set():
                table.forget("510000")
                table.set("510000", f"http://registered/{k}")
                assert table.endpoint_of("510000").startswith("http://")
        except BaseException as exc:  # any failure fails the test below
            failures.append(exc)
    threads = [threading.Thread(target=churn, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    stop.wait(0.3)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []



def test_the_locator_answer_says_how_many_hashes_the_hub_holds_for_the_sender(
        hub: TestClient) -> None:
    """An empty request asks; another province's hashes are not counted as ours, and a hash
    sent twice is held once."""
    mine, theirs = ["c1" * 32, "c2" * 32], ["d1" * 32]
    assert post(hub, "/fed/v1/locator", {"hashes": []}, "110000").json()["result"] == {
        "count": 0, "held": 0, "elsewhere": [], "twice": 0}
    assert post(hub, "/fed/v1/locator", {"hashes": theirs}, "510000").status_code == 200
    answer = post(hub, "/fed/v1/locator", {"hashes": mine + mine[:1]}, "110000").json()
    assert answer["result"] == {"count": 3, "elsewhere": []}  # a publication is not counted
    assert post(hub, "/fed/v1/locator", {"hashes": []}, "110000").json()["result"]["held"] == 2


def test_a_hash_two_provinces_publish_is_told_to_both_as_insured_elsewhere(
        hub: TestClient) -> None:
    """重复参保: the second province is told at once, the first when it publishes the hash
    again; a lookup of the hash names neither (the hospital names the insured place)."""
    twice, once = "e1" * 32, "e2" * 32
    first = post(hub, "/fed/v1/locator", {"hashes": [twice, once]}, "440000").json()["result"]
    assert first["elsewhere"] == []
    second = post(hub, "/fed/v1/locator", {"hashes": [twice]}, "510000").json()["result"]
    assert second["elsewhere"] == [{"certno_hash": twice, "province": "440000"}]
    assert post(hub, "/fed/v1/locator", {"hashes": []}, "510000").json()["result"]["twice"] == 1
    asked = post(hub, "/fed/v1/locator", {"hashes": []}, "440000").json()["result"]
    assert asked["twice"] == 1 and asked["elsewhere"] == []  # the first: one of ours, not whom
    again = post(hub, "/fed/v1/locator", {"hashes": [twice, once]}, "440000").json()["result"]
    assert again["elsewhere"] == [{"certno_hash": twice, "province": "510000"}]
    assert post(hub, "/fed/v1/locate", {"certno_hash": twice}, "110000").status_code == 409
    located = post(hub, "/fed/v1/locate", {"certno_hash": once}, "110000").json()
    assert located["result"]["province"] == "440000"


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8144", "http://gd-node.internal:8080",
                                      "http://[::1]:8080", "http://10.1.2.3/gd/",
                                      "http://gd.example"])
def test_a_province_registers_a_plain_http_endpoint(hub: TestClient, endpoint: str) -> None:
    answer = post(hub, "/fed/v1/register", {"endpoint": endpoint})
    assert answer.status_code == 200, answer.text


def test_a_hash_two_provinces_published_names_neither(hub: TestClient) -> None:
    """Every province holds the locator key, so any could publish the hash of a person it does
    not insure: the first to publish does not win the person's lookups."""
    squatted = "c" * 64
    assert post(hub, "/fed/v1/locator", {"hashes": [squatted]}, node="440000").status_code == 200
    assert post(hub, "/fed/v1/locate", {"certno_hash": squatted},
                node="110000").json()["result"]["province"] == "440000"
    assert post(hub, "/fed/v1/locator", {"hashes": [squatted]}, node="510000").status_code == 200
    answer = post(hub, "/fed/v1/locate", {"certno_hash": squatted}, node="110000")
    assert answer.status_code == 409, answer.text
    assert "insuplc_admdvs" in answer.json()["error"]["message"]
