"""A province loads its own parameter set in the console: the upload is validated (every error
by key), shows its difference against the set in force and its provenance notice, needs a second
operator's approval (four eyes), is audited at every step, and is used by the running node from
its valid_from without a restart. A settlement stores the id and content hash of the set it
used; its cancel after a new set was approved restores exactly the old amounts and names the old
set. A set approved with `medsettle policy approve` while the node runs is picked up by its
next poll. In-process (TestClient)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from medsettle.adapters.cli import app
from medsettle.adapters.files import policies_dir
from medsettle.adapters.his.client import Patient
from medsettle.core.calendar import business_date
from medsettle.core.policy import parse_parameter_set
from tests.api.conftest import Province, his_rows, new_visit, start_province
from tests.api.test_console_pages import add, browser, csrf_of, sign_in
from tests.e2e import fixtures as f

SEED = policies_dir() / "440100" / "employee" / "440100-employee-2025.yaml"
H = f.SHENZHEN_H


def guangzhou_employees(set_id: str, ratio_l3: str, valid_from: str) -> dict[str, Any]:
    """The shipped Guangzhou employee set under another id, from `valid_from`, with the active
    employees' outpatient ratio at tier-3 hospitals changed (and said to be official)."""
    doc = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    doc["id"] = set_id
    doc["valid_from"] = valid_from
    doc["benefits"]["outpatient"]["ratio"]["active"]["L3"] = ratio_l3
    doc["provenance"]["benefits.outpatient.ratio.active"] = {
        "status": "official", "document": "穗医保规〔2026〕1号 (a test's example)",
        "date": valid_from}
    return doc


def as_yaml(doc: dict[str, Any]) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: Any) -> Iterator[Province]:
    yield from start_province(tmp_path_factory.mktemp("policy-sets"), his_rows(), book)


@pytest.fixture(scope="module")
def people(node: Province) -> dict[str, Any]:
    add(node, "clerk")
    add(node, "checker")
    add(node, "audit", "auditor")
    return {name: sign_in(browser(node), name) for name in ("clerk", "checker", "audit")}


@pytest.fixture(scope="module")
def chen(node: Province) -> Patient:
    out = node.signed_in(H).person("01", f.CHEN["evoucher"])
    return Patient.from_1101(out, "01", f.CHEN["evoucher"])


def today(node: Province) -> str:
    return business_date(node.node.clock()).isoformat()


def upload(client: Any, name: str, data: bytes) -> Any:
    token = csrf_of(client.get("/console/policies").text)
    return client.post("/console/policies", data={"csrf_token": token},
                       files={"document": (name, data, "application/yaml")})


def upload_raw_name(client: Any, name: bytes, data: bytes) -> Any:
    """An upload whose file name is sent as it is (httpx would percent-encode a NUL in it)."""
    token = csrf_of(client.get("/console/policies").text)
    body = (b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            + token.encode() + b"\r\n--B\r\nContent-Disposition: form-data; name=\"document\"; "
            b"filename=\"" + name + b"\"\r\nContent-Type: application/yaml\r\n\r\n" + data
            + b"\r\n--B--\r\n")
    return client.post("/console/policies", content=body,
                       headers={"content-type": "multipart/form-data; boundary=B"})


def decide(client: Any, set_row: int, action: str, reason: str = "") -> Any:
    token = csrf_of(client.get(f"/console/policies/{set_row}").text)
    return client.post(f"/console/policies/{set_row}/{action}",
                       data={"csrf_token": token, "reason": reason})


def audit(node: Province, prefix: str = "policy.") -> list[Any]:
    with node.node.store.tx() as tx:
        return [r for r in tx.rows("audit_log", order_by="id") if r.action.startswith(prefix)]


def settlement(node: Province, setl_id: str) -> Any:
    with node.node.store.tx() as tx:
        return tx.one("settlements", setl_id=setl_id, role="insured")


def proposed_id(answer: Any) -> int:
    assert answer.status_code == 303, answer.text
    return int(answer.headers["location"].rsplit("/", 1)[1])


