"""A reason or note in the operators' JSON routes is a string or absent: a JSON null was kept as
the reason "None", and "   " refused a filing although a rejection needs a reason. Each refusal
changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Province, bearer
from tests.api.test_console_pages import PSN_NO, node, pending_filing, tokens

__all__ = ["node", "tokens"]  # the module's fixtures


@pytest.mark.parametrize("reason", [None, "   ", 42, "x" * 501])
def test_refusing_a_filing_needs_a_reason_in_words(node: Province, tokens: dict[str, str],
                                                    reason: Any) -> None:
    filing = pending_filing(tokens["clerk"], node)
    answer = node.http.post(f"/api/v1/filings/{filing}/decision", headers=bearer(tokens["clerk"]),
                            json={"approve": False, "reason": reason})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == "reason"
    with node.node.store.tx() as tx:
        assert tx.one("filings", filing_no=filing).status == "pending"
    refused = node.http.post(f"/api/v1/filings/{filing}/decision",
                             headers=bearer(tokens["clerk"]),
                             json={"approve": False, "reason": "  no referral letter  "})
    assert refused.status_code == 200, refused.text
    with node.node.store.tx() as tx:
        assert tx.one("filings", filing_no=filing).reason == "no referral letter"


@pytest.mark.parametrize("reason", [None, "  ", ["fraud"]])
def test_terminating_direct_settlement_needs_a_reason_in_words(
        node: Province, tokens: dict[str, str], reason: Any) -> None:
    answer = node.http.post(f"/api/v1/persons/{PSN_NO}/direct-settlement",
                            headers=bearer(tokens["clerk"]), json={"barred": True,
                                                                    "reason": reason})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["field"] == "reason"
    with node.node.store.tx() as tx:
        assert tx.one("persons", psn_no=PSN_NO).direct_settlement_barred is False
