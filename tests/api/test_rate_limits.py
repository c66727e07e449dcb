"""Rate limits per institution at the HIS gateway and per node on the node-to-node routes: a
sender over its limit gets a clear refusal (an envelope whose err_msg says so; 429 with a JSON
reason), and one sender's burst does not limit another (adapters/ratelimit.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medsettle.adapters.api.hub import HubConfig, create_hub_app
from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, create_province_app
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.federation import signed_headers
from medsettle.adapters.his.client import HisError
from medsettle.adapters.ratelimit import RateLimiter
from medsettle.core.errors import InvalidInput, RateLimited
from medsettle.core.policy import PolicyBook
from tests.api.conftest import OTHER_H, REGION, Province, TestClient, his_rows
from tests.e2e import fixtures as f

KEYS = {"hub": "h" * 64, "440000": "g" * 64, "510000": "s" * 64}


def test_a_burst_is_admitted_then_refused_until_the_bucket_refills() -> None:
    limiter = RateLimiter(2.0, 3, "institution")
    for _ in range(3):
        limiter.admit("A", 100.0)
    with pytest.raises(RateLimited, match=r"institution A sent more than 2 messages a second "
                                          r"\(bursts of 3\): retry after 0.50 s") as refused:
        limiter.admit("A", 100.0)
    assert refused.value.retry_after == pytest.approx(0.5)
    limiter.admit("B", 100.0)  # another sender has its own bucket
    limiter.admit("A", 100.5)  # half a second later: one token back
    with pytest.raises(RateLimited):
        limiter.admit("A", 100.5)
    unlimited = RateLimiter(0, 0, "node")
    for _ in range(10_000):
        unlimited.admit("hub", 0.0)
    with pytest.raises(InvalidInput, match="rate"):
        RateLimiter(-1, 1, "node")


@given(times=st.lists(st.integers(0, 5_000), min_size=1, max_size=200),
       rate=st.integers(1, 50), burst=st.integers(1, 20))
def test_no_sender_gets_more_than_its_burst_plus_its_rate(times: list[int], rate: int,
                                                          burst: int) -> None:
    limiter = RateLimiter(float(rate), burst, "node")
    admitted = 0
    moments = sorted(t / 1000 for t in times)  # milliseconds, in order
    for now in moments:
        try:
            limiter.admit("n", now)
            admitted += 1
        except RateLimited as exc:
            assert exc.retry_after > 0
    assert admitted <= burst + rate * (moments[-1] - moments[0]) + 1e-9
    assert admitted >= min(len(moments), burst)


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[Province]:
    """A province whose gateway admits one message every two seconds per institution."""
    db_url = f"sqlite:///{tmp_path_factory.mktemp('limited')}/p.db"
    load_rows(db_url, his_rows())
    node = ProvinceNode(ProvinceConfig(region=REGION, db_url=db_url, key=KEYS["hub"],
                                       his_rate=0.5, peer_rate=0.5), book=book)
    with TestClient(create_province_app(node, background=False)) as http:
        yield Province(node, http)
    node.store.engine.dispose()


def test_an_institutions_burst_is_refused_in_the_envelope_and_others_go_on(
        limited: Province) -> None:
    first = limited.his(f.SHENZHEN_H)
    first.sign_in()
    with pytest.raises(HisError) as refused:
        limited.his(f.SHENZHEN_H).sign_in()
    err_msg = refused.value.answer["err_msg"]
    assert err_msg.startswith("报文过于频繁") and (
        f"[rate_limited] (institution {f.SHENZHEN_H} sent more than 0.5 messages a second"
        in err_msg), err_msg
    assert refused.value.answer["infcode"] == -1
    other = limited.his(OTHER_H)
    other.sign_in()  # the other hospital's bucket is untouched
    assert other.sign_no


def test_a_nodes_burst_gets_429_with_a_json_reason(limited: Province) -> None:
    path, body = "/fed/v1/ops/accumulations", json.dumps({"from": "hub"}).encode()
    answers = [limited.http.post(path, content=body,
                                 headers=signed_headers(KEYS["hub"], "hub", path, body))
               for _ in range(2)]
    assert answers[0].status_code != 429
    assert answers[1].status_code == 429
    error = answers[1].json()["error"]
    assert error["code"] == "rate_limited" and error["retry_after"] > 0
    assert error["message"].startswith("node hub sent more than 0.5 messages a second")


def test_at_the_hub_one_provinces_burst_does_not_limit_another(tmp_path: Path) -> None:
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{tmp_path / 'hub.db'}", keys=KEYS,
                                   peer_rate=0.5))
    path, body = "/fed/v1/heartbeat", b"{}"
    with TestClient(app) as hub:
        def send(node: str) -> int:
            return hub.post(path, content=body,
                            headers=signed_headers(KEYS[node], node, path, body)).status_code

        guangdong = [send("440000") for _ in range(3)]
        sichuan = send("510000")
    assert guangdong[0] != 429 and guangdong[1:] == [429, 429]
    assert sichuan != 429
