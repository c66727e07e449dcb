"""The index rows a province confirms (POST /fed/v1/index) are checked field by field, and a
cancel must undo a settlement the index holds: the monthly clearing charges provinces by these
rows, so an insured province must not be able to lower what it owes a treating province, or
charge a province that does not exist (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import threading
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from medsettle.adapters.api.hub_index import _row
from medsettle.adapters.federation import signed_headers
from medsettle.services import hub as hub_svc
from tests.integration.test_index_catch_up import hub_on

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

KEYS = {"440000": "k-guangdong", "510000": "k-sichuan"}


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[TestClient]:
    yield from hub_on(request, tmp_path, KEYS)


def confirm(hub: TestClient, rows: list[dict[str, Any]], node: str = "440000") -> Any:
    body = json.dumps({"rows": rows}).encode()
    return hub.post("/fed/v1/index", content=body,
                    headers=signed_headers(KEYS[node], node, "/fed/v1/index", body))


def row(**change: Any) -> dict[str, Any]:
    """A settlement of a Guangdong insured treated in Chengdu, last month."""
    when = (datetime.now(UTC).replace(day=1) - timedelta(days=10)).replace(microsecond=0)
    return {"setl_id": "S" + uuid.uuid4().hex[:20], "kind": "settle", "ref_setl_id": None,
            "mdtrt_id": "M1", "psn_no": "P1", "insu_admdvs": "440100",
            "mdtrtarea_admvs": "510100", "fixmedins_code": "H51010400001",
            "visit_type": "outpatient", "setl_time": when.isoformat(), "medfee_sumamt": 100,
            "fund_pay_sumamt": 80, "acct_pay": 0, "psn_cash_pay": 20, "msgid": "X1"} | change


def indexed(hub: TestClient) -> list[str]:
    store = hub.app.state.store  # type: ignore[attr-defined]
    with store.tx() as tx:
        return sorted(r.setl_id for r in tx.rows("settlement_index"))


@pytest.mark.parametrize(("change", "field"), [
    ({"fund_pay_sumamt": -50_000_000, "medfee_sumamt": -50_000_000}, "medfee_sumamt"),
    ({"psn_cash_pay": -1}, "psn_cash_pay"),
    ({"medfee_sumamt": 2 ** 70}, "medfee_sumamt"),
    ({"mdtrtarea_admvs": "ZZZZZZ"}, "mdtrtarea_admvs"),
    ({"mdtrtarea_admvs": "990100"}, "mdtrtarea_admvs"),
    ({"insu_admdvs": "4401009"}, "insu_admdvs"),
    ({"kind": "refund"}, "kind"),
    ({"kind": "cancel"}, "ref_setl_id"),
    ({"ref_setl_id": "S1"}, "ref_setl_id"),
    ({"setl_id": ["a"]}, "setl_id"), ({"setl_id": "S" * 31}, "setl_id"),
    ({"mdtrt_id": "M" * 200}, "mdtrt_id"), ({"msgid": "X" * 31}, "msgid"),
    ({"psn_no": None}, "psn_no"), ({"fixmedins_code": "H" * 13}, "fixmedins_code"),
    ({"visit_type": {"a": 1}}, "visit_type"), ({"setl_id": "S 1"}, "setl_id"),
    ({"setl_time": "2025-01-01T00:00:00"}, "setl_time"),
])
def test_a_malformed_row_is_refused_naming_its_field(hub: TestClient, change: dict[str, Any],
                                                     field: str) -> None:
    answer = confirm(hub, [row(), row(**change)])
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == f"rows[1].{field}"
    assert indexed(hub) == []


def test_a_cancel_must_undo_an_indexed_settlement_exactly(hub: TestClient) -> None:
    original = row(fund_pay_sumamt=80_000, medfee_sumamt=100_000, psn_cash_pay=20_000)
    assert confirm(hub, [original]).status_code == 200
    undo = {k: -original[k] for k in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay",
                                       "psn_cash_pay")}
    for wrong in (row(kind="cancel", ref_setl_id="NOTHING", **undo),
                  row(kind="cancel", ref_setl_id=original["setl_id"],
                      **(undo | {"fund_pay_sumamt": -30_000_000})),
                  row(kind="cancel", ref_setl_id=original["setl_id"], psn_no="P2", **undo),
                  row(kind="cancel", ref_setl_id=original["setl_id"],
                      mdtrtarea_admvs="310100", **undo)):
        answer = confirm(hub, [wrong])
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["field"] == "rows[0].ref_setl_id"
    assert indexed(hub) == [original["setl_id"]]
    cancel = row(kind="cancel", ref_setl_id=original["setl_id"], **undo)
    both = [row(), row()]
    both[1] |= {"kind": "cancel", "ref_setl_id": both[0]["setl_id"]} | {
        k: -both[0][k] for k in undo}
    # A well-formed cancel (alone, or with its settlement in one request) still needs its
    # treating province's word (tests/e2e/test_index_cancels.py): Sichuan is not registered
    # at this hub, so the cancels are held and only the settlement is indexed.
    for rows in ([cancel], both):
        answer = confirm(hub, rows)
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == {"rows": len(rows) - 1, "held": [{
            "setl_id": rows[-1]["setl_id"], "why": "the treating province 510000 could not be "
                                                   "asked: no province node serves region "
                                                   "510000"}]}
    assert indexed(hub) == sorted([original["setl_id"], both[0]["setl_id"]])


def test_the_treating_provinces_are_asked_about_cancels_at_once(hub: TestClient) -> None:
    """Each treating province is asked in its own thread: two that each wait for the other to
    be asked (a barrier) both answer; asked one after another, the first would wait in vain,
    and a slow province would cost the request its timeout once per province."""
    store = hub.app.state.store  # type: ignore[attr-defined]
    settles = [row(), row(mdtrtarea_admvs="310100", fixmedins_code="H31010400001")]
    assert confirm(hub, settles).status_code == 200
    cancels = [_row(s | {"setl_id": "C" + s["setl_id"][1:], "kind": "cancel",
                         "ref_setl_id": s["setl_id"]} | {
        k: -s[k] for k in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")},
        "rows[0]") for s in settles]
    both_asked = threading.Barrier(2)
    asked: list[str] = []

    def ask(province: str, ids: list[str]) -> list[dict[str, Any]]:
        asked.append(province)
        both_asked.wait(timeout=30)  # BrokenBarrierError if the other is never asked meanwhile
        return []  # neither record: a pair the treating node never had is confirmed

    held = hub_svc.confirm_with_treating(store, "440000", cancels, datetime.now(UTC), ask)
    assert held == {} and sorted(asked) == ["310000", "510000"]
    assert len(indexed(hub)) == 4
