"""Tamper with a real ledger through raw SQL, on SQLite and PostgreSQL: verify names it each time.

The ledger is built the way the nodes build it (records, accumulators and entries in one
Store.tx(), see tamper_kit), then rows are changed behind the application's back, as someone
with database access could. The table at the end runs each of the 14 kinds of tampering listed
in docs/security.md with and without anchors.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core import ledger
from medsettle.services.anchors import chain_head, store_anchor
from medsettle.services.verify import (
    read_chain,
    verify_hub_log,
    verify_node,
    verify_records,
)
from tests.conftest import fresh_database
from tests.integration.tamper_kinds import KINDS, Kind, Scene
from tests.integration.tamper_kit import (
    SETTLEMENTS,
    T0,
    build_hub,
    build_ledger,
    drop_triggers,
    entry_at,
    json_param,
    log_heads,
    postings_of,
    set_postings,
    shift_up,
    sql,
)

MEDSETTLE = str(Path(sys.executable).parent / "medsettle")


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def template(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[str]:
    """The real ledger, built once per backend; each test gets a copy of it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('template') / 'province.db'}"
        build_ledger(url).engine.dispose()
        yield url
        return
    with fresh_database(request.getfixturevalue("pg_url")) as url:
        build_ledger(url).engine.dispose()
        yield url


@pytest.fixture()
def database(template: str, tmp_path: Path) -> Iterator[str]:
    """A copy of the template's database (PostgreSQL: created from it and dropped per test)."""
    if template.startswith("sqlite"):
        copy = tmp_path / "province.db"
        shutil.copy(template.removeprefix("sqlite:///"), copy)
        yield f"sqlite:///{copy}"
        return
    with copied_database(template) as url:
        yield url


@contextmanager
def copied_database(template: str) -> Iterator[str]:
    """CREATE DATABASE … TEMPLATE the built one; dropped afterwards."""
    import psycopg

    server, source = template.rsplit("/", 1)
    name = f"medsettle_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        try:
            yield f"{server}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture()
def protected(database: str) -> Iterator[Store]:
    """A real ledger as the application leaves it: the database refuses changes to it."""
    built = Store(make_engine(database))
    yield built
    built.engine.dispose()


@pytest.fixture()
def store(protected: Store) -> Store:
    """The same ledger after someone with database rights dropped the append-only triggers:
    only the hash chain can tell what they did next."""
    drop_triggers(protected.engine)
    return protected


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET kind = 'x' WHERE seq = 3",
    "DELETE FROM ledger_entries WHERE seq = 3",
    "UPDATE ledger_postings SET amount = amount + 1 WHERE seq = 3",
    "DELETE FROM ledger_postings WHERE seq = 3",
])
def test_the_database_itself_refuses_to_change_a_written_entry(protected: Store,
                                                               statement: str) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        sql(protected.engine, statement)
    assert found(protected) is None


def found(store: Store, anchors: dict[int, str] | None = None) -> tuple[int, str] | None:
    finding = verify_node(store, "province", anchors or {})
    return None if finding is None else (finding.seq, finding.problem)


def test_the_real_ledger_is_balanced_and_intact(store: Store) -> None:
    chain = read_chain(store, "province")
    assert len(chain) == SETTLEMENTS and found(store) is None
    assert all(sum(p.amount for p in c.entry.postings) == 0 for c in chain)
    head = chain_head_of(store)
    assert found(store, {head[0]: head[1], 5: chain[4].hash}) is None


def chain_head_of(store: Store) -> tuple[int, str]:
    with store.tx() as tx:
        head = chain_head(tx, "province")
    assert head is not None
    return head


@pytest.mark.parametrize("rehash", [False, True], ids=["hash-left", "hash-recomputed"])
def test_a_changed_amount_in_the_postings_json_is_modified(store: Store, rehash: bool) -> None:
    postings = postings_of(entry_at(store.engine, 7))
    postings[0][1] += 100
    postings[-1][1] -= 100  # still balanced: only the chain can tell
    set_postings(store.engine, 7, postings, rehash)
    assert found(store) == (7, "modified")


def test_an_unbalanced_edit_with_its_hash_recomputed_is_modified(store: Store) -> None:
    postings = postings_of(entry_at(store.engine, 11))
    postings[0][1] += 1
    set_postings(store.engine, 11, postings, rehash=True)
    assert found(store) == (11, "modified")


def test_an_edited_hash_alone_is_modified(store: Store) -> None:
    sql(store.engine, "UPDATE ledger_entries SET hash = :h WHERE seq = 3", h="e" * 64)
    assert found(store) == (3, "modified")


