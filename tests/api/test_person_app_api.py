"""The insured person's JSON API (/api/v1/me) on one in-process province node: sign-in with a
one-time code written to the log and the lock-out, filing by commitment and for a consenting
family member, what a second person may not see, estimates, the e-voucher read by a hospital's
1101 until it expires, the settlements of a visit settled at the node's own hospital with its
bill, views logged by pseudonym, bad input that changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, create_province_app
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.his.client import HisClient, HisError, Patient, VisitFlow
from medsettle.core.codes import make_id_card
from medsettle.core.policy import PolicyBook
from medsettle.core.privacy import pseudonym
from tests.api.conftest import (
    CHEN_FILING,
    OUTPATIENT_LINES,
    REGION,
    TestClient,
    snapshot,
    tables_of,
)
from tests.e2e import fixtures as f

#: 陈红, 陈明's mother, insured in Guangzhou too.
MOTHER = f.CHEN | {"psn_no": "44030000000000000000000002", "certno": make_id_card(
    "44030419550101002"), "psn_name": "陈红", "gend": "2", "card_no": "A44000002",
                   "card_sn": "SN440002", "evoucher": "EC440100" + "F" * 23 + "2",
                   "psn_type": "12"}


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class Node:
    def __init__(self, node: ProvinceNode, http: TestClient, clock: Clock) -> None:
        self.node, self.http, self.clock = node, http, clock

    def client(self) -> TestClient:
        return TestClient(self.http.app)


def app_node(tmp: Path, book: PolicyBook, *, raise_server_exceptions: bool = True
             ) -> Iterator[Node]:
    """A Guangdong node: CHEN with a long-term filing, his mother without."""
    rows = {table: list(values) for table, values in f.ROWS[REGION].items()}
    rows["persons"] = [*rows["persons"], MOTHER]
    rows["filings"] = [CHEN_FILING]
    db_url = f"sqlite:///{tmp}/p.db"
    load_rows(db_url, rows)
    clock = Clock()
    node = ProvinceNode(ProvinceConfig(region=REGION, db_url=db_url, key="k"), book=book,
                        clock=clock)
    with TestClient(create_province_app(node, background=False),
                    raise_server_exceptions=raise_server_exceptions) as http:
        yield Node(node, http, clock)
    node.store.engine.dispose()


@pytest.fixture(scope="module")
def gd(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[Node]:
    yield from app_node(tmp_path_factory.mktemp("person-app"), book)


def code_from_log(caplog: pytest.LogCaptureFixture) -> str:
    codes = [r.code for r in caplog.records if getattr(r, "code", None)
             and "one-time sign-in code" in r.getMessage()]
    assert codes, "the code was not written to the log"
    return str(codes[-1])


def sign_in(gd: Node, person: dict[str, Any], caplog: pytest.LogCaptureFixture) -> TestClient:
    """A client signed in as `person`, sending the CSRF token on every request."""
    client = gd.client()
    with caplog.at_level(logging.INFO):
        assert client.post("/api/v1/me/sign-in/code",
                           json={"certno": person["certno"]}).status_code == 200
        code = code_from_log(caplog)
    gd.clock.now += timedelta(seconds=31)  # the next code of anyone may be asked for
    answer = client.post("/api/v1/me/sign-in", json={"certno": person["certno"], "code": code})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def test_a_person_signs_in_with_the_code_from_the_log_and_sees_themselves_masked(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    client = sign_in(gd, f.CHEN, caplog)
    me = client.get("/api/v1/me").json()
    assert "name" in me, me
    assert me["name"] == "陈*" and me["certno"] == f.CHEN["certno"][:4] + "*" * 10 \
        + f.CHEN["certno"][-4:]
    assert me["scheme"] == "employee"


def test_five_wrong_codes_lock_the_id_and_an_unknown_id_never_signs_in(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    client = gd.client()
    with caplog.at_level(logging.INFO):
        client.post("/api/v1/me/sign-in/code", json={"certno": MOTHER["certno"]})
        code = code_from_log(caplog)
    wrong = "000000" if code != "000000" else "111111"
    for n in range(4):
        refused = client.post("/api/v1/me/sign-in", json={"certno": MOTHER["certno"],
                                                          "code": wrong})
        assert refused.status_code == 401 and f"{4 - n} tries left" in refused.text
    locked = client.post("/api/v1/me/sign-in", json={"certno": MOTHER["certno"], "code": wrong})
    assert locked.status_code == 401 and "locked" in locked.text
    still = client.post("/api/v1/me/sign-in", json={"certno": MOTHER["certno"], "code": code})
    assert still.status_code == 401 and "locked" in still.text
    assert client.get("/api/v1/me").status_code == 401
    gd.clock.now += timedelta(minutes=16)  # the lock has passed
    stranger = make_id_card("11010119800101001")
    sent = client.post("/api/v1/me/sign-in/code", json={"certno": stranger})
    assert sent.status_code == 200 and sent.json()["sent"] is True
    assert client.post("/api/v1/me/sign-in", json={"certno": stranger, "code": "123456"}
                       ).status_code == 401
    bad = client.post("/api/v1/me/sign-in/code", json={"certno": "12345"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "certno"


def test_a_session_expires_after_idle_minutes(gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    client = sign_in(gd, f.CHEN, caplog)
    assert client.get("/api/v1/me").status_code == 200
    gd.clock.now += timedelta(minutes=16)
    expired = client.get("/api/v1/me")
    assert expired.status_code == 401 and "expired" in expired.text


def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(
        gd: Node, caplog: pytest.LogCaptureFixture, book: PolicyBook) -> None:
    """The session is a signed cookie: a copy taken before sign-out is refused after it, also
    by a node started afresh on the same database; another session of the person goes on."""
    client = sign_in(gd, f.CHEN, caplog)
    other_device = sign_in(gd, f.CHEN, caplog)
    cookie = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)}
    assert gd.client().get("/api/v1/me", headers=cookie).status_code == 200
    assert client.post("/api/v1/me/sign-out").status_code == 200
    refused = gd.client().get("/api/v1/me", headers=cookie)
    assert refused.status_code == 401 and "signed out" in refused.text
    with TestClient(create_province_app(gd.node, background=False)) as restarted:
        again = restarted.get("/api/v1/me", headers=cookie)
    assert again.status_code == 401 and "signed out" in again.text
    assert other_device.get("/api/v1/me").status_code == 200
    assert sign_in(gd, f.CHEN, caplog).get("/api/v1/me").status_code == 200


def test_a_commitment_filing_is_approved_at_once_then_changed_and_cancelled_with_audit(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    client = sign_in(gd, MOTHER, caplog)
    no_csrf = gd.client()
    no_csrf.cookies = client.cookies
    refused = no_csrf.post("/api/v1/me/filings", json={"category": "other_temp",
                                                       "destination": "310100"})
    assert refused.status_code == 403
    made = client.post("/api/v1/me/filings", json={
        "category": "posted_worker", "destination": "330100", "commitment": True})
    assert made.status_code == 200, made.text
    filing = made.json()
    assert filing["status"] == "approved" and filing["route"] == "commitment"
    assert filing["channel"] == "app"
    temp = client.post("/api/v1/me/filings", json={"category": "other_temp",
                                                   "destination": "310100"}).json()
    moved = client.post(f"/api/v1/me/filings/{temp['filing_no']}/change",
                        json={"destination": "320100"}).json()
    assert moved["destination"] == "320100" and moved["supersedes"] == temp["filing_no"]
    cancelled = client.post(f"/api/v1/me/filings/{moved['filing_no']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    with gd.node.store.tx() as tx:
        lines = [(r.actor, r.action) for r in tx.rows("audit_log")]
    actor = f"person:{MOTHER['psn_no']}"
    assert (actor, "person.filing.create") in lines and (actor, "person.filing.cancel") in lines
    # long-term filing cannot be cancelled within its holding period: the error names why
    locked = client.post(f"/api/v1/me/filings/{filing['filing_no']}/cancel")
    assert locked.status_code == 400 and locked.json()["error"]["code"] == "filing_locked"


def test_bad_filing_input_is_refused_naming_the_field_and_changes_nothing(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    client = sign_in(gd, f.CHEN, caplog)
    tables = [t for t in tables_of(gd.node.store.engine)
              if t.name not in ("audit_log", "person_sign_in")]
    before = snapshot(gd.node.store.engine, tables)
    for doc, field in (({"category": "nonsense", "destination": "310100"}, "category"),
                       ({"category": "other_temp", "destination": "440300"}, "destination"),
                       ({"category": "other_temp", "destination": "31010"}, "destination"),
                       ({"category": "referral", "destination": "310100"}, "materials"),
                       ({"category": "other_temp", "destination": "310100", "psn_no": "x"},
                        "psn_no")):
        answer = client.post("/api/v1/me/filings", json=doc)
        assert answer.status_code == 400, (doc, answer.text)
        assert answer.json()["error"]["field"] == field, answer.text
    assert snapshot(gd.node.store.engine, tables) == before


def test_a_second_person_cannot_see_or_touch_the_first_ones_data(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    chen = sign_in(gd, f.CHEN, caplog)
    filing = chen.post("/api/v1/me/filings", json={"category": "other_temp",
                                                   "destination": "350100"}).json()
    mother = sign_in(gd, MOTHER, caplog)
    assert all(x["psn_no"] == MOTHER["psn_no"] for x in mother.get("/api/v1/me/filings").json())
    assert mother.get(f"/api/v1/me/filings?for={f.CHEN['psn_no']}").status_code == 403
    assert mother.get(f"/api/v1/me/settlements?for={f.CHEN['psn_no']}").status_code == 403
    assert mother.get(f"/api/v1/me/year?for={f.CHEN['psn_no']}").status_code == 403
    touched = mother.post(f"/api/v1/me/filings/{filing['filing_no']}/cancel")
    assert touched.status_code == 404
    assert chen.get("/api/v1/me/filings").json()[0]["status"] == "approved"


def test_a_family_member_consents_then_the_agent_files_for_them(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    chen = sign_in(gd, f.CHEN, caplog)
    wrong_name = chen.post("/api/v1/me/family", json={"certno": MOTHER["certno"], "name": "王红",
                                                      "relationship": "parent"})
    assert wrong_name.status_code == 404
    link = chen.post("/api/v1/me/family", json={"certno": MOTHER["certno"], "name": "陈红",
                                                "relationship": "parent"}).json()
    assert link["status"] == "asked"
    # before consent the agent learns nothing beyond what they typed, masked
    assert link["person"] == {"name": "陈*", "certno": MOTHER["certno"][:4] + "*" * 10
                              + MOTHER["certno"][-4:]}
    early = chen.post("/api/v1/me/filings", json={"category": "other_temp",
                                                  "destination": "320100",
                                                  "for": MOTHER["psn_no"]})
    assert early.status_code == 403  # not before the mother consents
    assert chen.post(f"/api/v1/me/family/{link['id']}/consent").status_code == 403
    mother = sign_in(gd, MOTHER, caplog)
    assert mother.post(f"/api/v1/me/family/{link['id']}/consent").json()["status"] == "active"
    chen = sign_in(gd, f.CHEN, caplog)
    active = next(x for x in chen.get("/api/v1/me").json()["family"] if x["id"] == link["id"])
    assert active["person"]["psn_no"] == MOTHER["psn_no"]
    made = chen.post("/api/v1/me/filings", json={"category": "other_temp",
                                                 "destination": "320100",
                                                 "for": MOTHER["psn_no"]}).json()
    assert made["psn_no"] == MOTHER["psn_no"]
    assert made["proxy"]["agent_psn_no"] == f.CHEN["psn_no"]
    assert made["proxy"]["relationship"] == "parent" and made["proxy"]["consent_recorded"]
    seen = chen.get(f"/api/v1/me/filings?for={MOTHER['psn_no']}").json()
    assert made["filing_no"] in [x["filing_no"] for x in seen]


def test_an_estimate_explains_every_step_and_bad_input_names_the_field(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    client = sign_in(gd, f.CHEN, caplog)
    with caplog.at_level(logging.INFO, logger="medsettle.access"):
        answer = client.post("/api/v1/me/estimate?lang=en", json={
            "region": "510100", "level": "L3", "visit_type": "inpatient", "amount": "10000",
            "mix": "class_a"})
    assert answer.status_code == 200, answer.text
    est = answer.json()
    main = est["main"]
    assert main["key"] == "as_is" and main["benefit_class"] == "long_term"  # CHEN's filing
    amounts = main["amounts"]
    assert amounts["medfee_sumamt"] == 1000000
    assert amounts["fund_pay_sumamt"] + amounts["psn_part_amt"] == 1000000
    assert any(s["code"] == "deductible.per_visit" for s in main["steps"])
    assert "SAMPLE PARAMETERS" in est["parameters"]
    assert [a["key"] for a in est["alternatives"]] == ["at_level_2"]
    viewed = [r for r in caplog.records if r.getMessage() == "personal data viewed"]
    assert viewed and viewed[-1].subject == pseudonym(f.CHEN["psn_no"])
    assert all(f.CHEN["psn_no"] not in r.getMessage() + str(r.__dict__) for r in viewed)
    unfiled = client.post("/api/v1/me/estimate", json={
        "region": "110100", "level": "L2", "visit_type": "outpatient", "amount": "300"}).json()
    assert unfiled["direct"] is False and unfiled["main"]["key"] == "unfiled_manual"
    assert {a["key"] for a in unfiled["alternatives"]} == {"if_filed_temporary",
                                                           "if_filed_long_term"}
    for doc, field in (({"region": "510100", "level": "L9", "visit_type": "inpatient",
                         "amount": "1"}, "level"),
                       ({"region": "510100", "level": "L3", "visit_type": "inpatient",
                         "amount": "abc"}, "amount"),
                       ({"region": "990100", "level": "L3", "visit_type": "inpatient",
                         "amount": "10"}, "region"),
                       ({"region": "510100", "level": "L3", "visit_type": "inpatient",
                         "lines": [{"cls": "A", "pric": 1.5, "cnt": "1"}]}, "lines[0].pric")):
        bad = client.post("/api/v1/me/estimate", json=doc)
        assert bad.status_code == 400 and bad.json()["error"]["field"] == field, bad.text
    diffs = client.get("/api/v1/me/policy-differences?region=510100&lang=zh").json()
    assert diffs["rows"] and all("." not in r["what"] for r in diffs["rows"])


def test_the_e_voucher_is_read_by_a_hospital_until_it_expires(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    client = sign_in(gd, f.CHEN, caplog)
    voucher = client.post("/api/v1/me/evoucher").json()
    assert voucher["token"].startswith("EC440100") and len(voucher["token"]) == 32
    assert voucher["qr_svg"].startswith("<svg")
    his = HisClient(str(gd.http.base_url), f.SHENZHEN_H, "深圳示例医院", http=gd.http)
    his.sign_in()
    out = his.person("01", voucher["token"])
    assert out["baseinfo"]["psn_no"] == f.CHEN["psn_no"]
    patient = Patient.from_1101(out, "01", voucher["token"])
    flow = VisitFlow(his, patient)
    flow.register()  # the admission's credential check accepts the app's token
    gd.clock.now += timedelta(minutes=6)
    with pytest.raises(HisError, match="expired"):
        his.person("01", voucher["token"])
    assert his.person("01", f.CHEN["evoucher"])["baseinfo"]["psn_no"] == f.CHEN["psn_no"]


def test_a_settlement_appears_with_the_hospitals_amounts_and_its_bill(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    his = HisClient(str(gd.http.base_url), f.SHENZHEN_H, "深圳示例医院", http=gd.http)
    his.sign_in()
    patient = Patient.from_1101(his.person("01", f.CHEN["evoucher"]), "01", f.CHEN["evoucher"])
    flow = VisitFlow(his, patient)
    flow.register()
    flow.fees(OUTPATIENT_LINES)
    settled = flow.settle("281.00")["setlinfo"]
    client = sign_in(gd, f.CHEN, caplog)
    listed = client.get("/api/v1/me/settlements").json()
    assert listed[0]["setl_id"] == settled["setl_id"] and listed[0]["cross_province"] is False
    assert listed[0]["institution_name"] == "深圳示例医院"
    detail = client.get(f"/api/v1/me/settlements/{settled['setl_id']}?lang=zh").json()
    assert detail["institution_name"] == "深圳示例医院"
    assert detail["amounts"]["medfee_sumamt"] == 28100
    assert round(settled["fund_pay_sumamt"] * 100) == detail["amounts"]["fund_pay_sumamt"]
    assert round(settled["psn_part_amt"] * 100) == detail["amounts"]["psn_part_amt"]
    assert [x["cls"] for x in detail["lines"]] == ["A", "B", "C"]
    assert detail["lines"][2]["reason_text"].startswith("丙类")
    flow.cancel(settled["setl_id"])
    again = client.get(f"/api/v1/me/settlements/{settled['setl_id']}").json()
    assert again["status"] == "cancelled" and again["cancelled_by"]["amounts"][
        "medfee_sumamt"] == -28100
    mother = sign_in(gd, MOTHER, caplog)
    assert mother.get(f"/api/v1/me/settlements/{settled['setl_id']}").status_code == 404
    year = client.get("/api/v1/me/year").json()
    assert year["has_account"] is True and year["deductibles"]


def test_institutions_of_the_own_province_and_bad_queries(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    client = sign_in(gd, f.CHEN, caplog)
    found = client.get("/api/v1/me/institutions?region=440000").json()
    assert [i["code"] for i in found["institutions"]] == [f.SHENZHEN_H]  # not the suspended one
    chronic = client.get("/api/v1/me/institutions?region=440300&service=M03900").json()
    assert chronic["total"] == 1
    none = client.get("/api/v1/me/institutions?region=440300&service=M07803").json()
    assert none["total"] == 0
    bad = client.get("/api/v1/me/institutions?region=440000&level=L7")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "level"
    far = client.get("/api/v1/me/institutions?region=510000")
    assert far.status_code == 404  # no hub configured for this node


def test_every_route_of_the_app_api_but_sign_in_needs_the_person(gd: Node) -> None:
    from fastapi.routing import APIRoute
    routes = [r for r in gd.http.app.routes
              if isinstance(r, APIRoute) and r.path.startswith("/api/v1/me")]
    assert len(routes) >= 18
    open_routes = [r.path for r in routes if "signed_in_person" not in
                   {d.call.__name__ for d in r.dependant.dependencies if d.call}]
    assert sorted(open_routes) == ["/api/v1/me/sign-in", "/api/v1/me/sign-in/code"]
    client = gd.client()
    for route in routes:
        if route.path.startswith("/api/v1/me/sign-in"):
            continue
        path = route.path.replace("{filing_no}", "BA1").replace("{setl_id}", "S1").replace(
            "{link_id}", "1").replace("{action}", "end")
        for method in route.methods:
            assert client.request(method, path, json={}).status_code == 401, (method, path)


def test_a_filing_with_materials_waits_for_an_operator_and_one_after_the_fact_is_back_dated(
        gd: Node, caplog: pytest.LogCaptureFixture) -> None:
    client = sign_in(gd, f.CHEN, caplog)
    pending = client.post("/api/v1/me/filings", json={
        "category": "referral", "destination": "310100", "materials": ["referral_proof"]}).json()
    assert pending["status"] == "pending" and pending["review_due"] > pending["applied_on"]
    with gd.node.store.tx() as tx:  # the console's review queue shows it
        assert tx.one("filings", filing_no=pending["filing_no"]).status == "pending"
    today = gd.node.clock().date()
    admitted = (today - timedelta(days=3)).isoformat()
    late = client.post("/api/v1/me/filings", json={
        "category": "emergency", "destination": "330100", "after_the_fact": True,
        "admission_date": admitted}).json()
    assert late["post_hoc"] is True and late["valid_from"] == admitted
    assert late["settle_directly"] is True
    too_far = client.post("/api/v1/me/filings", json={
        "category": "other_temp", "destination": "330100", "after_the_fact": True,
        "admission_date": (today - timedelta(days=30)).isoformat()})
    assert too_far.status_code == 400 and too_far.json()["error"]["code"] == "backdate_too_far"
