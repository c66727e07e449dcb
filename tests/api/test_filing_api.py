"""The insured place's filing (备案) API: proxy filing, review, change, and 补办 after the fact."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.api.conftest import Province, TestClient
from tests.e2e import fixtures as f


def request(**changes: Any) -> dict[str, Any]:
    return {"psn_no": f.CHEN["psn_no"], "category": "other_temp", "destination": "510100",
            "channel": "app"} | changes


PROXY = {"agent_psn_no": "44030000000000000000000009", "relationship": "daughter",
         "consent_recorded": True, "face_verified": True}


def test_a_proxy_filing_needs_face_verification_and_records_the_agent(
        filing_province: Province, clerk: TestClient) -> None:
    before = filing_province.snapshot()
    refused = clerk.post("/api/v1/filings", json=request(
        proxy=PROXY | {"face_verified": False}))
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "proxy_not_verified"
    assert filing_province.snapshot() == before
    made = clerk.post("/api/v1/filings", json=request(proxy=PROXY)).json()
    assert made["status"] == "approved" and made["route"] == "none_required"
    assert made["proxy"] == PROXY
    assert date.fromisoformat(made["valid_until"]) - date.fromisoformat(made["valid_from"]) \
        == timedelta(days=180)


def test_a_filing_with_materials_waits_for_review_and_the_operator_approves_it(
        clerk: TestClient) -> None:
    pending = clerk.post("/api/v1/filings", json=request(
        category="referral", destination="310100", materials=["referral_proof"])).json()
    assert pending["status"] == "pending" and pending["route"] == "materials"
    assert pending["review_due"] > pending["applied_on"]
    missing = clerk.post("/api/v1/filings", json=request(
        category="referral", destination="110100", materials=[]))
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "materials"
    decided = clerk.post(f"/api/v1/filings/{pending['filing_no']}/decision",
                         json={"approve": True}).json()
    assert decided["status"] == "approved"
    bad = clerk.post(f"/api/v1/filings/{pending['filing_no']}/decision",
                     json={"approve": "yes"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "approve"


def test_a_temporary_filing_changes_destination_at_any_time(clerk: TestClient) -> None:
    made = clerk.post("/api/v1/filings", json=request(destination="330100"))
    first = made.json()
    moved = clerk.post(f"/api/v1/filings/{first['filing_no']}/change",
                       json={"destination": "320100"}).json()
    assert moved["destination"] == "320100" and moved["supersedes"] == first["filing_no"]
    listed = {x["filing_no"]: x["status"] for x in clerk.get(
        f"/api/v1/persons/{f.CHEN['psn_no']}/filings").json()}
    assert listed[first["filing_no"]] == "superseded"
    assert listed[moved["filing_no"]] == "approved"


def test_an_emergency_filed_after_the_fact_starts_on_the_admission_day(
        filing_province: Province, clerk: TestClient) -> None:
    today = filing_province.node.clock().date()
    admitted = today - timedelta(days=20)
    made = clerk.post("/api/v1/filings/post-hoc", json=request(
        category="emergency", destination="610100", admission_date=admitted.isoformat(),
        discharge_settled=False)).json()
    assert made["valid_from"] == admitted.isoformat() and made["post_hoc"] is True
    assert made["settle_directly"] is True and made["manual_reimbursement"] is False
    too_far = clerk.post("/api/v1/filings/post-hoc", json=request(
        category="other_temp", destination="620100", admission_date=admitted.isoformat()))
    assert too_far.status_code == 400
    assert too_far.json()["error"]["code"] == "backdate_too_far"
