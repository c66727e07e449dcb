"""The driver lane (adapters/db/lane.py) on PostgreSQL: a cached statement run on psycopg's
cursor reads and writes exactly what it does through SQLAlchemy, and fails the same way."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError

from medsettle.adapters.db import lane
from medsettle.adapters.db import tables as t
from medsettle.adapters.db.engine import Role, make_engine, migrate
from medsettle.adapters.db.statements import inserting, matching, update_where
from medsettle.adapters.db.store import Store
from medsettle.core.errors import StateConflict
from tests.conftest import fresh_database

pytestmark = pytest.mark.postgres
AT = datetime(2026, 10, 3, 9, 30, tzinfo=UTC)


def store_of(url: str, role: Role) -> Store:
    engine = make_engine(url)
    migrate(engine, role)
    return Store(engine)


def fresh_store(pg_url: str, role: Role) -> Iterator[Store]:
    with fresh_database(pg_url) as url:
        store = store_of(url, role)
        yield store
        store.engine.dispose()


@pytest.fixture()
def province(pg_url: str) -> Iterator[Store]:
    yield from fresh_store(pg_url, "province")


@pytest.fixture()
def hub(pg_url: str) -> Iterator[Store]:
    yield from fresh_store(pg_url, "hub")


def person(psn_no: str, certno: str) -> dict[str, object]:
    """A person row as the loader writes it (certno_hmac left to its column default)."""
    return {"psn_no": psn_no, "certno": certno, "psn_name": "张三", "gend": "1",
            "brdy": date(1960, 5, 1), "insu_admdvs": "510100", "insutype": "310",
            "psn_type": "11", "chronic_certified": ["M03900"]}


def learnt(query: object, keys: set[str]) -> lane.Learnt | None:
    return lane._LEARNT.get((id(query), frozenset(keys)))


def test_rows_read_on_the_driver_are_sqlalchemys_rows_with_the_same_values(
        province: Store) -> None:
    """Sealed columns, JSON and dates read back the same as through SQLAlchemy."""
    with province.tx() as tx:
        tx.add("persons", person("P1", "110101196005010011"))
        tx.add("message_log", {"scope": "s", "msgid": "m1", "infno": "2207",
                               "body_hash": "h", "response": {"setl_id": "S1", "fen": 12345},
                               "ok": True, "created_at": AT})
    for _ in range(3):  # the first run learns the statement, the next run on the driver
        with province.read() as tx:
            found = tx.one("persons", psn_no="P1")
            logged = tx.one("message_log", scope="s", msgid="m1")
            by_id_number = tx.one("persons", certno="110101196005010011")
    query, values = matching(t.persons, {"psn_no": "P1"})
    assert learnt(query, set(values)) is not None  # really on the driver now
    with province.engine.connect() as conn:
        direct = conn.execute(select(t.persons).where(t.persons.c.psn_no == "P1")).one()
    assert found is not None and type(found) is type(direct)
    assert tuple(found) == tuple(direct) and dict(found._mapping) == dict(direct._mapping)
    assert found.certno == "110101196005010011" and found.psn_name == "张三"
    assert found.chronic_certified == ["M03900"] and found.brdy == date(1960, 5, 1)
    assert logged is not None and logged.response == {"setl_id": "S1", "fen": 12345}
    assert logged.created_at == AT and logged.created_at.tzinfo is not None
    assert by_id_number is not None and by_id_number.psn_no == "P1"


def test_a_sealed_column_written_on_the_driver_is_sealed_at_rest(province: Store) -> None:
    """The lane binds with SQLAlchemy's processors: an institution's API key, changed on the
    driver, is ciphertext in the table and the key in the clear to the node."""
    with province.tx() as tx:
        tx.add("institutions", {"fixmedins_code": "H44", "name": "示例医院", "admdvs": "440300",
                                "hosp_lv": "01", "level": "L3", "chronic_opened": []})
    for key in ("first-key", "second-key", "third-key"):
        with province.tx() as tx:
            assert tx.change("institutions", {"fixmedins_code": "H44"}, api_key=key) == 1
    assert learnt(update_where(t.institutions, ("fixmedins_code",), (), ("api_key",)),
                  {"p_fixmedins_code", "v_api_key"}) is not None
    with province.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT api_key FROM institutions").scalar_one()
    assert stored.startswith("v1:") and "third-key" not in stored
    with province.read() as tx:
        assert tx.one("institutions", fixmedins_code="H44").api_key == "third-key"  # type: ignore[union-attr]


def test_a_column_default_the_row_leaves_out_keeps_going_through_sqlalchemy(
        province: Store) -> None:
    """certno_hmac is computed by a Python column default: such an insert is never run on
    the driver, so every person stays findable by ID number."""
    for n in range(3):
        with province.tx() as tx:
            tx.add("persons", person(f"P{n}", f"11010119600501001{n}"))
    assert learnt(inserting(t.persons), set(person("P0", "x"))) is None
    with province.read() as tx:
        assert [tx.one("persons", certno=f"11010119600501001{n}").psn_no  # type: ignore[union-attr]
                for n in range(3)] == ["P0", "P1", "P2"]


def test_constant_column_defaults_are_filled_in_as_sqlalchemy_would(hub: Store) -> None:
    """A case row without `institution` and `untold`: their constant defaults ("" and false)
    are written on the driver too."""
    for n in range(3):
        with hub.tx() as tx:
            tx.add("supervision_cases", {
                "case_id": f"C{n}", "kind": "verification", "state": "requested",
                "insured": "310000", "treating": "440000", "opened_at": AT, "updated_at": AT,
                "document": {"n": n}})
    keys = {"case_id", "kind", "state", "insured", "treating", "opened_at", "updated_at",
            "document"}
    assert learnt(inserting(t.supervision_cases), keys) is not None
    with hub.read() as tx:
        rows = tx.rows("supervision_cases", order_by="case_id")
    assert [(r.case_id, r.institution, r.untold, r.document) for r in rows] == [
        (f"C{n}", "", False, {"n": n}) for n in range(3)]


def test_a_key_written_twice_on_the_driver_is_a_state_conflict_that_changes_nothing(
        hub: Store) -> None:
    with hub.tx() as tx:
        tx.add("locator", {"certno_hash": "a" * 64, "province": "440000"})
    with pytest.raises(StateConflict), hub.tx() as tx:
        tx.add("locator", {"certno_hash": "b" * 64, "province": "510000"})
        tx.add("locator", {"certno_hash": "a" * 64, "province": "510000"})
    assert learnt(inserting(t.locator), {"certno_hash", "province"}) is not None
    with hub.read() as tx:
        assert [(r.certno_hash[0], r.province) for r in tx.rows("locator")] == [("a", "440000")]


def test_an_update_by_a_key_of_none_matches_the_rows_where_it_is_null(hub: Store) -> None:
    with hub.tx() as tx:
        tx.add_many("locator_also", [
            {"certno_hash": h * 64, "province": "510000", "found_at": AT, "holder": holder}
            for h, holder in (("a", None), ("b", "440000"), ("c", None))])
    for expected in (2, 0):  # the second time on the driver: nothing is NULL any more
        with hub.tx() as tx:
            assert tx.change("locator_also", {"holder": None}, holder="310000") == expected
    with hub.read() as tx:
        assert {r.certno_hash[0]: r.holder for r in tx.rows("locator_also")} == {
            "a": "310000", "b": "440000", "c": "310000"}


def test_a_connection_the_server_dropped_fails_once_then_a_fresh_one_is_used(
        hub: Store, pg_url: str) -> None:
    with hub.tx() as tx:
        tx.add("locator", {"certno_hash": "a" * 64, "province": "440000"})
    for _ in range(2):  # learnt: the lookup runs on the driver
        with hub.read() as tx:
            assert tx.one("locator", certno_hash="a" * 64) is not None
    database = hub.engine.url.database
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (database,))
    with pytest.raises(DBAPIError), hub.read() as tx:
        tx.one("locator", certno_hash="a" * 64)
    with hub.read() as tx:
        row = tx.one("locator", certno_hash="a" * 64)
    assert row is not None and row.province == "440000"


def test_a_statement_built_for_one_call_is_never_learnt(hub: Store) -> None:
    """Only statements built once and kept (statements.kept) are learnt: one built afresh
    each time goes through SQLAlchemy and leaves nothing behind."""
    before = len(lane._LEARNT)
    for n in range(3):
        with hub.tx() as tx:
            fresh = select(t.locator).where(t.locator.c.province == "440000")
            assert list(tx.run(fresh, {})) == []
            tx.run(insert(t.locator), {"certno_hash": str(n) * 64, "province": "510000"})
    assert len(lane._LEARNT) == before
    with hub.read() as tx:
        assert tx.count("locator") == 3


def test_sqlite_never_takes_the_lane(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("the lane ran a SQLite statement")

    monkeypatch.setattr(lane.Lane, "run", refuse)
    store = store_of(f"sqlite:///{tmp_path / 'hub.db'}", "hub")
    with store.tx() as tx:
        tx.add("locator", {"certno_hash": "f" * 64, "province": "440000"})
        found = tx.one("locator", certno_hash="f" * 64)
    assert found is not None and found.province == "440000"
    store.engine.dispose()
