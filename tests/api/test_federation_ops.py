"""A province's hub-signed routes at the edge: a replayed request is refused, the query string is
signed, and a malformed body is a 400 naming the field (never a 500)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from medsettle.adapters.federation import signed_headers
from tests.api.conftest import Province
from tests.e2e import fixtures as f

KEY = "k"  # the province fixture's key, which the hub signs with
OP = {"from": "510000", "msgid": "H51010500001202503011030000001",
      "payload": {"cert_type": "02", "cert_no": f.CHEN["certno"]}}
DROP = object()


def post(province: Province, path: str, doc: Any, headers: dict[str, str] | None = None) -> Any:
    """POST a document (or raw bytes) signed as the hub (or with the given headers)."""
    body = doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False).encode()
    return province.http.post(path, content=body,
                              headers=headers or signed_headers(KEY, "hub", path, body))


def op(**change: Any) -> dict[str, Any]:
    """OP with some keys changed (DROP removes one)."""
    return {k: v for k, v in (OP | change).items() if v is not DROP}


def test_a_replayed_person_info_is_refused(province: Province) -> None:
    path = "/fed/v1/ops/person_info"
    body = json.dumps(OP).encode()
    headers = signed_headers(KEY, "hub", path, body)
    first = post(province, path, body, headers)
    assert first.status_code == 200, first.text
    assert first.json()["result"]["identity"]["name"] == f.CHEN["psn_name"]
    replay = post(province, path, body, headers)
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "authentication_failed"
    assert f.CHEN["psn_name"] not in replay.text


@pytest.mark.parametrize("doc", [op(), op(msgid="")], ids=["with-msgid", "read-without-msgid"])
def test_a_well_formed_person_info_is_answered(province: Province, doc: dict[str, Any]) -> None:
    answer = post(province, "/fed/v1/ops/person_info", doc)
    assert answer.status_code == 200, answer.text


def test_the_hub_itself_may_only_cancel_a_settlement(province: Province) -> None:
    answer = post(province, "/fed/v1/ops/person_info", op(**{"from": "hub"}))
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "forbidden"


def test_a_settlement_list_signed_for_another_query_is_refused(province: Province) -> None:
    path = "/fed/v1/settlements"
    signed = signed_headers(KEY, "hub", path, b"", "day=2025-03-01&role=insured")
    changed = province.http.get(f"{path}?day=2025-03-01&role=treating", headers=signed)
    assert changed.status_code == 401
    signed = signed_headers(KEY, "hub", path, b"", "day=2025-03-01&role=insured")
    same = province.http.get(f"{path}?day=2025-03-01&role=insured", headers=signed)
    assert same.status_code == 200, same.text


BAD_BODIES = [
    ("/fed/v1/ops/person_info", op(**{"from": DROP}), "from"),
    ("/fed/v1/ops/person_info", op(**{"from": 510000}), "from"),
    ("/fed/v1/ops/person_info", op(**{"from": "510100"}), "from"),
    ("/fed/v1/ops/person_info", op(**{"from": "990000"}), "from"),
    ("/fed/v1/ops/person_info", op(**{"from": "reconcile"}), "from"),
    ("/fed/v1/ops/person_info", op(**{"from": ["hub"]}), "from"),
    ("/fed/v1/ops/person_info", op(msgid=DROP), "msgid"),
    ("/fed/v1/ops/person_info", op(msgid=7), "msgid"),
    ("/fed/v1/ops/settle", op(msgid=""), "msgid"),
    ("/fed/v1/ops/person_info", op(msgid=None), "msgid"),
    ("/fed/v1/ops/person_info", op(msgid="M" * 41), "msgid"),
    ("/fed/v1/ops/person_info", op(msgid="tab\there"), "msgid"),
    ("/fed/v1/ops/settle", op(payload=DROP), "payload"),
    ("/fed/v1/ops/settle", op(payload=[OP["payload"]]), "payload"),
    ("/fed/v1/ops/settle", op(payload="{}"), "payload"),
    ("/fed/v1/ops/settle", [OP], "body"),
    ("/fed/v1/ops/settle", b"\xff\xfe", "body"),
    ("/fed/v1/reconciliation-reports", [1, 2], "body"),
    ("/fed/v1/reconciliation-reports", "report", "body"),
    ("/fed/v1/reconciliation-reports", b"{", "body"),
    ("/fed/v1/reconciliation-reports", {}, "day"),
    ("/fed/v1/reconciliation-reports", {"day": 20250301}, "day"),
    ("/fed/v1/reconciliation-reports", {"day": "2025-03-01", "report": [1]}, "report"),
]


@pytest.mark.parametrize(("path", "doc", "field"), BAD_BODIES,
                         ids=[f"{p.rsplit('/', 1)[1]}-{i}" for i, (p, _, _) in
                              enumerate(BAD_BODIES)])
def test_a_malformed_hub_signed_body_is_a_400_naming_the_field(
        province: Province, path: str, doc: Any, field: str) -> None:
    before = province.snapshot()
    answer = post(province, path, doc)
    assert answer.status_code == 400, answer.text
    assert answer.json()["ok"] is False
    assert answer.json()["error"]["code"] in ("invalid_input", "invalid_code")
    assert answer.json()["error"]["field"] == field
    assert province.snapshot() == before


#: The routes only the hub may call, with a request the hub itself would make.
HUB_ONLY: list[tuple[str, str, bytes]] = [
    ("POST", "/fed/v1/clearing/2025-03/pay-institutions", b""),
    ("POST", "/fed/v1/reconciliation-reports",
     json.dumps({"day": "2025-03-01", "balanced": True, "report": {}}).encode()),
    ("POST", "/fed/v1/supervision/decisions",
     json.dumps({"case_id": "CASE-1", "institution": f.SHENZHEN_H, "insured": "510000",
                 "severity": "none", "refused": 0}).encode()),
    ("GET", "/fed/v1/statistics/2025-03", b""),
    ("POST", "/fed/v1/anchor-exchange", json.dumps({"anchors": []}).encode()),
    ("GET", "/fed/v1/console/settlements/440000" + "9" * 24, b""),
    ("GET", "/fed/v1/settlements?day=2025-03-01&role=insured", b""),
]


def _send(province: Province, method: str, target: str, body: bytes,
          headers: dict[str, str]) -> Any:
    return province.http.request(method, target, content=body or None, headers=headers)


@pytest.mark.parametrize(("method", "target", "body"), HUB_ONLY,
                         ids=[t.split("?")[0].removeprefix("/fed/v1/") for _, t, _ in HUB_ONLY])
def test_a_hub_only_route_refuses_every_other_caller(province: Province, method: str,
                                                     target: str, body: bytes) -> None:
    """Unsigned, signed by a province (whose key the node does not hold for it) or signed as
    the hub with another key: 401 and nothing changes; signed by the hub: past the door."""
    path, _, query = target.partition("?")
    before = province.snapshot()
    for headers in ({}, signed_headers(KEY, "440000", path, body, query),
                    signed_headers(KEY, "510000", path, body, query),
                    signed_headers("not-the-hub-key", "hub", path, body, query)):
        answer = _send(province, method, target, body, headers)
        assert answer.status_code == 401, (headers.get("X-Node"), answer.text)
    assert province.snapshot() == before
    answer = _send(province, method, target, body, signed_headers(KEY, "hub", path, body, query))
    assert answer.status_code not in (401, 403) and answer.status_code < 500, answer.text
