"""`medsettle load`, `medsettle institution add`, `medsettle keys`: one clear line on bad input,
all or nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.launcher import MEDSETTLE


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MEDSETTLE, *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd, check=False, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def table_rows(db: str, table: str) -> list[Any]:
    """Every row of `table` in the database `db`."""
    store = Store(make_engine(db))
    with store.tx() as tx:
        found = tx.rows(table)
    store.engine.dispose()
    return found


def count(db: str, table: str) -> int:
    return len(table_rows(db, table))


def test_a_sim_province_loads_once_and_a_second_load_changes_nothing(tmp_path: Path) -> None:
    assert run("sim", "--out", "sim", "--provinces", "2", "--persons", "15", "--institutions",
               "3", "--visits", "5", cwd=tmp_path).returncode == 0
    db = f"sqlite:///{tmp_path}/p.db"
    first = run("load", "--region", "440000", "sim", "--db", db, cwd=tmp_path)
    assert first.returncode == 0 and "15 persons" in first.stdout, first.stderr
    again = run("load", "--region", "440000", "sim", "--db", db, cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.startswith("error: nothing loaded")
    assert again.stderr.count("\n") == 1 and count(db, "persons") == 15
    verified = run("verify", "--db", db, cwd=tmp_path)  # a loaded balance is its opening
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout


def test_a_bad_csv_row_is_named_by_line_and_field_and_nothing_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "institutions.csv").write_text(
        "fixmedins_code,name,admdvs,hosp_lv,level\n"
        "H44030400999,深圳某医院,440305,02,L3\n"
        "H44030400998,深圳另一医院,440305,02,L9\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path}/q.db"
    done = run("load", "--region", "440000", "csv", "--db", db, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == ("error: institutions.csv:3: level: expected L0, L1, L2 or L3, got "
                           "'L9'\n")
    assert not (tmp_path / "q.db").exists()


def test_csv_rows_load(tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "institutions.csv").write_text(
        "fixmedins_code,name,admdvs,hosp_lv,level,suspended\n"
        "H44030400999,深圳某医院,440305,02,L3,false\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path}/q.db"
    done = run("load", "--region", "440000", "csv", "--db", db, cwd=tmp_path)
    assert done.returncode == 0 and count(db, "institutions") == 1


def test_an_institution_gets_a_key_printed_once(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/i.db"
    done = run("institution", "add", "H44030400777", "--name", "测试医院", "--level", "L3",
               "--region", "440305", "--signing", "hmac", "--db", db, cwd=tmp_path)
    assert done.returncode == 0 and "gateway key: " in done.stdout
    bad = run("institution", "add", "H4403", "--name", "x", "--level", "L3", "--region",
              "440305", "--db", db, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: CODE") and "Traceback" not in bad.stderr


def test_an_institution_is_registered_with_its_dialect_profile(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from medsettle.adapters.cli import app

    db = f"sqlite:///{tmp_path}/d.db"
    profile = '{"base": "tolerant", "infcode": "string", "echo_keys": ["serv_code"]}'
    done = CliRunner().invoke(app, ["institution", "add", "H44030400776", "--name", "重庆某医院",
                                    "--level", "L2", "--region", "440305", "--db", db,
                                    "--dialect", profile])
    assert done.exit_code == 0, done.output
    store = Store(make_engine(db))
    with store.tx() as tx:
        row = tx.one("institutions", fixmedins_code="H44030400776")
    store.engine.dispose()
    assert row.dialect == {"base": "tolerant", "infcode": "string", "echo_keys": ["serv_code"]}
    bad = CliRunner().invoke(app, ["institution", "add", "H44030400775", "--name", "x",
                                   "--level", "L3", "--region", "440305", "--db", db,
                                   "--dialect", '{"infcode": "text"}'])
    assert bad.exit_code == 2 and bad.output.count("\n") == 1, bad.output
    assert bad.output.startswith("error: --dialect.infcode: expected number or string")


def test_an_institutions_csv_may_name_each_dialect(tmp_path: Path) -> None:
    import pytest

    from medsettle.adapters.cli_load import read_csv
    from medsettle.core.errors import InvalidInput

    path = tmp_path / "institutions.csv"
    path.write_text('fixmedins_code,name,admdvs,hosp_lv,level,dialect\n'
                    'H44030400999,深圳某医院,440305,02,L3,chongqing\n'
                    'H44030400998,深圳另一医院,440305,02,L3,"{""infcode"": ""string""}"\n'
                    'H44030400997,深圳第三医院,440305,02,L3,\n', encoding="utf-8")
    assert [r["dialect"] for r in read_csv(path, "institutions")] == [
        "chongqing", {"infcode": "string"}, None]
    path.write_text("fixmedins_code,name,admdvs,hosp_lv,level,dialect\n"
                    "H44030400999,深圳某医院,440305,02,L3,kansai\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="unknown profile 'kansai'") as bad:
        read_csv(path, "institutions")
    assert bad.value.field == "institutions.csv:2: dialect"


def test_keys_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    assert run("keys", "--out", "k.json", cwd=tmp_path).returncode == 0
    before = (tmp_path / "k.json").read_text()
    again = run("keys", "--out", "k.json", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    assert (tmp_path / "k.json").read_text() == before
    assert run("keys", "--out", "k.json", "--force", cwd=tmp_path).returncode == 0
    assert (tmp_path / "k.json").read_text() != before


def persons_csv(*rows: str) -> str:
    """persons.csv with a contribution_tier column (empty: the plain tier)."""
    from medsettle.core.codes import make_id_card

    header = "psn_no,certno,psn_name,gend,brdy,insu_admdvs,insutype,psn_type,card_no," \
             "contribution_tier\n"
    return header + "".join(
        f"4401000000000000000000000{n},{make_id_card(f'44010419900101{n:03d}')},居民{n},1,"
        f"1990-01-01,440100,390,15,{row}\n" for n, row in enumerate(rows, start=1))


def test_contribution_tiers_load_from_csv_and_an_empty_cell_is_the_plain_tier(
        tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "persons.csv").write_text(persons_csv(",", "A44000002,high",
                                                              "A44000003,low"), encoding="utf-8")
    db = f"sqlite:///{tmp_path}/t.db"
    done = run("load", "--region", "440000", "csv", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = {r.psn_no[-1]: (r.contribution_tier, r.card_no) for r in table_rows(db, "persons")}
    # every row keeps its own optional cells, though the first row left them empty
    assert rows == {"1": (None, None), "2": ("high", "A44000002"), "3": ("low", "A44000003")}


def test_a_bad_contribution_tier_is_named_by_line_and_nothing_is_loaded(tmp_path: Path) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "persons.csv").write_text(persons_csv(",high", ",二档"),
                                                  encoding="utf-8")
    done = run("load", "--region", "440000", "csv", "--db", f"sqlite:///{tmp_path}/t.db",
               cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: persons.csv:3: contribution_tier: expected a tier")
    assert not (tmp_path / "t.db").exists()


def test_a_sim_file_row_is_checked_as_a_csv_row_is(tmp_path: Path) -> None:
    """The JSON path took any ID number, institution code, level or region: each is named by
    file, table, row and column now, and nothing is loaded."""
    assert run("sim", "--out", "sim", "--provinces", "2", "--persons", "12", "--institutions",
               "2", "--visits", "2", cwd=tmp_path).returncode == 0
    source = tmp_path / "sim" / "440000.json"
    pristine = json.loads(source.read_text(encoding="utf-8"))
    for table, change, says in (
            ("persons", {"certno": "notanid"}, "persons[0].certno"),
            ("persons", {"certno": ["a"]}, "persons[0].certno: must be a string"),
            ("institutions", {"level": "L9"}, "institutions[0].level"),
            ("institutions", {"hosp_lv": "11"}, "institutions[0].level: L3 does not match "
                                                "hosp_lv 11 (tier L0)"),
            ("institutions", {"fixmedins_code": "bad"}, "institutions[0].fixmedins_code"),
            ("institutions", {"admdvs": "310100"}, "310100 is not in province 440000")):
        doc = json.loads(json.dumps(pristine))
        doc[table][0] |= change
        source.write_text(json.dumps(doc), encoding="utf-8")
        db = f"sqlite:///{tmp_path}/{table}.db"
        done = run("load", "--region", "440000", "sim", "--db", db, cwd=tmp_path)
        assert done.returncode == 2 and says in done.stderr, (change, done.stderr)
        assert done.stderr.count("\n") == 1 and not (tmp_path / f"{table}.db").exists()


def test_a_basic_level_institution_loads_as_l0_and_a_level_must_match_hosp_lv(
        tmp_path: Path) -> None:
    """基层 institutions (hosp_lv 11 无等级 → L0) could not be loaded (L1 to L3 only), and a
    level that disagreed with hosp_lv was stored: an L0 visit settled at L1's deductible and
    ratio (商洛 resident, ¥1,000 甲: ¥160 more for the patient)."""
    (tmp_path / "csv").mkdir()
    institutions = tmp_path / "csv" / "institutions.csv"
    institutions.write_text("fixmedins_code,name,admdvs,hosp_lv,level\n"
                            "H44030400991,深圳某社区卫生服务中心,440305,11,\n"
                            "H44030400992,深圳某医院,440305,05,L2\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path}/l0.db"
    done = run("load", "--region", "440000", "csv", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    levels = {r.fixmedins_code: r.level for r in table_rows(db, "institutions")}
    assert levels == {"H44030400991": "L0", "H44030400992": "L2"}
    institutions.write_text("fixmedins_code,name,admdvs,hosp_lv,level\n"
                            "H44030400993,深圳某卫生院,440305,11,L1\n", encoding="utf-8")
    refused = run("load", "--region", "440000", "csv", "--db", f"sqlite:///{tmp_path}/x.db",
                  cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr == ("error: institutions.csv:2: level: L1 does not match hosp_lv 11 "
                              "(tier L0)\n")
    added = run("institution", "add", "H44030400994", "--name", "深圳某社区卫生服务中心",
                "--level", "L0", "--region", "440305", "--db", db, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    added_row = {r.fixmedins_code: (r.level, r.hosp_lv) for r in table_rows(db, "institutions")}
    assert added_row["H44030400994"] == ("L0", "11")


def test_persons_csv_carries_the_assistance_category_and_chronic_certification(
        tmp_path: Path) -> None:
    """The 医疗救助 identity (低保, 特困) and the certified 门诊慢特病 could be loaded only from
    a sim file: a CSV's person was settled without 医疗救助 and refused chronic visits."""
    from medsettle.core.codes import make_id_card

    (tmp_path / "csv").mkdir()
    header = "psn_no,certno,psn_name,gend,brdy,insu_admdvs,insutype,psn_type,maf_category," \
             "chronic_certified\n"
    rows = [("dibao", "M03900; M01600"), ("", "")]
    (tmp_path / "csv" / "persons.csv").write_text(header + "".join(
        f"4401000000000000000000000{n},{make_id_card(f'44010419900101{n:03d}')},居民{n},1,"
        f"1990-01-01,440100,390,15,{maf},{chronic}\n"
        for n, (maf, chronic) in enumerate(rows, start=1)), encoding="utf-8")
    db = f"sqlite:///{tmp_path}/m.db"
    done = run("load", "--region", "440000", "csv", "--db", db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = {r.psn_no[-1]: (r.maf_category, r.chronic_certified)
             for r in table_rows(db, "persons")}
    assert found == {"1": ("dibao", ["M03900", "M01600"]), "2": (None, [])}
    (tmp_path / "csv" / "persons.csv").write_text(
        header + f"44010000000000000000000001,{make_id_card('44010419900101001')},居民1,1,"
                 "1990-01-01,440100,390,15,,I10\n", encoding="utf-8")
    refused = run("load", "--region", "440000", "csv", "--db", f"sqlite:///{tmp_path}/y.db",
                  cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.startswith(
        "error: persons.csv:2: chronic_certified: expected a chronic disease code"), refused.stderr
