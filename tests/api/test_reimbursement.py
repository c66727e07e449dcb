"""Manual reimbursement (手工报销) at the insured place, through the node's API (in-process).

Guangdong (440000) insures 陈明 (long-term filer living in Chengdu), 林华 (no filing) and 黄丽
(long-term filer); each claims a Chengdu inpatient stay paid in full.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, create_province_app
from medsettle.adapters.db.seed import load_rows
from medsettle.core import codes
from medsettle.core.accumulators import Accumulators
from medsettle.core.benefits import Person, Settlement, Visit, settle
from medsettle.core.codes import make_id_card
from medsettle.core.money import apply_ratio
from medsettle.core.policy import PolicyBook
from medsettle.services.records import line_from_payload
from tests.api.conftest import add_operator, bearer, his_rows
from tests.e2e import fixtures as f

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

LIN = f.CHEN | {"psn_no": "44030000000000000000000002", "certno": make_id_card("44030419810909002"),
                "psn_name": "林华", "card_no": "A44000002", "card_sn": "SN440002",
                "evoucher": "EC440100" + "F" * 23 + "2"}
HUANG = f.CHEN | {"psn_no": "44030000000000000000000003",
                  "certno": make_id_card("44030419820202003"), "psn_name": "黄丽",
                  "card_no": "A44000003", "card_sn": "SN440003",
                  "evoucher": "EC440100" + "G" * 23 + "3"}
HUANG_FILING = f.filing("BA440100202501010000003", HUANG, "long_term_resident", "510100")
CHENGDU_H = "H51010400001"
LINES = [{"cls": "A", "pric": "100.00", "cnt": "5", "selfpay_prop": "0", "lmt_pric": None,
          "restricted_ok": True, "code": f.SERVICE_BED},
         {"cls": "B", "pric": "268.00", "cnt": "15", "selfpay_prop": "0.10", "lmt_pric": None,
          "restricted_ok": True, "code": f.DRUG_B},
         {"cls": "B", "pric": "12800.00", "cnt": "1", "selfpay_prop": "0.20",
          "lmt_pric": "10000.00", "restricted_ok": True, "code": f.DRUG_B_CAPPED},
         {"cls": "C", "pric": "1500.00", "cnt": "1", "selfpay_prop": "0", "lmt_pric": None,
          "restricted_ok": True, "code": f.SERVICE_C}]
SETL_DATE = date(2025, 3, 6)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[TestClient]:
    """A node with the money routes; LIN and HUANG added, each with ¥1,000 in the account.
    Every request carries the token of `clerk`, an operator of Guangdong."""
    rows = his_rows()
    rows["persons"] = [*rows["persons"], LIN, HUANG]
    rows["filings"] = [*rows["filings"], HUANG_FILING]
    rows["accumulators"] = [{"psn_no": p["psn_no"], "year": "", "path": "acct_balance",
                             "value": 100000} for p in (f.CHEN, LIN, HUANG)]
    db_url = f"sqlite:///{tmp_path_factory.mktemp('reimburse')}/p.db"
    load_rows(db_url, rows)
    node = ProvinceNode(ProvinceConfig(region="440000", db_url=db_url, key="k"), book=book)
    app = create_province_app(node, background=False)
    with TestClient(app, headers=bearer(add_operator(node, "clerk"))) as http:
        http.app_state_node = node  # type: ignore[attr-defined]
        yield http
    node.store.engine.dispose()


def node_of(api: TestClient) -> ProvinceNode:
    node: ProvinceNode = api.app_state_node  # type: ignore[attr-defined]
    return node


def claim(claim_id: str, person: dict[str, Any], **changes: Any) -> dict[str, Any]:
    doc = {"claim_id": claim_id, "psn_no": person["psn_no"],
           "treating": {"admdvs": "510100", "fixmedins_code": CHENGDU_H, "level": "L3"},
           "visit_type": "inpatient", "begntime": "2025-03-01T09:00:00",
           "setl_date": SETL_DATE.isoformat(), "emergency": False, "acct_used": False,
           "lines": LINES}
    return doc | changes


def nonzero(acc: Accumulators) -> dict[tuple[str, ...], int]:
    """The accumulators that are not 0 (a zero is the same as never touched)."""
    return {path: value for path, value in acc.values.items() if value}


def accumulators(api: TestClient, psn_no: str) -> dict[tuple[str, ...], int]:
    with node_of(api).store.tx() as tx:
        return nonzero(tx.accumulators(psn_no, "2025"))


def direct(api: TestClient, book: PolicyBook, person: dict[str, Any], cls: str) -> Settlement:
    """What direct settlement computes for the same lines, class and accumulators."""
    with node_of(api).store.tx() as tx:
        acc = tx.accumulators(person["psn_no"], "2025")
    policy = book.find("440100", "employee", SETL_DATE)
    return settle(policy, Person(scheme="employee",
                                 category=codes.category_of_psn_type(person["psn_type"]),
                                 benefit_class=cls, acc=acc),
                  Visit(type="inpatient", level="L3", setl_date=SETL_DATE,
                        lines=tuple(line_from_payload(x) for x in LINES)))


def ledger_balance(api: TestClient, account: str) -> int:
    with node_of(api).store.tx() as tx:
        return sum(int(r.amount) for r in tx.rows("ledger_postings", account=account))


def test_claim_of_a_long_term_filer_equals_direct_settlement(api: TestClient,
                                                             book: PolicyBook) -> None:
    expected = direct(api, book, f.CHEN, "long_term")
    response = api.post("/api/v1/reimbursements", json=claim("RB0001", f.CHEN))
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["benefit_class"] == "long_term" and got["status"] == "computed"
    assert got["amounts"] == expected.amounts.as_dict()
    assert got["owed"] == expected.amounts.fund_pay_sumamt + expected.amounts.acct_pay
    assert got["amounts"]["medfee_sumamt"] == 1882000
    assert accumulators(api, f.CHEN["psn_no"]) == nonzero(expected.acc_after)


def test_claim_without_filing_is_unfiled_with_its_reduction(api: TestClient,
                                                           book: PolicyBook) -> None:
    filed = direct(api, book, LIN, "long_term")
    expected = direct(api, book, LIN, "unfiled")
    got = api.post("/api/v1/reimbursements", json=claim("RB0002", LIN)).json()
    assert got["benefit_class"] == "unfiled"
    assert got["amounts"] == expected.amounts.as_dict()
    points = book.find("440100", "employee", SETL_DATE).temp_reduction.points_for("unfiled")
    assert points == 20 and expected.ratio == filed.ratio - Decimal("0.20")
    eligible = got["amounts"]["inscp_scp_amt"] - got["amounts"]["act_pay_dedc"]
    assert got["amounts"]["hifp_pay"] == apply_ratio(eligible, filed.ratio - Decimal("0.20"))
    assert got["amounts"]["hifp_pay"] < filed.amounts.hifp_pay


def test_an_approved_claim_is_paid_once_and_its_accumulators_stay(api: TestClient) -> None:
    after_submit = accumulators(api, f.CHEN["psn_no"])
    owed = api.get("/api/v1/reimbursements/RB0001").json()["owed"]
    assert ledger_balance(api, f"payable:person:{f.CHEN['psn_no']}") == -owed
    assert api.post("/api/v1/reimbursements/RB0001/pay").status_code == 409  # approve first: a state conflict
    assert api.post("/api/v1/reimbursements/RB0001/approve").json()["status"] == "approved"
    paid = api.post("/api/v1/reimbursements/RB0001/pay").json()
    again = api.post("/api/v1/reimbursements/RB0001/pay").json()
    assert paid["status"] == again["status"] == "paid" and paid["paid_at"]
    assert ledger_balance(api, f"payable:person:{f.CHEN['psn_no']}") == 0
    assert ledger_balance(api, "bank:440100") == -owed
    assert accumulators(api, f.CHEN["psn_no"]) == after_submit
    assert api.post("/api/v1/reimbursements/RB0001/reject",
                    json={"reason": "late"}).status_code == 409


def test_a_repeated_claim_id_returns_the_claim_and_other_content_is_refused(
        api: TestClient) -> None:
    before = accumulators(api, LIN["psn_no"])
    again = api.post("/api/v1/reimbursements", json=claim("RB0002", LIN))
    assert again.status_code == 200 and again.json()["claim_id"] == "RB0002"
    assert accumulators(api, LIN["psn_no"]) == before
    other = api.post("/api/v1/reimbursements", json=claim("RB0002", LIN, lines=LINES[:1]))
    assert other.status_code == 409 and other.json()["error"]["code"] == "state_conflict"


def test_rejecting_a_claim_restores_the_accumulators(api: TestClient) -> None:
    before = accumulators(api, HUANG["psn_no"])
    got = api.post("/api/v1/reimbursements", json=claim("RB0003", HUANG, acct_used=True)).json()
    assert got["amounts"]["acct_pay"] > 0
    assert accumulators(api, HUANG["psn_no"]) != before
    api.post("/api/v1/reimbursements/RB0003/approve")
    missing = api.post("/api/v1/reimbursements/RB0003/reject", json={})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "reason"
    rejected = api.post("/api/v1/reimbursements/RB0003/reject",
                        json={"reason": "invoice not original"}).json()
    assert rejected["status"] == "rejected" and rejected["reason"] == "invoice not original"
    assert accumulators(api, HUANG["psn_no"]) == before
    twice = api.post("/api/v1/reimbursements/RB0003/reject", json={"reason": "again"}).json()
    assert twice["reason"] == "invoice not original"
    assert accumulators(api, HUANG["psn_no"]) == before
    assert ledger_balance(api, f"payable:person:{HUANG['psn_no']}") == 0
    assert ledger_balance(api, f"personal_account:{HUANG['psn_no']}") == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"psn_no": None}, "psn_no"),
    ({"claim_id": "bad id!"}, "claim_id"),
    ({"treating": {"admdvs": "510100", "fixmedins_code": CHENGDU_H, "level": "3"}},
     "treating.level"),
    ({"treating": {"admdvs": "51010", "fixmedins_code": CHENGDU_H, "level": "L3"}},
     "treating.admdvs"),
    ({"visit_type": "dental"}, "visit_type"),
    ({"visit_type": "chronic"}, "disease"),
    ({"begntime": "yesterday"}, "begntime"),
    ({"acct_used": "yes"}, "acct_used"),
    ({"lines": []}, "lines"),
    ({"lines": [LINES[0], LINES[1] | {"pric": 268.0}]}, "lines[1].pric"),
    ({"lines": [LINES[0] | {"cls": "D"}]}, "lines[0].cls"),
    ({"lines": [LINES[0] | {"selfpay_prop": "1.5"}]}, "lines[0].selfpay_prop"),
    # ¥10^18 overflowed the accumulators (500); ¥10^12 was booked
    ({"lines": [LINES[0] | {"pric": "1000000000", "cnt": "1000000000"}]}, "lines[0]"),
    ({"lines": [LINES[0] | {"pric": "1000000000", "cnt": "1000"}]}, "lines[0]"),
    ({"lines": [LINES[0] | {"pric": "6000000", "cnt": "1"}] * 2}, "lines"),
    ({"visit_type": "chronic", "disease": "M" * 40}, "disease"),  # VARCHAR(20): a 500 on PG
])
def test_a_bad_claim_is_refused_naming_the_field(api: TestClient, change: dict[str, Any],
                                                 field: str) -> None:
    doc = {k: v for k, v in (claim("RB0099", f.CHEN) | change).items() if v is not None}
    response = api.post("/api/v1/reimbursements", json=doc)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field
    assert api.get("/api/v1/reimbursements/RB0099").status_code == 404


def test_a_claim_of_someone_not_insured_here_is_not_found(api: TestClient) -> None:
    response = api.post("/api/v1/reimbursements",
                        json=claim("RB0098", f.CHEN | {"psn_no": "44030000000000000000009999"}))
    assert response.status_code == 404


def test_a_visit_is_reimbursed_once(api: TestClient) -> None:
    """A second claim of the same visit (mdtrt_id) is refused while the first stands; once the
    first is rejected the visit may be claimed again. Nothing is written by a refusal."""
    first = api.post("/api/v1/reimbursements", json=claim("RB0010", LIN, mdtrt_id="MDT0001"))
    assert first.status_code == 200, first.text
    before = accumulators(api, LIN["psn_no"])
    second = api.post("/api/v1/reimbursements", json=claim("RB0011", LIN, mdtrt_id="MDT0001"))
    assert second.status_code == 409, second.text
    assert second.json()["error"]["field"] == "mdtrt_id" and "RB0010" in second.text
    assert api.get("/api/v1/reimbursements/RB0011").status_code == 404
    assert accumulators(api, LIN["psn_no"]) == before
    assert api.post("/api/v1/reimbursements/RB0010/reject",
                    json={"reason": "claimed twice"}).status_code == 200
    again = api.post("/api/v1/reimbursements", json=claim("RB0012", LIN, mdtrt_id="MDT0001"))
    assert again.status_code == 200, again.text


def test_a_visit_settled_directly_is_not_reimbursed(api: TestClient) -> None:
    node = node_of(api)
    with node.store.tx() as tx:
        tx.add("settlements", {
            "setl_id": "S44DIRECT0001", "kind": "settle", "ref_setl_id": None, "role": "insured",
            "status": "settled", "mdtrt_id": "MDT0002", "psn_no": LIN["psn_no"],
            "insu_admdvs": "440100", "mdtrtarea_admvs": "510100", "fixmedins_code": CHENGDU_H,
            "med_type": "21", "visit_type": "inpatient", "insutype": "310",
            "medical_year": "2025", "setl_time": datetime(2025, 3, 6, 2, tzinfo=UTC),
            "medfee_sumamt": 50_000, "fund_pay_sumamt": 40_000, "acct_pay": 0,
            "psn_cash_pay": 10_000, "msgid": "M44DIRECT0001"})
    answer = api.post("/api/v1/reimbursements", json=claim("RB0013", LIN, mdtrt_id="MDT0002"))
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["field"] == "mdtrt_id" and "S44DIRECT0001" in answer.text
