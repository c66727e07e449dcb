"""Signed HIS requests (interface.md §1): accepted with or without signature headers, and when
present verified with the institution's own key."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from medsettle.adapters.his.signing import api_headers, tif_headers
from tests.api.conftest import Province
from tests.e2e import fixtures as f

KEY = "shenzhen-his-key"


@pytest.fixture(scope="module")
def keyed(province: Province) -> Province:
    with province.node.store.tx() as tx:
        tx.change("institutions", {"fixmedins_code": f.SHENZHEN_H}, api_key=KEY)
    return province


def body(province: Province) -> bytes:
    envelope = province.envelope("1101", {"data": {"mdtrt_cert_type": "01",
                                                   "mdtrt_cert_no": f.CHEN["evoucher"]}})
    return json.dumps(envelope, ensure_ascii=False).encode()


def send(province: Province, content: bytes, headers: dict[str, str]) -> dict[str, Any]:
    response = province.http.post("/his", content=content,
                                  headers={"content-type": "application/json"} | headers)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def test_an_unsigned_request_is_accepted(keyed: Province) -> None:
    assert send(keyed, body(keyed), {})["infcode"] == 0


@pytest.mark.parametrize("style", ["tif", "api"])
def test_a_correctly_signed_request_is_accepted(keyed: Province, style: str) -> None:
    content = body(keyed)
    now = int(time.time())
    headers = (tif_headers(KEY, f.SHENZHEN_H, now, "n-1", content) if style == "tif"
               else api_headers(KEY, f.SHENZHEN_H, "1101", now, content))
    assert send(keyed, content, headers)["infcode"] == 0


@pytest.mark.parametrize(("change", "message"), [
    ({"key": "another-key"}, "wrong signature"),
    ({"who": "H44030400456"}, "names"),
    ({"timestamp": 1_000_000_000}, "timestamp"),
    ({"timestamp": "²"}, "timestamp"),  # a digit to str.isdigit, not to int()
    ({"tamper": True}, "wrong signature"),
])
def test_a_bad_signature_is_refused_naming_why(keyed: Province, change: dict[str, Any],
                                               message: str) -> None:
    content = body(keyed)
    headers = tif_headers(change.get("key", KEY), change.get("who", f.SHENZHEN_H),
                          change.get("timestamp", int(time.time())), "n-2", content)
    if change.get("tamper"):
        content = content.replace(b'"01"', b'"02"', 1)
    if not str(change.get("timestamp", "")).isascii():  # sent as the raw byte, as HTTP allows
        headers["x-tif-timestamp"] = str(change["timestamp"]).encode("latin-1")  # type: ignore[assignment]
    before = keyed.snapshot()
    answer = send(keyed, content, headers)
    assert answer["infcode"] == -1 and answer["output"] is None
    assert message in answer["err_msg"] and "authentication_failed" in answer["err_msg"]
    assert keyed.snapshot() == before


def test_a_signature_from_an_institution_without_a_key_is_refused(province: Province) -> None:
    his = province.his("H44030400456")  # the second Shenzhen hospital, which has no key
    his.sign_in()
    envelope = his.envelope("1101", {"data": {"mdtrt_cert_type": "01",
                                              "mdtrt_cert_no": f.CHEN["evoucher"]}})
    content = json.dumps(envelope).encode()
    answer = send(province, content,
                  tif_headers("guess", "H44030400456", int(time.time()), "n-3", content))
    assert answer["infcode"] == -1 and "no signing key" in answer["err_msg"]
