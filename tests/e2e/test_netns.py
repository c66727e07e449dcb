"""Each province in its own network namespace (adapters/netns.py), the hub on the host.

Shanghai (310000), which insures 张阿姨, is partitioned: Guangdong keeps settling Chengdu's
employees at the same rate; 张阿姨's settlement at Shenzhen and anything sent to Shanghai's own
gateway fail within the node's timeout with `[peer_unavailable]`; healed, Shanghai settles again.
With tc netem, latency and loss on Shanghai's link leave the others' rate alone. Skipped, saying
why, only where the kernel forbids namespaces (or netem, for the netem test).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from medsettle.adapters.his.client import HisError, VisitFlow
from medsettle.adapters.netns import NamespacedFederation, netem_unavailable, netns_unavailable
from tests.e2e import fixtures as f
from tests.e2e.test_federation import patient

WHY_NOT = netns_unavailable()
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"no network namespaces: {WHY_NOT}")
CALL_TIMEOUT, HIS_TIMEOUT = 1.0, 2.0


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NamespacedFederation]:
    federation = NamespacedFederation(tmp_path_factory.mktemp("netns"), f.ROWS,
                                      call_timeout=CALL_TIMEOUT, his_timeout=HIS_TIMEOUT)
    try:
        yield federation.start()  # type: ignore[misc]
    finally:
        federation.close()


def visit(fed: NamespacedFederation, person: dict[str, Any], price: str = "10.00") -> str:
    his = fed.his("440000", f.SHENZHEN_H)
    flow = VisitFlow(his, patient(his, person))
    flow.register()
    flow.fees([(f.DRUG_A, price, "1")])
    return str(flow.settle(price)["setlinfo"]["setl_id"])


def rate(fed: NamespacedFederation, seconds: float) -> float:
    """Chengdu employees' visits settled at Shenzhen per second (Guangdong ↔ Sichuan)."""
    done, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        visit(fed, f.CHENGDU_EMPLOYEES[done % len(f.CHENGDU_EMPLOYEES)])
        done += 1
    return done / (time.monotonic() - started)


def wait_status(fed: NamespacedFederation, region: str, status: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(n["region"] == region and n["status"] == status for n in fed.status()["nodes"]):
            return
        time.sleep(0.2)
    raise AssertionError(f"{region} not {status} on the board: {fed.status()}")


def test_a_partitioned_province_fails_fast_the_others_keep_their_rate_and_it_heals(
        fed: NamespacedFederation) -> None:
    assert visit(fed, f.ZHANG)  # Shanghai reachable through the hub from its namespace
    before = rate(fed, 4.0)
    fed.partition("310000")
    try:
        started = time.monotonic()
        with pytest.raises(HisError) as refused:
            visit(fed, f.ZHANG)
        took = time.monotonic() - started
        err_msg = refused.value.answer["err_msg"]
        assert "[peer_unavailable]" in err_msg and "310000" in err_msg, err_msg
        assert took < 4 * (CALL_TIMEOUT + HIS_TIMEOUT), took
        during = rate(fed, 4.0)
        wait_status(fed, "310000", "down", 30)  # the board sees it gone
    finally:
        fed.heal("310000")
    assert during >= 0.3 * before, (before, during)  # stalled behind the partition: near 0
    wait_status(fed, "310000", "up", 30)
    assert visit(fed, f.ZHANG)
    shanghai = fed.his("310000", f.SHANGHAI_H, "上海示例医院")
    assert shanghai.sign_no  # its own gateway answers again too


def test_latency_and_loss_on_one_province_leave_the_others_alone(
        fed: NamespacedFederation) -> None:
    why = netem_unavailable()
    if why:
        pytest.skip(why)
    before = rate(fed, 3.0)
    fed.shape("310000", "delay", "80ms", "20ms", "loss", "5%")
    try:
        during = rate(fed, 3.0)
        assert visit(fed, f.ZHANG, "12.00")  # slower and lossy, but TCP gets it through
    finally:
        fed.unshape("310000")
    assert during >= 0.3 * before, (before, during)  # stalled behind the partition: near 0