def test_an_uploaded_set_needs_a_second_operator_and_the_running_node_then_uses_it(
        node: Province, people: dict[str, Any], chen: Patient) -> None:
    before_visit = new_visit(node, chen)
    before = before_visit.flow.settle(before_visit.total)["setlinfo"]
    old = settlement(node, before["setl_id"])
    seed = node.node.book.seed.find("440100", "employee", business_date(node.node.clock()))
    assert (old.policy_id, old.policy_hash) == (seed.id, seed.content_hash)
    drill = people["clerk"].get(f"/console/settlements/{before['setl_id']}").text
    assert f"示例参数，非正式政策：{seed.id} 并非全部来自正式文件" in drill  # the drill-down says so

    doc = guangzhou_employees("440100-employee-2026a", "0.80", today(node))
    set_row = proposed_id(upload(people["clerk"], "gz-employee-2026a.yaml", as_yaml(doc)))
    page = people["clerk"].get(f"/console/policies/{set_row}").text
    assert "示例参数，非正式政策：440100-employee-2026a" in page
    assert "outpatient pool ratio, active L0/L1/L2/L3" in page and "80%" in page
    assert "50%" in page  # the value in force beside the new one
    assert "/approve" not in page  # the proposer has no approve button
    assert node.node.book.find("440100", "employee",
                               business_date(node.node.clock())).id == seed.id

    refused = decide(people["clerk"], set_row, "approve")
    assert refused.status_code == 403 and "four eyes" in refused.text
    refused = decide(people["audit"], set_row, "approve")
    assert refused.status_code == 403
    with node.node.store.tx() as tx:
        assert tx.one("policy_sets", id=set_row).status == "proposed"

    assert "/approve" in people["checker"].get(f"/console/policies/{set_row}").text
    assert decide(people["checker"], set_row, "approve").status_code == 303
    served = node.node.book.find("440100", "employee", business_date(node.node.clock()))
    assert (served.id, served.source.split(" ")[0]) == (doc["id"], f"policy_sets#{set_row}")

    after_visit = new_visit(node, chen)
    after = after_visit.flow.settle(after_visit.total)["setlinfo"]
    new = settlement(node, after["setl_id"])
    assert (new.policy_id, new.policy_hash) == (doc["id"], parse_parameter_set(
        doc, "x").content_hash)
    assert after["hifp_pay"] > before["hifp_pay"]  # 80% instead of 50% at a tier-3 hospital
    with node.node.store.tx() as tx:  # the treating place's record names the same set
        treating = tx.one("settlements", setl_id=after["setl_id"], role="treating")
    assert (treating.policy_id, treating.policy_hash) == (new.policy_id, new.policy_hash)

    lines = [(r.actor, r.action, r.target) for r in audit(node)]
    assert lines == [("clerk", "policy.propose", f"#{set_row} {doc['id']}"),
                     ("checker", "policy.approve", f"#{set_row} {doc['id']}")]
    approval = audit(node)[1]
    assert approval.before["status"] == "proposed" and approval.after["status"] == "approved"
    assert approval.after["approved_by"] == "checker" and approval.after["proposed_by"] == "clerk"
    listing = people["audit"].get("/console/policies").text
    assert f'href="/console/policies/{set_row}"' in listing  # in force today, approved here
    assert "示例参数，非正式政策" in listing


