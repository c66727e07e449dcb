"""What a supervision case holds back from clearing is each of its settlements once: a
settlement named twice, or already under a case that is not closed, is refused (an insured
province held one ¥1,000 settlement 51 times, and the treating province came to owe it money).
The R09 joint audit (双地联查) is the rule's own: a case a province opened with a look-alike
reason no longer stands in for it. `carry_over` is true or false, not any text."""

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
from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import StateConflict
from medsettle.services import refusals
from medsettle.services import supervision_batch as batch_svc
from tests.supervision.test_statistics import row

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

KEYS = {"440000": "k-gd", "510000": "k-sc", "110000": "k-bj"}
NOW = datetime.now(UTC)


@pytest.fixture
def hub(tmp_path: Any) -> Iterator[TestClient]:
    app = create_hub_app(HubConfig(db_url=f"sqlite:///{tmp_path}/hub.db", keys=KEYS))
    with TestClient(app, raise_server_exceptions=False) as http:
        yield http
    app.state.store.engine.dispose()


def post(http: TestClient, path: str, doc: Any, node: str = "440000") -> Any:
    body = json.dumps(doc).encode()
    return http.post(path, content=body, headers=signed_headers(KEYS[node], node, path, body))


def open_case(http: TestClient, settlements: list[str], node: str = "440000",
              reason: str = "check") -> Any:
    return post(http, "/supervision/cases", {"kind": "verification", "insured": "440000",
                                             "treating": "510000", "reason": reason,
                                             "settlements": settlements}, node)


def cases(hub: TestClient) -> int:
    with hub.app.state.store.tx() as tx:  # type: ignore[attr-defined]
        return len(tx.rows("supervision_cases"))


def test_a_case_holds_each_settlement_once_and_one_case_at_a_time(hub: TestClient) -> None:
    store = hub.app.state.store  # type: ignore[attr-defined]
    with store.tx() as tx:
        tx.add_many("settlement_index", [
            row(s, "440100", "510100", "inpatient", 200_000, 100_000, when=NOW)
            for s in ("S1", "S2")])
    twice = open_case(hub, ["S1"] * 50)
    assert twice.status_code == 400, twice.text
    assert twice.json()["error"]["field"] == "settlements" and cases(hub) == 0
    first = open_case(hub, ["S1"]).json()["result"]["case_id"]
    assert post(hub, f"/supervision/cases/{first}/request", {"carry_over": True}
                ).status_code == 200
    again = open_case(hub, ["S2", "S1"])
    assert again.status_code == 409, again.text
    assert again.json()["error"]["field"] == "settlements" and first in again.text
    assert cases(hub) == 1
    with store.tx() as tx:
        assert sum(int(a["amount"]) for a in refusals.pending(tx)) == -100_000  # S1, once
    for step, doc in (("answer", {"outcome": "confirmed", "refused": 0}), ("decide", {}),
                      ("close", {})):
        node = "510000" if step == "answer" else "440000"
        answer = post(hub, f"/supervision/cases/{first}/{step}", doc, node)
        assert answer.status_code == 200, (step, answer.text)
    assert open_case(hub, ["S1"]).status_code == 200  # a closed case holds nothing back


@pytest.mark.parametrize("carry_over", ["false", 1, None, [True]])
def test_carry_over_is_true_or_false(hub: TestClient, carry_over: Any) -> None:
    store = hub.app.state.store  # type: ignore[attr-defined]
    with store.tx() as tx:
        tx.add("settlement_index", row("S7", "440100", "510100", "inpatient", 200_000, 100_000,
                                       when=NOW))
    case_id = open_case(hub, ["S7"]).json()["result"]["case_id"]
    asked = post(hub, f"/supervision/cases/{case_id}/request", {"carry_over": carry_over})
    assert asked.status_code == 400, asked.text
    assert asked.json()["error"]["field"] == "carry_over"
    with store.tx() as tx:
        assert refusals.pending(tx) == []
        assert tx.one("supervision_cases", case_id=case_id).state == "opened"


def month_before(k: int) -> datetime:
    """Day 5 of the month k months before this one."""
    index = NOW.year * 12 + NOW.month - 1 - k
    return datetime(index // 12, index % 12 + 1, 5, 3, tzinfo=UTC)


def surging(hub: TestClient) -> None:
    """An institution whose funds surge this month (R09)."""
    with hub.app.state.store.tx() as tx:  # type: ignore[attr-defined]
        tx.add_many("settlement_index", [
            row(f"X{k}{part}", "440100", "510100", "inpatient", fund, fund // 2,
                when=month_before(k))
            for k, fund in [(3, 10_000_000), (2, 11_000_000), (1, 9_000_000), (0, 14_000_000)]
            for part in range(2)])


def test_a_case_a_province_opens_meanwhile_does_not_fail_the_batch(hub: TestClient) -> None:
    """Between the batch's read of the open cases and its opening, a province may open a case on
    one of the settlements: the joint audit is not opened (a warning), the batch goes on."""
    surging(hub)
    store = hub.app.state.store  # type: ignore[attr-defined]

    def taken_meanwhile(*_: Any, **__: Any) -> Any:
        raise StateConflict("X01 is already in case C1, which is not closed", "settlements")

    month = YearMonth.parse(NOW.strftime("%Y-%m"))
    book = load_threshold_book()
    hits = batch_svc.run_hub(store, month, lambda region: book.find(region, NOW.date()),
                             NOW, taken_meanwhile)
    assert [h.rule for h in hits].count("R09") == 1
    with store.tx() as tx:
        [kept] = tx.rows("supervision_hits", rule="R09")
    assert kept.case_id is None


def test_a_provinces_look_alike_case_does_not_stand_in_for_the_r09_joint_audit(
        hub: TestClient) -> None:
    store = hub.app.state.store  # type: ignore[attr-defined]
    month = NOW.strftime("%Y-%m")
    surging(hub)
    decoy = open_case(hub, ["X00"], node="510000", reason=f"R09 cost surge {month}: nothing")
    assert decoy.status_code == 200, decoy.text
    ran = post(hub, f"/supervision/{month}/run", {}, "510000")
    assert ran.status_code == 200 and ran.json()["result"]["by_rule"].get("R09") == 1
    with store.tx() as tx:
        audits = [r for r in tx.rows("supervision_cases") if r.kind == "joint_audit"]
        [hit] = tx.rows("supervision_hits", rule="R09")
    assert len(audits) == 1 and hit.case_id == audits[0].case_id
    items = [i["settlement_id"] for i in audits[0].document["items"]]
    assert items == ["X01"]  # this month's other settlement: X00 is under the decoy case