def test_a_changed_posting_row_is_modified(store: Store) -> None:
    sql(store.engine, "UPDATE ledger_postings SET amount = amount + 1 WHERE seq = 6 AND line = 0")
    assert found(store) == (6, "modified")


def test_the_last_entry_rewritten_is_caught_by_its_anchor(store: Store) -> None:
    head = chain_head_of(store)
    postings = postings_of(entry_at(store.engine, head[0]))
    postings[0][1], postings[-1][1] = postings[0][1] + 5, postings[-1][1] - 5
    set_postings(store.engine, head[0], postings, rehash=True)
    assert found(store) == (head[0], "modified")  # ledger_postings still has the old lines
    for line in (0, len(postings) - 1):
        sql(store.engine, "UPDATE ledger_postings SET amount = :v WHERE seq = :s AND line = :n",
            v=postings[line][1], s=head[0], n=line)
    assert found(store) is None  # a consistent chain and table: only the anchor shows it
    assert found(store, {head[0]: head[1]}) == (head[0], "anchor_mismatch")


def test_a_deleted_middle_row_is_deleted(store: Store) -> None:
    sql(store.engine, "DELETE FROM ledger_postings WHERE seq = 10")
    sql(store.engine, "DELETE FROM ledger_entries WHERE seq = 10")
    assert found(store) == (10, "deleted")


def test_the_deleted_last_row_is_found_by_the_anchor_at_the_old_head(store: Store) -> None:
    head = chain_head_of(store)
    sql(store.engine, "DELETE FROM ledger_postings WHERE seq = :s", s=head[0])
    sql(store.engine, "DELETE FROM ledger_entries WHERE seq = :s", s=head[0])
    assert found(store) is None
    assert found(store, {head[0]: head[1]}) == (head[0], "deleted")


@pytest.mark.parametrize("rehash", [False, True], ids=["hash-left", "hash-recomputed"])
def test_a_forged_row_with_seqs_shifted_up_is_inserted(store: Store, rehash: bool) -> None:
    before = entry_at(store.engine, 7)
    shift_up(store.engine, "ledger_postings", 8)
    shift_up(store.engine, "ledger_entries", 8)
    forged = ledger.balanced("settle:insured:FORGED", "settle", "FORGED", T0,
                             [("payable:province:440000", -500_000),
                              ("fund:hifp:510100", 500_000)])
    digest = ledger.chain_hash(before.hash, 8, forged) if rehash else before.hash
    sql(store.engine, "INSERT INTO ledger_entries (seq, entry_id, kind, ref, booked_at, postings,"
                      f" prev_hash, hash) VALUES (8, :id, 'settle', 'FORGED', :at, "
                      f"{json_param(store.engine)}, :prev, :hash)",
        id=forged.entry_id, at=T0, value=json.dumps([[p.account, p.amount]
                                                      for p in forged.postings]),
        prev=before.hash, hash=digest)
    assert found(store) == (8, "inserted")


@pytest.mark.parametrize(("a", "b"), [(5, 12), (15, 16)])
def test_two_rows_with_swapped_seqs_are_reordered(store: Store, a: int, b: int) -> None:
    for table in ("ledger_entries", "ledger_postings"):
        sql(store.engine, f"UPDATE {table} SET seq = -1 WHERE seq = :a", a=a)
        sql(store.engine, f"UPDATE {table} SET seq = :a WHERE seq = :b", a=a, b=b)
        sql(store.engine, f"UPDATE {table} SET seq = :b WHERE seq = -1", b=b)
    assert found(store) == (a, "reordered")


def medsettle(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MEDSETTLE, "verify", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "200"})


def test_the_verify_command_passes_an_intact_ledger_and_names_a_tampered_seq(
        store: Store, database: str, tmp_path: Path) -> None:
    intact = medsettle("--db", database)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert f"intact: {SETTLEMENTS} entries, head seq {SETTLEMENTS}" in intact.stdout

    hub_db = f"sqlite:///{tmp_path / 'hub.db'}"
    hub = Store(make_engine(hub_db))
    migrate(hub.engine, "hub")
    head = chain_head_of(store)
    with hub.tx() as tx:
        store_anchor(tx, "440000", head[0], head[1], date(2025, 3, 3), T0)
    anchored = medsettle("--db", database, "--node", "440000", "--hub-db", hub_db)
    assert anchored.returncode == 0 and "1 anchors match" in anchored.stdout, anchored.stdout

    sql(store.engine, "DELETE FROM ledger_entries WHERE seq = :s", s=head[0])
    tail = medsettle("--db", database, "--node", "440000", "--hub-db", hub_db)
    assert tail.returncode == 1 and f"TAMPERED at seq {head[0]}: deleted" in tail.stdout

    sql(store.engine, "UPDATE ledger_entries SET ref = 'X' WHERE seq = 13")
    tampered = medsettle("--db", database)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "TAMPERED at seq 13: modified" in tampered.stdout