def test_a_cancel_after_a_new_set_restores_the_old_amounts_and_names_the_old_set(
        node: Province, people: dict[str, Any], chen: Patient) -> None:
    visit = new_visit(node, chen)
    info = visit.flow.settle(visit.total)["setlinfo"]
    original = settlement(node, info["setl_id"])
    with node.node.store.tx() as tx:
        acc_before_cancel = {(r.year, r.path): r.value
                             for r in tx.rows("accumulators", psn_no=chen.psn_no)}

    doc = guangzhou_employees("440100-employee-2026b", "0.95", today(node))
    set_row = proposed_id(upload(people["checker"], "gz-employee-2026b.yaml", as_yaml(doc)))
    assert decide(people["clerk"], set_row, "approve").status_code == 303
    assert node.node.book.find("440100", "employee",
                               business_date(node.node.clock())).id == doc["id"]  # latest wins

    visit.flow.cancel(info["setl_id"])
    with node.node.store.tx() as tx:
        cancel = tx.one("settlements", ref_setl_id=info["setl_id"], role="insured")
        acc_after_cancel = {(r.year, r.path): r.value
                            for r in tx.rows("accumulators", psn_no=chen.psn_no)}
    assert (cancel.policy_id, cancel.policy_hash) == (original.policy_id, original.policy_hash)
    assert cancel.policy_id != doc["id"]
    for name in ("medfee_sumamt", "hifp_pay", "fund_pay_sumamt", "psn_cash_pay", "acct_pay"):
        assert getattr(cancel, name) == -getattr(original, name)
    delta = original.delta or {}
    year = original.medical_year
    for path, value in delta.items():
        key = ("" if path == "acct_balance" else year, path)
        assert acc_after_cancel.get(key, 0) == acc_before_cancel.get(key, 0) - value
    assert settlement(node, info["setl_id"]).status == "cancelled"
    assert settlement(node, info["setl_id"]).policy_hash == original.policy_hash  # unchanged


def test_an_invalid_upload_lists_every_error_and_changes_nothing(
        node: Province, people: dict[str, Any]) -> None:
    doc = guangzhou_employees("440100-employee-bad", "1.50", "2027-01-01")
    doc["caps"]["main"] = 50000000.0
    doc["temp_reduction"]["points"]["other_temp"] = 30
    before = node.snapshot()
    answer = upload(people["clerk"], "bad.yaml", as_yaml(doc))
    assert answer.status_code == 400
    for key in ("benefits.outpatient.ratio.active.L3", "caps.main",
                "temp_reduction.points.other_temp"):
        assert key in answer.text
    answer = upload(people["clerk"], "broken.yaml", b"id: [unclosed\n")
    assert answer.status_code == 400 and "cannot be parsed" in answer.text
    deep = b"[" * 100_000 + b"]" * 100_000  # past the interpreter's recursion: was a 500
    for name in ("deep.json", "deep.yaml"):
        answer = upload(people["clerk"], name, deep)
        assert answer.status_code == 400, (name, answer.text[:200])
        assert "nested too deeply" in answer.text or "cannot be parsed" in answer.text
    valid = as_yaml(guangzhou_employees("440100-employee-nul", "0.85", "2027-01-01"))
    answer = upload_raw_name(people["clerk"], b"set\x00.yaml", valid)  # kept as its source
    assert answer.status_code == 400, answer.text[:300]  # was proposed (SQLite), a 500 (PG)
    assert node.snapshot() == before
    beijing = yaml.safe_load((policies_dir() / "110100" / "employee" /
                              "110100-employee-2025.yaml").read_text(encoding="utf-8"))
    answer = upload(people["clerk"], "beijing.yaml", as_yaml(beijing))
    assert answer.status_code == 400 and "province 440000 only" in answer.text
    assert node.snapshot() == before


def test_a_proposal_is_rejected_with_a_reason_and_an_identical_one_may_come_again(
        node: Province, people: dict[str, Any]) -> None:
    doc = guangzhou_employees("440100-employee-2027", "0.85", "2027-01-01")
    set_row = proposed_id(upload(people["clerk"], "gz-2027.yaml", as_yaml(doc)))
    again = upload(people["checker"], "gz-2027.yaml", as_yaml(doc))
    assert again.status_code == 400 and f"already proposed as #{set_row}" in again.text
    decide(people["checker"], set_row, "reject")  # no reason: refused
    with node.node.store.tx() as tx:
        assert tx.one("policy_sets", id=set_row).status == "proposed"
    assert decide(people["checker"], set_row, "reject", "文号有误").status_code == 303
    rejected = audit(node, "policy.reject")[-1]
    assert rejected.actor == "checker" and rejected.after["note"] == "文号有误"
    assert proposed_id(upload(people["clerk"], "gz-2027.yaml", as_yaml(doc))) > set_row


