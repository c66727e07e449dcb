"""The migration that seals personal data already stored (p0036), on SQLite and PostgreSQL:
rows written in the clear before it are sealed after it, found by their keyed hash, and read
back as they were."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, Engine, text

from medsettle.adapters.db import crypto
from medsettle.adapters.db.engine import migrate
from medsettle.adapters.db.store import Store
from medsettle.core.errors import InvalidInput
from tests.e2e import fixtures as f
from tests.integration import revisions

CHEN = f.CHEN
#: A node's own data key: a database holding personal data in the clear is never sealed with
#: the public development key (crypto.check_key_opens).
NODE_KEY = "5e" * 32


@pytest.fixture
def node_key() -> Iterator[None]:
    """The node's own data key for one test, the dev key again after it."""
    crypto.configure(NODE_KEY)
    yield
    crypto.configure(None)


def at_revision(database: str, revision: str) -> Engine:
    """An engine on `database`, its province schema as an older node left it."""
    return revisions.at_revision(database, "province", revision)


def chen_in_the_clear(conn: Connection) -> None:
    """Chen as a node before sealing (p0036) kept him: ID number and name in the clear."""
    conn.execute(text(
        "INSERT INTO persons (psn_no, certno, psn_name, gend, brdy, insu_admdvs, insutype, "
        "psn_type, cvlserv, chronic_certified, insurance_active, emp_name, "
        "direct_settlement_barred) VALUES (:p, :c, :n, '1', '1980-08-08', '440100', '310', "
        "'11', false, '[]', true, '', false)"),
        {"p": CHEN["psn_no"], "c": CHEN["certno"], "n": CHEN["psn_name"]})


@pytest.mark.usefixtures("node_key")
def test_the_migration_seals_rows_written_in_the_clear(database: str) -> None:
    engine = at_revision(database, "p0035")
    snapshot = {"person_id": CHEN["psn_no"], "name": CHEN["psn_name"],
                "id_number": CHEN["certno"]}
    json_value = "CAST(:person AS json)" if engine.dialect.name == "postgresql" else ":person"
    with engine.begin() as conn:  # as an older node wrote them
        chen_in_the_clear(conn)
        conn.execute(text(
            "INSERT INTO visits (mdtrt_id, psn_no, insuplc_admdvs, fixmedins_code, med_type, "
            f"visit_type, ipt_otp_no, begntime, status, emergency, insutype, person, "
            f"manual_reimbursement, msgid) VALUES ('V1', :p, '440100', 'H1', '11', "
            f"'outpatient', 'O1', :t, 'open', false, '310', {json_value}, false, 'M1')"),
            {"p": CHEN["psn_no"], "t": datetime(2025, 3, 3, tzinfo=UTC).replace(tzinfo=None),
             "person": json.dumps(snapshot, ensure_ascii=False)})
    migrate(engine, "province")
    with engine.connect() as conn:
        stored = [str(v) for v in conn.execute(text(
            "SELECT certno, psn_name, certno_hmac FROM persons")).one()]
        stored.append(str(conn.execute(text("SELECT person FROM visits")).scalar_one()))
    assert all(CHEN["certno"] not in v and CHEN["psn_name"] not in v for v in stored)
    assert stored[0].startswith(crypto.PREFIX) and stored[2] == crypto.lookup_hash(CHEN["certno"])
    with Store(engine).tx() as tx:
        row = tx.one("persons", certno=CHEN["certno"])
        visit = tx.one("visits", mdtrt_id="V1")
    assert row is not None and (row.certno, row.psn_name) == (CHEN["certno"], CHEN["psn_name"])
    assert visit is not None and visit.person == snapshot
    engine.dispose()


