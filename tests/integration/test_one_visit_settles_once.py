"""Two messages about one visit at once, on PostgreSQL with real threads: a 2207 whose
settlement the insured place is writing (paused inside its transaction, the person locked), and
a second message that reached the insured place meanwhile, read the visit still open and waits
on the person's lock. When the first commits, the second reads the visit again and is refused:
the visit is settled once, at both places, and charged once to the accumulators and the ledger.

The pause only makes the window deterministic; without it two HIS terminals hit it by chance.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, create_province_app
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.his.client import Patient
from medsettle.core.policy import PolicyBook
from medsettle.services import insured_settle
from tests.api.conftest import Province, TestClient, Visit, his_rows, new_visit
from tests.conftest import fresh_database
from tests.e2e import fixtures as f
from tests.integration.races import first_holds_until_second_waits

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def node(pg_url: str, book: PolicyBook) -> Iterator[tuple[Province, str]]:
    """A Guangdong node on PostgreSQL that treats and insures CHEN; and its database URL."""
    with fresh_database(pg_url) as url:
        load_rows(url, his_rows())
        province = ProvinceNode(ProvinceConfig(region="440000", db_url=url, key="k",
                                               hub_url=None), book=book)
        with TestClient(create_province_app(province, background=False)) as http:
            yield Province(province, http), url
        province.store.engine.dispose()


def rows(province: Province, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with province.node.store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def chen(province: Province) -> Patient:
    out = province.signed_in().person("01", f.CHEN["evoucher"])
    return Patient.from_1101(out, "01", f.CHEN["evoucher"])


def settle_body(province: Province, visit: Visit) -> dict[str, Any]:
    """A 2207 of the whole visit, with a msgid of its own."""
    return province.envelope("2207", {"data": {
        "psn_no": visit.psn_no, "mdtrt_cert_type": "01", "mdtrt_cert_no": f.CHEN["evoucher"],
        "med_type": "11", "medfee_sumamt": visit.total, "psn_setlway": "01",
        "mdtrt_id": visit.mdtrt_id, "chrg_bchno": "0000", "insutype": "310",
        "acct_used_flag": "0"}}, insuplc=f.CHEN["insu_admdvs"])


def cancel_body(province: Province, visit: Visit) -> dict[str, Any]:
    """A 2202 of the visit's registration."""
    return province.envelope("2202", {"data": {
        "psn_no": visit.psn_no, "mdtrt_id": visit.mdtrt_id, "ipt_otp_no": visit.ipt_otp_no}},
        insuplc=f.CHEN["insu_admdvs"])


def race(province: Province, url: str, first: dict[str, Any], second: dict[str, Any],
         monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], dict[str, Any]]:
    """`first` (a 2207) stops inside the insured place's settling transaction until `second`,
    sent from another thread, waits on a lock; then both finish. Their answers."""
    reached, release = threading.Event(), threading.Event()
    book = insured_settle.book_settlement

    def pausing(tx: Any, record: Any, now: Any) -> None:
        if not reached.is_set():
            reached.set()
            release.wait(10)
        book(tx, record, now)

    monkeypatch.setattr(insured_settle, "book_settlement", pausing)
    answers: dict[str, Any] = {}

    def send(name: str, body: dict[str, Any]) -> Callable[[], None]:
        return lambda: answers.__setitem__(name, province.node.gateway.handle(
            json.dumps(body).encode(), {}))

    first_holds_until_second_waits(send("first", first), reached, send("second", second),
                                   release, url)
    return answers["first"], answers["second"]


def settlements(province: Province, visit: Visit, role: str) -> list[tuple[Any, ...]]:
    return rows(province, "SELECT setl_id, status FROM settlements WHERE mdtrt_id = :v AND "
                          "role = :r AND kind = 'settle'", v=visit.mdtrt_id, r=role)


def accumulators(province: Province) -> dict[str, int]:
    """CHEN's accumulators, every medical year and the account balance, by path."""
    totals: dict[str, int] = {}
    for path, value in rows(province, "SELECT path, value FROM accumulators WHERE psn_no = :p",
                            p=f.CHEN["psn_no"]):
        totals[path] = totals.get(path, 0) + int(value)
    return totals


def test_two_settles_of_one_visit_under_two_msgids_settle_it_once(
        node: tuple[Province, str], monkeypatch: pytest.MonkeyPatch) -> None:
    province, url = node
    visit = new_visit(province, chen(province))
    before = accumulators(province)
    first, second = race(province, url, settle_body(province, visit),
                         settle_body(province, visit), monkeypatch)
    assert first["infcode"] == 0, first["err_msg"]
    assert second["infcode"] == -1
    assert "[state_conflict]" in second["err_msg"] and "不能重复结算" in second["err_msg"]
    settled = settlements(province, visit, "insured")
    assert settled == settlements(province, visit, "treating")
    assert [status for _, status in settled] == ["settled"]
    setl_id = settled[0][0]
    assert rows(province, "SELECT entry_id FROM ledger_entries WHERE kind = 'settle' AND ref "
                          "IN (SELECT setl_id FROM settlements WHERE mdtrt_id = :v) "
                          "ORDER BY entry_id", v=visit.mdtrt_id) == [
        (f"settle:insured:{setl_id}",), (f"settle:treating:{setl_id}",)]
    delta = rows(province, "SELECT delta FROM settlements WHERE setl_id = :s AND "
                           "role = 'insured'", s=setl_id)[0][0]
    after = accumulators(province)
    assert {path: after.get(path, 0) - before.get(path, 0) for path in after} == {
        path: delta.get(path, 0) for path in after}


def test_a_registration_cancelled_while_it_is_settled_is_refused_and_stays_settled(
        node: tuple[Province, str], monkeypatch: pytest.MonkeyPatch) -> None:
    province, url = node
    visit = new_visit(province, chen(province))
    first, second = race(province, url, settle_body(province, visit),
                         cancel_body(province, visit), monkeypatch)
    assert first["infcode"] == 0, first["err_msg"]
    assert second["infcode"] == -1
    assert "[state_conflict]" in second["err_msg"]
    assert "cancel the settlement first" in second["err_msg"]
    assert rows(province, "SELECT status FROM insured_visits WHERE mdtrt_id = :v",
                v=visit.mdtrt_id) == [("settled",)]
    assert rows(province, "SELECT status FROM visits WHERE mdtrt_id = :v",
                v=visit.mdtrt_id) == [("settled",)]
    assert [status for _, status in settlements(province, visit, "insured")] == ["settled"]
