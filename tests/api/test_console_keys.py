"""A province operator issues new keys to an institution's HIS in the console: SM2 (国密) or HMAC,
shown once on the answer page, audited without the keys; the HIS signs with them at once, and the
old keys stop working. An auditor cannot issue keys. Keys written into the node's database by
another process (`medsettle institution keys`) apply within INSTITUTION_CACHE_SECONDS."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from medsettle.adapters.his import gateway
from medsettle.adapters.his.client import HisClient
from medsettle.adapters.his.sealing import HmacSealer, Sm2Sealer
from tests.api.conftest import OTHER_H, Province, his_rows, start_province
from tests.api.test_console_pages import add, browser, csrf_of, sign_in


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: Any) -> Iterator[Province]:
    yield from start_province(tmp_path_factory.mktemp("keys"), his_rows(), book)


@pytest.fixture(scope="module")
def clerk(node: Province) -> Any:
    add(node, "clerk")
    add(node, "audit", "auditor")
    return sign_in(browser(node), "clerk")


def issue(client: Any, code: str, signing: str) -> Any:
    token = csrf_of(client.get("/console/institutions").text)
    return client.post(f"/console/institutions/{code}/keys",
                       data={"csrf_token": token, "signing": signing})


def key(page: str, label: str) -> str:
    found = re.search(rf"{label}[^:\n]*: ([0-9a-f]+)", page)
    assert found, page
    return found.group(1)


def his(node: Province, sealer: Any) -> HisClient:
    return HisClient(str(node.http.base_url), OTHER_H, "深圳第二示例医院", http=node.http,
                     sealer=sealer)


def test_sm2_keys_are_shown_once_audited_without_them_and_sign_at_once(node: Province,
                                                                       clerk: Any) -> None:
    answer = issue(clerk, OTHER_H, "sm2")
    assert answer.status_code == 200 and "密钥仅显示一次" in answer.text
    private, public = key(answer.text, "SM2 private key"), key(answer.text, "SM2 public key")
    sm4 = key(answer.text, "SM4 key")
    platform = key(answer.text, "platform SM2 public key")
    assert his(node, Sm2Sealer(private, public, sm4, platform_key=platform)).sign_in()
    unsigned = node.his(OTHER_H)
    with pytest.raises(Exception, match="must sign its messages with SM2"):
        unsigned.sign_in()
    with node.node.store.tx() as tx:
        [line] = [r for r in tx.rows("audit_log") if r.action == "institution.keys"]
    assert line.actor == "clerk" and line.after["signing"] == "sm2"
    assert private not in str(line._mapping) and sm4 not in str(line._mapping)
    assert re.search(r'<td data-label="[^"]*">SM2</td>', clerk.get("/console/institutions").text)
    again = issue(clerk, OTHER_H, "hmac")
    with pytest.raises(Exception, match="wrong SM2|must sign its messages with the HMAC"):
        his(node, Sm2Sealer(private, public, sm4)).sign_in()  # the old keys stopped working
    assert his(node, HmacSealer(OTHER_H, key(again.text, "gateway key"))).sign_in()


def test_an_auditor_or_an_unknown_institution_changes_nothing(node: Province,
                                                              clerk: Any) -> None:
    before = node.snapshot()
    auditor = sign_in(browser(node), "audit")
    assert issue(auditor, OTHER_H, "sm2").status_code == 403
    unknown = issue(clerk, "H44030400000", "sm2")
    assert unknown.status_code == 303
    assert "not a designated institution" in clerk.get("/console/institutions").text
    bad = issue(clerk, OTHER_H, "md5")
    assert bad.status_code == 303 and "must be sm2 or hmac" in clerk.get(
        "/console/institutions").text
    assert clerk.post(f"/console/institutions/{OTHER_H}/keys",
                      data={"signing": "sm2"}).status_code in (303, 403)  # no CSRF token
    assert node.snapshot() == before


def test_keys_written_by_another_process_apply_within_the_cache_time(
        node: Province, monkeypatch: pytest.MonkeyPatch) -> None:
    moment = [time.monotonic()]  # the gateway's monotonic clock, moved by hand
    monkeypatch.setattr(gateway, "time", SimpleNamespace(monotonic=lambda: moment[0],
                                                         perf_counter=time.perf_counter))

    def keys_from_another_process(api_key: str) -> None:  # as `medsettle institution keys`
        with node.node.store.tx() as tx:
            tx.change("institutions", {"fixmedins_code": OTHER_H}, signing="hmac",
                      api_key=api_key, sm2_public_key=None, sm4_key=None)

    keys_from_another_process("k-first")
    node.node.gateway.forget(OTHER_H)
    assert his(node, HmacSealer(OTHER_H, "k-first")).sign_in()  # read, then kept
    keys_from_another_process("k-second")
    moment[0] += gateway.INSTITUTION_CACHE_SECONDS - 0.1
    assert his(node, HmacSealer(OTHER_H, "k-first")).sign_in()  # the node's copy stands
    moment[0] += 0.1
    with pytest.raises(Exception, match="wrong HMAC|签名"):
        his(node, HmacSealer(OTHER_H, "k-first")).sign_in()
    assert his(node, HmacSealer(OTHER_H, "k-second")).sign_in()