def test_a_real_federation_keeps_intact_balanced_ledgers_and_log(tmp_path: Path) -> None:
    from medsettle.adapters.his.client import VisitFlow
    from tests.e2e import fixtures as f
    from tests.e2e.harness import Federation
    from tests.e2e.test_federation import OUTPATIENT, patient

    fed = Federation(tmp_path, f.ROWS, call_timeout=3.0, his_timeout=5.0).start()
    try:
        his = fed.his("440000", f.SHENZHEN_H)
        setl_ids = []
        for person, cert in ((f.WANG, "01"), (f.QIAN, "02")):
            visit = VisitFlow(his, patient(his, person, cert))
            visit.register()
            visit.fees(OUTPATIENT)
            setl_ids.append(visit.settle("281.00", acct=True)["setlinfo"]["setl_id"])
        chronic = VisitFlow(his, patient(his, f.ZHANG))
        chronic.register(med_type="14", disease="M03900")
        chronic.fees([(f.DRUG_A, "50.00", "10")])
        setl_ids.append(chronic.settle("500.00")["setlinfo"]["setl_id"])
        cancelled = visit.cancel(setl_ids[1])["setlinfo"]
        assert cancelled["medfee_sumamt"] == -281.0

        stores = {region: Store(make_engine(url)) for region, url in fed.dbs.items()}
        chains = {region: read_chain(stores[region], "province")
                  for region in ("440000", "510000", "310000")}
        for region, chain in chains.items():
            assert verify_node(stores[region], "province", {}) is None, region
            assert verify_records(stores[region]) is None, region  # records, accumulators
            assert all(sum(p.amount for p in c.entry.postings) == 0 for c in chain)
        refs = {c.entry.ref for chain in chains.values() for c in chain}
        assert set(setl_ids) <= refs
        assert len(chains["440000"]) == 4 and len(chains["510000"]) == 3

        payable = sum(v for region in ("510000", "310000")
                      for k, v in ledger.balances(chains[region]).items()
                      if k.startswith("payable:province:"))
        receivable = sum(v for k, v in ledger.balances(chains["440000"]).items()
                         if k.startswith("receivable:province:"))
        assert payable == -receivable != 0

        fed.flush_hub_journal()
        with stores["hub"].tx() as tx:
            assert tx.count("hub_messages") >= 4
        assert verify_hub_log(stores["hub"]) is None
        assert verify_node(stores["hub"], "hub", {}) is None
        for event in ("update", "delete"):  # as someone with database rights would
            sql(stores["hub"].engine, f"DROP TRIGGER IF EXISTS hub_messages_no_{event}")
        sql(stores["hub"].engine, "UPDATE hub_messages SET latency_ms = latency_ms + 1 "
                                  "WHERE id = 2")
        finding = verify_hub_log(stores["hub"])
        assert finding is not None and (finding.seq, finding.problem) == (2, "modified")
        for engine_store in stores.values():
            engine_store.engine.dispose()
    finally:
        fed.close()