@pytest.mark.usefixtures("node_key")
def test_institution_gateway_keys_are_sealed_by_the_migration_and_read_back(
        database: str) -> None:
    engine = at_revision(database, "p0037")
    hmac_key, sm4_key = "k" * 64, "0123456789abcdef0123456789abcdef"
    json_value = "CAST(:none AS json)" if engine.dialect.name == "postgresql" else ":none"
    with engine.begin() as conn:  # as an older node wrote them: in the clear
        for code, api_key, sm4 in (("H1", hmac_key, None), ("H2", None, sm4_key),
                                   ("H3", None, None)):
            conn.execute(text(
                "INSERT INTO institutions (fixmedins_code, name, admdvs, hosp_lv, level, "
                "suspended, networked, chronic_opened, api_key, sm4_key) VALUES (:c, 'H', "
                f"'440100', '01', 'L3', false, true, {json_value}, :a, :s)"),
                {"c": code, "a": api_key, "s": sm4, "none": "[]"})
    migrate(engine, "province")
    with engine.connect() as conn:
        raw = {str(r[0]): (r[1], r[2]) for r in conn.execute(text(
            "SELECT fixmedins_code, api_key, sm4_key FROM institutions"))}
    assert raw["H3"] == (None, None)
    assert str(raw["H1"][0]).startswith(crypto.PREFIX) and hmac_key not in str(raw["H1"][0])
    assert str(raw["H2"][1]).startswith(crypto.PREFIX) and sm4_key not in str(raw["H2"][1])
    with Store(engine).tx() as tx:
        h1, h2 = tx.one("institutions", fixmedins_code="H1"), tx.one("institutions",
                                                                      fixmedins_code="H2")
    assert h1 is not None and h1.api_key == hmac_key and h1.sm4_key is None
    assert h2 is not None and h2.sm4_key == sm4_key and h2.api_key is None
    engine.dispose()


def test_sign_in_rows_are_rekeyed_and_those_of_numbers_not_insured_here_dropped(
        database: str) -> None:
    import hashlib
    engine = at_revision(database, "p0038")

    def old_key(number: str) -> str:
        return hashlib.sha256(f"medsettle-sign-in:{number.upper()}".encode()).hexdigest()
    stranger = "11010519491231002X"
    locked = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:  # as the older node kept them
        conn.execute(text(
            "INSERT INTO persons (psn_no, certno, certno_hmac, psn_name, gend, brdy, "
            "insu_admdvs, insutype, psn_type, cvlserv, chronic_certified, insurance_active, "
            "emp_name, direct_settlement_barred) VALUES (:p, :c, :h, :n, '1', '1980-08-08', "
            "'440100', '310', '11', false, '[]', true, '', false)"),
            {"p": CHEN["psn_no"], "c": crypto.seal(CHEN["certno"]),
             "h": crypto.lookup_hash(CHEN["certno"]), "n": crypto.seal(CHEN["psn_name"])})
        for number, failures in ((CHEN["certno"], 3), (stranger, 4)):
            conn.execute(text("INSERT INTO person_sign_in (certno_hash, failures, locked_until) "
                              "VALUES (:k, :f, :l)"),
                         {"k": old_key(number), "f": failures,
                          "l": locked.replace(tzinfo=None)})
    migrate(engine, "province")
    with Store(engine).tx() as tx:
        rows = tx.rows("person_sign_in")
        new_key = tx.keyed_hash("sign-in", CHEN["certno"])
    assert [(r.certno_hash, r.failures) for r in rows] == [(new_key, 3)]
    assert rows[0].locked_until is not None
    assert new_key != old_key(CHEN["certno"])
    engine.dispose()


def test_personal_data_in_the_clear_is_not_sealed_with_the_development_key(
        database: str) -> None:
    """A node started without its own key on a database from before sealing refuses, naming
    MEDSETTLE_DATA_KEY, and changes nothing; with its key it seals."""
    engine = at_revision(database, "p0035")
    with engine.begin() as conn:
        chen_in_the_clear(conn)
    with pytest.raises(InvalidInput) as refused:
        migrate(engine, "province")
    assert refused.value.field == "MEDSETTLE_DATA_KEY" and "clear" in refused.value.message
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "p0035"
        assert conn.execute(text("SELECT certno FROM persons")).scalar() == CHEN["certno"]
    crypto.configure(NODE_KEY)
    try:
        migrate(engine, "province")
        with engine.connect() as conn:
            assert str(conn.execute(text("SELECT certno FROM persons")).scalar()).startswith(
                crypto.PREFIX)
    finally:
        crypto.configure(None)
        engine.dispose()
