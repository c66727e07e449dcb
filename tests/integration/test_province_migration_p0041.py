"""p0041 on a province that already holds persons: a row left without its lookup hash gets it,
the hash becomes required and unique, and the sealed ID number no longer needs to be unique
(one number sealed twice gives two values, so the old constraint guarded nothing)."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from medsettle.adapters.db import crypto
from medsettle.adapters.db.engine import alembic_config, migrate
from tests.e2e import fixtures as f
from tests.integration.revisions import at_revision

CERTNO, NAME = str(f.CHEN["certno"]), str(f.CHEN["psn_name"])


def at_p0040(database: str) -> Engine:
    return at_revision(database, "province", "p0040")


def a_person(conn: Connection, psn_no: str, certno: str, certno_hmac: str | None) -> None:
    conn.execute(text(
        "INSERT INTO persons (psn_no, certno, certno_hmac, psn_name, gend, brdy, insu_admdvs, "
        "insutype, psn_type, cvlserv, chronic_certified, insurance_active, emp_name, "
        "direct_settlement_barred) VALUES (:p, :c, :h, :n, '1', '1980-08-08', '440100', '310', "
        "'11', false, '[]', true, '', false)"),
        {"p": psn_no, "c": crypto.seal(certno), "h": certno_hmac,
         "n": crypto.seal(NAME)})


def test_a_missing_hash_is_filled_and_the_hash_is_then_required_and_unique(
        database: str) -> None:
    engine = at_p0040(database)
    with engine.begin() as conn:
        a_person(conn, "P1", CERTNO, None)  # as a row written around p0036 could be
        a_person(conn, "P2", "110101199001011234", crypto.lookup_hash("110101199001011234"))
    migrate(engine, "province")
    with engine.connect() as conn:
        hashes: dict[str, str] = dict(conn.execute(text("SELECT psn_no, certno_hmac FROM persons")).all())
    assert hashes == {"P1": crypto.lookup_hash(CERTNO),
                      "P2": crypto.lookup_hash("110101199001011234")}
    with pytest.raises(IntegrityError), engine.begin() as conn:
        a_person(conn, "P3", "440101199202021111", None)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        a_person(conn, "P4", CERTNO, crypto.lookup_hash(CERTNO))
    engine.dispose()


def test_the_sealed_number_is_no_longer_unique_and_the_migration_goes_back(
        database: str) -> None:
    engine = at_p0040(database)
    migrate(engine, "province")
    sealed = crypto.seal(CERTNO)
    with engine.begin() as conn:  # the same sealed value twice: only the hash must differ
        for psn_no, lookup in (("P1", "a" * 64), ("P2", "b" * 64)):
            conn.execute(text(
                "INSERT INTO persons (psn_no, certno, certno_hmac, psn_name, gend, brdy, "
                "insu_admdvs, insutype, psn_type, cvlserv, chronic_certified, "
                "insurance_active, emp_name, direct_settlement_barred) VALUES (:p, :c, :h, "
                "'x', '1', '1980-08-08', '440100', '310', '11', false, '[]', true, '', false)"),
                {"p": psn_no, "c": sealed, "h": lookup})
        conn.execute(text("DELETE FROM persons WHERE psn_no = 'P2'"))
    config = alembic_config("province")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "p0040")
    persons = inspect(engine)
    assert "ix_persons_certno_hmac" in {i["name"] for i in persons.get_indexes("persons")}
    assert ["certno"] in [u["column_names"] for u in persons.get_unique_constraints("persons")]
    engine.dispose()
