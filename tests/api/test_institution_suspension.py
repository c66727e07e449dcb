"""A province operator suspends an institution from cross-province direct settlement in the
console (with a reason, audited) and its HIS gateway then refuses that institution's settlement
with institution_suspended; reinstated, the same visit settles. Marking it not networked refuses
it too. In-process (TestClient); tests/web clicks the same page in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from medsettle.adapters.his.client import HisError, Patient
from tests.api.conftest import Province, his_rows, new_visit, start_province
from tests.api.test_console_pages import add, browser, csrf_of, sign_in
from tests.e2e import fixtures as f

H = f.SHENZHEN_H
REASON = "医保飞行检查：涉嫌串换药品，暂停异地直接结算"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: Any) -> Iterator[Province]:
    yield from start_province(tmp_path_factory.mktemp("institutions"), his_rows(), book)


@pytest.fixture(scope="module")
def clerk(node: Province) -> Any:
    add(node, "clerk")
    add(node, "audit", "auditor")
    return sign_in(browser(node), "clerk")


@pytest.fixture(scope="module")
def chen(node: Province) -> Patient:
    out = node.signed_in(H).person("01", f.CHEN["evoucher"])
    return Patient.from_1101(out, "01", f.CHEN["evoucher"])


def act(client: Any, code: str, action: str, reason: str = "") -> Any:
    token = csrf_of(client.get("/console/institutions").text)
    answer = client.post(f"/console/institutions/{code}/{action}",
                         data={"csrf_token": token, "reason": reason})
    assert answer.status_code == 303, answer.text
    return client.get("/console/institutions").text


def audit(node: Province, action: str) -> list[Any]:
    with node.node.store.tx() as tx:
        return [r for r in tx.rows("audit_log", order_by="id") if r.action == action]


def test_a_suspension_is_audited_and_the_gateway_refuses_the_institution_until_reinstated(
        node: Province, clerk: Any, chen: Patient) -> None:
    visit = new_visit(node, chen)  # registered and fees uploaded before the suspension
    page = act(clerk, H, "suspend", REASON)
    assert "已完成" in page and REASON in page
    [line] = audit(node, "institution.suspend")
    assert (line.actor, line.role, line.region, line.target) == ("clerk", "province", "440000", H)
    assert line.before["suspended"] is False and line.after["suspended"] is True
    assert line.after["reason"] == REASON and line.after["suspension_reason"] == REASON
    assert "api_key" not in line.before and "api_key" not in line.after

    with pytest.raises(HisError, match=r"institution_suspended|suspended") as refused:
        visit.flow.settle(visit.total)
    assert "suspended from cross-province direct settlement until it is reinstated" in str(
        refused.value) and f"({REASON})" in str(refused.value)  # why, and until when
    with pytest.raises(HisError, match="suspended"):
        node.his(H).sign_in()  # a new sign-in of its HIS is refused too

    page = act(clerk, H, "reinstate", "整改完成，恢复结算")
    assert "已完成" in page
    [back] = audit(node, "institution.reinstate")
    assert back.before["suspended"] is True and back.after["suspended"] is False
    assert back.after["suspension_reason"] is None
    assert visit.flow.settle(visit.total)["setlinfo"]["setl_id"]


def test_an_institution_marked_not_networked_is_refused_and_marking_it_back_lets_it_settle(
        node: Province, clerk: Any, chen: Patient) -> None:
    visit = new_visit(node, chen)
    act(clerk, H, "not_networked")
    [line] = audit(node, "institution.not_networked")
    assert line.before["networked"] is True and line.after["networked"] is False
    with pytest.raises(HisError, match="not networked"):
        visit.flow.settle(visit.total)
    act(clerk, H, "networked")
    assert visit.flow.settle(visit.total)["setlinfo"]["setl_id"]


def test_a_suspension_without_a_reason_or_by_an_auditor_changes_nothing(
        node: Province, clerk: Any) -> None:
    before = node.snapshot()
    page = act(clerk, H, "suspend", "   ")
    assert "填写有误：原因" in page and "class=\"flash error\"" in page
    assert node.snapshot() == before
    page = act(clerk, "H44030400000", "suspend", REASON)
    assert "not a designated institution" in page
    auditor = sign_in(browser(node), "audit")
    token = csrf_of(auditor.get("/console/institutions").text)
    assert "暂停直接结算</button>" not in auditor.get("/console/institutions").text
    answer = auditor.post(f"/console/institutions/{H}/suspend",
                          data={"csrf_token": token, "reason": REASON})
    assert answer.status_code == 403
    assert node.snapshot() == before
