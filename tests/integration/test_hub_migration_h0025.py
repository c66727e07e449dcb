"""h0025 on a hub that already holds decided cases and persons insured twice: the courier's
`untold` flag and locator_also's `holder` are filled from what the rows already said."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, text

from medsettle.adapters.db.engine import migrate
from medsettle.adapters.db.store import Store
from medsettle.services import hub as hub_svc
from tests.integration.revisions import at_revision

AT = datetime(2026, 10, 3, 9, tzinfo=UTC)


def at_h0024(database: str) -> Engine:
    return at_revision(database, "hub", "h0024")


def a_case(conn: Connection, case_id: str, state: str, credit: dict[str, object] | None) -> None:
    document = {"case_id": case_id, **({"credit": credit} if credit is not None else {})}
    json_value = "CAST(:doc AS json)" if conn.dialect.name == "postgresql" else ":doc"
    conn.execute(text(
        "INSERT INTO supervision_cases (case_id, kind, state, insured, treating, institution, "
        f"opened_at, updated_at, document) VALUES (:id, 'verification', :state, '310000', "
        f"'440000', 'H44', :at, :at, {json_value})"),
        {"id": case_id, "state": state, "at": AT, "doc": json.dumps(document)})


def test_the_flags_are_filled_from_what_the_rows_said(database: str) -> None:
    engine = at_h0024(database)
    with engine.begin() as conn:
        a_case(conn, "C-told", "decided", {"told": True})
        a_case(conn, "C-missed", "decided", {"told": False, "why": "unreachable"})
        a_case(conn, "C-closed-missed", "closed", {"told": False})
        a_case(conn, "C-never-tried", "decided", None)
        a_case(conn, "C-open", "requested", None)
        conn.execute(text("INSERT INTO locator (certno_hash, province) VALUES "
                          "(:a, '440000'), (:b, '510000')"), {"a": "a" * 64, "b": "b" * 64})
        conn.execute(text("INSERT INTO locator_also (certno_hash, province, found_at) VALUES "
                          "(:a, '510000', :at), (:b, '310000', :at)"),
                     {"a": "a" * 64, "b": "b" * 64, "at": AT})
    migrate(engine, "hub")
    store = Store(engine)
    with store.read() as tx:  # what the courier reads (services.supervision_cases.untold)
        untold = tx.rows("supervision_cases", order_by="case_id", untold=True)
        assert [r.case_id for r in untold] == ["C-closed-missed", "C-missed", "C-never-tried"]
        assert {r.certno_hash[0]: r.holder for r in tx.rows("locator_also")} == {
            "a": "440000", "b": "510000"}
        twice = {p: hub_svc.add_locator(tx, p, [], AT).twice
                 for p in ("440000", "510000", "310000", "110000")}
    assert twice == {"440000": 1, "510000": 2, "310000": 1, "110000": 0}
    engine.dispose()
