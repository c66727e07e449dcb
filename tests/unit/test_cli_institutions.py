"""`medsettle institution add` and `institution keys`: SM2 keys (国密) by default, HMAC on request,
printed once; the node keeps the public key and the SM4 key, never the SM2 private key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.store import Store
from medsettle.adapters.his import guomi
from medsettle.adapters.his.keys import node_key
from tests.unit.test_cli_load import run

CODE = "H44030400777"


def row(db: str) -> Any:
    store = Store(make_engine(db))
    with store.tx() as tx:
        found = tx.one("institutions", fixmedins_code=CODE)
    store.engine.dispose()
    return found


def printed(stdout: str, label: str) -> str:
    match = re.search(rf"^{label}[^:]*: ([0-9a-f]+)$", stdout, re.MULTILINE)
    assert match, stdout
    return match.group(1)


def add(tmp_path: Path, *extra: str) -> Any:
    return run("institution", "add", CODE, "--name", "测试医院", "--level", "L3", "--region",
               "440305", "--db", f"sqlite:///{tmp_path}/i.db", *extra, cwd=tmp_path)


def test_an_institution_is_issued_sm2_and_sm4_keys_by_default(tmp_path: Path) -> None:
    done = add(tmp_path)
    assert done.returncode == 0, done.stderr
    private = printed(done.stdout, "SM2 private key")
    inst = row(f"sqlite:///{tmp_path}/i.db")
    assert inst.signing == "sm2" and inst.api_key is None
    assert inst.sm4_key == printed(done.stdout, "SM4 key")
    store = Store(make_engine(f"sqlite:///{tmp_path}/i.db"))
    assert printed(done.stdout, "platform SM2 public key") == node_key(store)[1]
    store.engine.dispose()
    assert private not in Path(f"{tmp_path}/i.db").read_bytes().decode("latin-1")
    digest = guomi.sm3(b"message")  # the printed private key signs for the kept public key
    assert guomi.verify(inst.sm2_public_key, digest,
                        guomi.sign(private, inst.sm2_public_key, digest))


def test_a_hospital_may_register_its_own_sm2_public_key(tmp_path: Path) -> None:
    _, public = guomi.new_sm2_key()
    done = add(tmp_path, "--sm2-public-key", "04" + public)
    assert done.returncode == 0 and "SM2 private key" not in done.stdout
    assert row(f"sqlite:///{tmp_path}/i.db").sm2_public_key == public
    bad = run("institution", "add", "H44030400778", "--name", "x", "--level", "L3", "--region",
              "440305", "--sm2-public-key", "04" + "ab" * 64, "--db",
              f"sqlite:///{tmp_path}/i.db", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --sm2-public-key: expected")


def test_keys_are_issued_again_and_the_old_ones_stop_working(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/i.db"
    assert add(tmp_path).returncode == 0
    before = row(db)
    again = run("institution", "keys", CODE, "--db", db, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    after = row(db)
    assert after.sm2_public_key != before.sm2_public_key and after.sm4_key != before.sm4_key
    switched = run("institution", "keys", CODE, "--signing", "hmac", "--db", db, cwd=tmp_path)
    assert switched.returncode == 0
    assert row(db).signing == "hmac" and row(db).api_key == printed(switched.stdout, "gateway key")
    assert row(db).sm2_public_key is None


def test_bad_keys_requests_get_one_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/i.db"
    missing = run("institution", "keys", "H44030400999", "--db", db, cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.startswith("error: --db: no such SQLite")
    assert not Path(f"{tmp_path}/i.db").exists()  # a typo no longer makes a database
    added = run("institution", "add", CODE, "--name", "X", "--level", "L1", "--region",
                "440305", "--db", db, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    unknown = run("institution", "keys", "H44030400999", "--db", db, cwd=tmp_path)
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: CODE: institution")
    scheme = run("institution", "keys", CODE, "--signing", "md5", "--db", db, cwd=tmp_path)
    assert scheme.returncode == 2 and scheme.stderr == (
        "error: --signing: must be sm2 or hmac, not 'md5'\n")