def test_a_set_approved_from_the_command_line_is_served_after_the_nodes_next_poll(
        node: Province, people: dict[str, Any]) -> None:
    doc = guangzhou_employees("440100-employee-2028", "0.88", "2028-01-01")
    set_row = proposed_id(upload(people["clerk"], "gz-2028.yaml", as_yaml(doc)))
    url = str(node.node.store.engine.url)
    done = CliRunner().invoke(app, ["policy", "approve", str(set_row), "--db", url, "--as",
                                    "checker"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert done.exit_code == 0, done.stderr
    assert "approved" in done.stdout and "proposed by clerk" in done.stdout
    later = datetime(2028, 3, 1, tzinfo=UTC).date()
    assert node.node.book.find("440100", "employee", later).id != doc["id"]  # not polled yet
    node.node.refresh_policies()
    assert node.node.book.find("440100", "employee", later).id == doc["id"]
    assert ("checker", "policy.approve") in [(r.actor, r.action) for r in audit(node)]


def test_an_approved_set_is_withdrawn_before_it_takes_effect_and_never_once_in_force(
        node: Province, people: dict[str, Any]) -> None:
    later = datetime(2029, 3, 1, tzinfo=UTC).date()
    doc = guangzhou_employees("440100-employee-2029", "0.89", "2029-01-01")
    set_row = proposed_id(upload(people["clerk"], "gz-2029.yaml", as_yaml(doc)))
    assert decide(people["checker"], set_row, "approve").status_code == 303
    assert node.node.book.find("440100", "employee", later).id == doc["id"]
    page = people["clerk"].get(f"/console/policies/{set_row}").text
    assert 'id="withdrawal"' in page and "生效前撤销" in page

    decide(people["clerk"], set_row, "withdraw")  # no reason: refused, nothing changes
    decide(people["audit"], set_row, "withdraw", "不是省级经办")  # an auditor may not
    with node.node.store.tx() as tx:
        assert tx.one("policy_sets", id=set_row).status == "approved"
    assert node.node.book.find("440100", "employee", later).id == doc["id"]

    assert decide(people["clerk"], set_row, "withdraw", "文件撤回重发").status_code == 303
    with node.node.store.tx() as tx:
        row = tx.one("policy_sets", id=set_row)
    assert (row.status, row.withdrawn_by, row.note) == ("withdrawn", "clerk", "文件撤回重发")
    assert node.node.book.find("440100", "employee", later).id != doc["id"]  # at once
    withdrawn = audit(node, "policy.withdraw")[-1]
    assert withdrawn.actor == "clerk" and withdrawn.before["status"] == "approved"
    page = people["clerk"].get(f"/console/policies/{set_row}").text
    assert "已撤销" in page and "文件撤回重发" in page and 'id="withdrawal"' not in page


def test_a_set_in_force_is_superseded_not_withdrawn(node: Province,
                                                    people: dict[str, Any]) -> None:
    doc = guangzhou_employees("440100-employee-2026w", "0.66", today(node))
    set_row = proposed_id(upload(people["clerk"], "gz-2026w.yaml", as_yaml(doc)))
    assert decide(people["checker"], set_row, "approve").status_code == 303
    assert 'id="withdrawal"' not in people["clerk"].get(f"/console/policies/{set_row}").text
    url = str(node.node.store.engine.url)
    done = CliRunner().invoke(app, ["policy", "withdraw", str(set_row), "--db", url, "--as",
                                    "clerk", "--reason", "试试"],
                              env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert done.exit_code != 0
    assert "in force since" in done.stderr and "Traceback" not in done.stderr
    with node.node.store.tx() as tx:
        assert tx.one("policy_sets", id=set_row).status == "approved"
    node.node.refresh_policies()
    assert node.node.book.find("440100", "employee",
                               business_date(node.node.clock())).id == doc["id"]
