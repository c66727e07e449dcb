"""Personal data at rest and in front of operators: ID numbers and names are sealed in the
database, found by a keyed hash, masked for a role without the right, and every read in the
clear is in the audit log (services/personal_data.py, adapters/db/crypto.py)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from medsettle.adapters.db import crypto
from medsettle.core.privacy import mask_id, mask_name
from tests.api.conftest import Province, TestClient, add_operator, bearer, new_visit
from tests.e2e import fixtures as f

PEOPLE = [p for p in f.ROWS["440000"]["persons"]]


def raw(province: Province, query: str) -> list[tuple[object, ...]]:
    with province.node.store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query))]


@pytest.fixture(scope="module")
def clerk(province: Province) -> Iterator[TestClient]:
    client = TestClient(province.http.app, headers=bearer(add_operator(province.node, "pd_clerk")))
    yield client
    client.close()


@pytest.fixture(scope="module")
def auditor(province: Province) -> Iterator[TestClient]:
    token = add_operator(province.node, "pd_auditor", role="auditor")
    client = TestClient(province.http.app, headers=bearer(token))
    yield client
    client.close()


def audit_lines(province: Province, action: str) -> list[tuple[object, ...]]:
    return raw(province, f"SELECT actor, target, after FROM audit_log WHERE action = '{action}' "
                         "ORDER BY id")


def test_the_raw_rows_hold_no_plaintext_id_number_or_name(province: Province, chen: object
                                                          ) -> None:
    new_visit(province, chen)  # type: ignore[arg-type]  # the treating side keeps a snapshot
    stored = "\n".join(str(v) for row in raw(province, "SELECT * FROM persons") for v in row)
    stored += "\n".join(str(v) for row in raw(province, "SELECT person FROM visits")
                        for v in row)
    assert PEOPLE and raw(province, "SELECT count(*) FROM visits")[0][0] >= 1
    for person in PEOPLE:
        assert person["certno"] not in stored and person["psn_name"] not in stored
        assert person["certno"][:14] not in stored  # not even the birth-date part
    with province.node.store.tx() as tx:  # the application reads them back in the clear
        row = tx.one("persons", certno=f.CHEN["certno"])
        visit = tx.rows("visits", psn_no=f.CHEN["psn_no"])[0]
    assert row is not None and (row.certno, row.psn_name) == (f.CHEN["certno"],
                                                              f.CHEN["psn_name"])
    assert visit.person["name"] == f.CHEN["psn_name"]


def test_an_id_number_is_found_by_a_keyed_hash_not_a_plain_one(province: Province) -> None:
    hashes = {str(h) for (h,) in raw(province, "SELECT certno_hmac FROM persons")}
    chen = f.CHEN["certno"]
    assert crypto.lookup_hash(chen) in hashes
    assert hashlib.sha256(chen.encode()).hexdigest() not in hashes  # a guess cannot be tested


def test_another_key_cannot_open_the_sealed_data(province: Province) -> None:
    try:
        crypto.configure("ab" * 32)
        with pytest.raises(crypto.DataKeyError, match="MEDSETTLE_DATA_KEY"), \
                province.node.store.tx() as tx:
            tx.one("persons", psn_no=f.CHEN["psn_no"])
    finally:
        crypto.configure(None)
    with pytest.raises(crypto.DataKeyError, match="64 hex"):
        crypto.configure("too short")


def test_a_role_without_the_right_sees_masked_values_and_is_refused_the_clear_ones(
        province: Province, auditor: TestClient) -> None:
    before = len(audit_lines(province, "person.read"))
    shown = auditor.get(f"/api/v1/persons/{f.CHEN['psn_no']}")
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["certno"] == mask_id(f.CHEN["certno"]) != f.CHEN["certno"]
    assert body["name"] == mask_name(f.CHEN["psn_name"]) and body["masked"] is True
    refused = auditor.get(f"/api/v1/persons/{f.CHEN['psn_no']}?unmask=true")
    assert refused.status_code == 403 and "unmask" in refused.text
    assert f.CHEN["certno"] not in refused.text
    assert len(audit_lines(province, "person.read")) == before  # nothing was read in the clear


def test_each_read_in_the_clear_is_in_the_audit_log(province: Province, clerk: TestClient,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    before = len(audit_lines(province, "person.read"))
    masked = clerk.get(f"/api/v1/persons/{f.CHEN['psn_no']}").json()
    assert masked["masked"] is True and masked["certno"] == mask_id(f.CHEN["certno"])
    assert len(audit_lines(province, "person.read")) == before
    with caplog.at_level(logging.INFO):
        for _ in range(2):
            clear = clerk.get(f"/api/v1/persons/{f.CHEN['psn_no']}?unmask=true").json()
            assert (clear["certno"], clear["name"]) == (f.CHEN["certno"], f.CHEN["psn_name"])
    lines = audit_lines(province, "person.read")[before:]
    assert [(actor, target) for actor, target, _ in lines] == [
        ("pd_clerk", f"person:{f.CHEN['psn_no']}")] * 2
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "personal data read" in logged
    assert f.CHEN["certno"] not in logged and f.CHEN["psn_name"] not in logged


def test_finding_a_person_by_id_number_is_audited(province: Province, clerk: TestClient
                                                  ) -> None:
    found = clerk.get("/api/v1/persons", params={"certno": f.CHEN["certno"]})
    assert found.status_code == 200 and found.json()["psn_no"] == f.CHEN["psn_no"]
    assert found.json()["masked"] is True
    assert audit_lines(province, "person.find")[-1][:2] == ("pd_clerk",
                                                             f"person:{f.CHEN['psn_no']}")
    bad = clerk.get("/api/v1/persons", params={"certno": "12345"})
    assert bad.status_code == 400 and "certno" in bad.text
    other = clerk.get("/api/v1/persons/nobody")
    assert other.status_code == 404


def test_an_operator_of_another_province_reads_nothing(province: Province) -> None:
    token = add_operator(province.node, "pd_sichuan", region="510000")
    response = TestClient(province.http.app, headers=bearer(token)).get(
        f"/api/v1/persons/{f.CHEN['psn_no']}?unmask=true")
    assert response.status_code == 403 and f.CHEN["certno"] not in response.text


def console(province: Province, name: str, role: str) -> TestClient:
    """A browser signed in to the console as a new operator of `role`."""
    import re
    from datetime import UTC, datetime

    from medsettle.services.operators import create_operator

    with province.node.store.tx() as tx:
        create_operator(tx, name, role, "440000", datetime.now(UTC), "correct horse battery")
    client = TestClient(province.http.app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/login").text)
    assert token is not None
    answer = client.post("/console/login", data={"name": name, "password": "correct horse battery",
                                                 "csrf_token": token.group(1), "next": "/console"})
    assert answer.status_code == 303, answer.text
    return client


def test_the_console_shows_a_person_masked_and_in_the_clear_only_for_a_case_worker(
        province: Province) -> None:
    worker, auditor = console(province, "pd_worker", "province"), console(
        province, "pd_reader", "auditor")
    before = len(audit_lines(province, "person.read"))
    for client in (worker, auditor):
        page = client.get("/console/persons", params={"q": f.CHEN["certno"]}).text
        assert mask_id(f.CHEN["certno"]) in page and f.CHEN["certno"] not in page
        assert mask_name(f.CHEN["psn_name"]) in page and f.CHEN["psn_name"] not in page
    assert 'id="unmask"' in worker.get("/console/persons", params={"q": f.CHEN["psn_no"]}).text
    refused = auditor.get("/console/persons", params={"q": f.CHEN["psn_no"], "unmask": "1"})
    assert 'id="unmask"' not in refused.text and f.CHEN["certno"] not in refused.text
    assert "unmask" in refused.text  # the reason is shown
    clear = worker.get("/console/persons", params={"q": f.CHEN["psn_no"], "unmask": "1"}).text
    assert f.CHEN["certno"] in clear and f.CHEN["psn_name"] in clear
    lines = audit_lines(province, "person.read")[before:]
    assert [(actor, target) for actor, target, _ in lines] == [
        ("pd_worker", f"person:{f.CHEN['psn_no']}")]
    audit_page = worker.get("/console/audit").text
    assert "person.read" in audit_page and f.CHEN["certno"] not in audit_page