def hub_with_anchor_routes(url: str, keys: dict[str, str]) -> tuple[Any, Store]:
    """A bare app with the hub's anchor routes and its domain-error mapping, on a hub database."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse
    from starlette.exceptions import StarletteDeprecationWarning

    with warnings.catch_warnings():  # starlette asks for httpx2, which is not installed here
        warnings.simplefilter("ignore", StarletteDeprecationWarning)
        from starlette.testclient import TestClient

    from medsettle.adapters.api.hub_anchors import add_anchor_routes
    from medsettle.adapters.federation import Verifier, error_body
    from medsettle.core.errors import AuthenticationFailed, MedSettleError

    engine = make_engine(url)
    migrate(engine, "hub")
    hub = Store(engine)
    app = FastAPI()

    @app.exception_handler(MedSettleError)
    async def domain_error(_: Request, exc: MedSettleError) -> JSONResponse:
        return JSONResponse(error_body(exc), 401 if isinstance(exc, AuthenticationFailed) else 400)

    add_anchor_routes(app, hub, Verifier(keys))
    return TestClient(app), hub


def test_provinces_anchor_their_chain_heads_at_the_hub(store: Store, tmp_path: Path) -> None:
    from medsettle.adapters.federation import signed_headers
    from medsettle.services.anchors import send_anchor

    keys = {"440000": "k" * 64, "510000": "m" * 64}
    client, hub = hub_with_anchor_routes(f"sqlite:///{tmp_path / 'hub.db'}", keys)

    def post(path: str, doc: Any, node: str = "440000", key: str = keys["440000"]) -> Any:
        body = json.dumps(doc).encode()
        return client.post(path, content=body, headers=signed_headers(key, node, path, body)
                           ).json()

    head = chain_head_of(store)
    assert send_anchor(store, post, None, T0) == head
    assert send_anchor(store, lambda *_: pytest.fail("unchanged head was sent"), head, T0) == head
    assert post("/fed/v1/anchor", {"seq": head[0], "hash": head[1], "day": "2025-03-03"}
                )["result"]["new"] is False
    conflict = post("/fed/v1/anchor", {"seq": head[0], "hash": "a" * 64, "day": "2025-03-04"})
    assert conflict["error"]["code"] == "ledger_error"
    assert post("/fed/v1/anchor", {"seq": "1", "hash": "a" * 64, "day": "2025-03-04"}
                )["error"]["field"] == "seq"
    forged = post("/fed/v1/anchor", {"seq": 1, "hash": "a" * 64, "day": "2025-03-04"},
                  key=keys["510000"])
    assert forged["error"]["code"] == "authentication_failed"

    own = "/fed/v1/anchors/440000"
    listed = client.get(own, headers=signed_headers(keys["440000"], "440000", own, b"")
                        ).json()["result"]["anchors"]
    assert listed == [{"seq": head[0], "hash": head[1]}]
    assert client.get(own).status_code == 401  # nobody's signature, no operator
    other = client.get(own, headers=signed_headers(keys["510000"], "510000", own, b""))
    assert other.json()["error"]["code"] == "forbidden"  # another province's chain heads
    with hub.tx() as tx:
        row = tx.one("anchors", node="440000", seq=head[0])
    assert row.day == date(2025, 3, 3)  # 01:30 UTC is 09:30 in Shanghai

    empty = Store(make_engine(f"sqlite:///{tmp_path / 'empty.db'}"))
    migrate(empty.engine, "province")
    assert send_anchor(empty, lambda *_: pytest.fail("empty chain was sent"), None, T0) is None
    hub.engine.dispose()


# --- the tamper table (docs/security.md) ------------------------------------------------------

@pytest.fixture(scope="module")
def hub_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hub's log and index, built once; each scene gets a copy."""
    path = tmp_path_factory.mktemp("hub") / "hub.db"
    build_hub(f"sqlite:///{path}").engine.dispose()
    return path


@pytest.fixture()
def scene(store: Store, hub_template: Path, tmp_path: Path) -> Iterator[Scene]:
    shutil.copy(hub_template, tmp_path / "hub.db")
    hub = Store(make_engine(f"sqlite:///{tmp_path / 'hub.db'}"))
    drop_triggers(hub.engine, ("hub_messages",))
    chain = read_chain(store, "province")
    yield Scene(store, hub, {10: chain[9].hash, SETTLEMENTS: chain[-1].hash},
                log_heads(hub, 6, 10))
    hub.engine.dispose()


def test_an_untouched_scene_is_intact_with_and_without_anchors(scene: Scene) -> None:
    assert not scene.caught(with_anchors=True) and not scene.caught(with_anchors=False)


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_each_kind_of_tampering_is_caught(scene: Scene, kind: Kind) -> None:
    kind.tamper(scene)
    assert (scene.caught(with_anchors=True), scene.caught(with_anchors=False)) == (
        kind.with_anchors, kind.without)


def figure(with_anchors: bool, before: bool = False) -> int:
    """How many of the kinds verify catches."""
    return sum((k.before_with if with_anchors else k.before_without) if before
               else (k.with_anchors if with_anchors else k.without) for k in KINDS)


def test_the_figure_in_docs_security_is_the_tables() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "security.md").read_text()
    assert len(KINDS) == 14
    assert (f"after: {figure(True)}/14 with anchors, {figure(False)}/14 without; before: "
            f"{figure(True, True)}/14 with, {figure(False, True)}/14 without") in doc
    for kind in KINDS:
        assert f"`{kind.name}`" in doc, kind.name
