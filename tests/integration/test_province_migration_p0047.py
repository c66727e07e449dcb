"""p0047: a 基层 institution (hosp_lv 11) loaded at L1, because L0 could not be loaded, takes
its tier L0; other institutions keep their level."""

from __future__ import annotations

from sqlalchemy import Connection, text

from medsettle.adapters.db.engine import migrate
from tests.integration.revisions import at_revision


def an_institution(conn: Connection, code: str, hosp_lv: str, level: str) -> None:
    conn.execute(text(
        "INSERT INTO institutions (fixmedins_code, name, admdvs, hosp_lv, level, suspended, "
        "networked, chronic_opened) VALUES (:c, 'x', '440305', :h, :l, false, true, '[]')"),
        {"c": code, "h": hosp_lv, "l": level})


def test_a_basic_level_institution_loaded_at_l1_takes_l0(database: str) -> None:
    engine = at_revision(database, "province", "p0046")
    with engine.begin() as conn:
        an_institution(conn, "H44030500001", "11", "L1")
        an_institution(conn, "H44030500002", "11", "L0")
        an_institution(conn, "H44030500003", "05", "L2")
    migrate(engine, "province")
    with engine.connect() as conn:
        levels = dict(conn.execute(text("SELECT fixmedins_code, level FROM institutions")).all())
    engine.dispose()
    assert levels == {"H44030500001": "L0", "H44030500002": "L0", "H44030500003": "L2"}
