"""Clearing a synthetic month on SQLite and PostgreSQL: conservation, idempotency, disputes,
prepayment warnings over the API and in the logs, and a province paying its institutions."""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from medsettle.adapters.api.hub_clearing import add_clearing_routes
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import Verifier, error_body, signed_headers
from medsettle.core import ledger
from medsettle.core.clearing import YearMonth, net, obligations
from medsettle.core.errors import MedSettleError, StateConflict
from medsettle.services import clearing as svc
from medsettle.services.hub import add_to_index
from medsettle.services.ledger import stored_chain
from medsettle.services.operators import create_operator
from tests.conftest import fresh_database

SEP, OCT, NOV = YearMonth(2026, 9), YearMonth(2026, 10), YearMonth(2026, 11)
AFTER = datetime(2026, 11, 20, tzinfo=UTC)
PROVINCES = ["110000", "310000", "320000", "330000", "420000", "440000", "510000", "650000"]
TABLES = ("clearing_lines", "clearing_statements", "prepayment_accounts", "prepayment_moves",
          "ledger_entries", "ledger_postings", "settlement_index")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
        migrate(engine, "hub")
        yield Store(engine)
        engine.dispose()
        return
    with fresh_database(request.getfixturevalue("pg_url")) as url:
        engine = make_engine(url)
        migrate(engine, "hub")
        yield Store(engine)
        engine.dispose()


def index_row(setl_id: str, kind: str, insured: str, treating: str, when: datetime, fund: int,
              acct: int, cash: int, ref: str | None = None) -> dict[str, object]:
    return {"setl_id": setl_id, "kind": kind, "ref_setl_id": ref, "mdtrt_id": "M" + setl_id,
            "psn_no": "P" + setl_id, "insu_admdvs": insured, "mdtrtarea_admvs": treating,
            "fixmedins_code": "H" + treating, "visit_type": "inpatient", "setl_time": when,
            "medfee_sumamt": fund + acct + cash, "fund_pay_sumamt": fund, "acct_pay": acct,
            "psn_cash_pay": cash, "msgid": "X" + setl_id}


def cancel_of(row: dict[str, Any], when: datetime) -> dict[str, object]:
    amounts = {k: -int(row[k]) for k in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay",
                                          "psn_cash_pay")}
    return row | amounts | {"setl_id": "C" + str(row["setl_id"]), "kind": "cancel",
                            "ref_setl_id": row["setl_id"], "setl_time": when}


def synthetic_month(count: int = 5000, seed: int = 7) -> list[dict[str, Any]]:
    """~5,000 index rows across 8 provinces: October, same-month cancels, a reversal landing in
    November, same-province rows and rows of the neighbouring months."""
    rnd = random.Random(seed)
    start, end = OCT.bounds()
    seconds = int((end - start).total_seconds())
    rows: list[dict[str, Any]] = []
    for k in range(count):
        insured = rnd.choice(PROVINCES)[:2] + rnd.choice(["0000", "0100", "0600"])
        treating = rnd.choice(PROVINCES)[:2] + rnd.choice(["0000", "0105", "0300"])
        when = start + timedelta(seconds=rnd.randrange(seconds))
        row = index_row(f"S{k:06d}", "settle", insured, treating, when, rnd.randint(0, 800_000),
                        rnd.randint(0, 60_000), rnd.randint(0, 200_000))
        rows.append(row)
        if k % 11 == 0 and when + timedelta(hours=2) < end:
            rows.append(cancel_of(row, when + timedelta(hours=2)))
    last = index_row("S-LAST", "settle", "110105", "440106", end - timedelta(minutes=1),
                     123_456, 7_890, 1_000)
    rows += [last, cancel_of(last, end + timedelta(minutes=1)),  # reversal in November
             index_row("S-SEP", "settle", "310000", "510000", start - timedelta(seconds=1),
                       999_999, 1, 0),
             index_row("S-NOV", "settle", "510000", "310000", end, 555_555, 0, 0)]
    return rows


def in_month(rows: list[dict[str, Any]], month: YearMonth) -> list[dict[str, Any]]:
    start, end = month.bounds()
    return [r for r in rows if start <= r["setl_time"] < end]


def dump(store: Store) -> dict[str, list[str]]:
    with store.tx() as tx:
        return {name: sorted(repr(tuple(r)) for r in tx.rows(name)) for name in TABLES}


def load(store: Store, rows: list[dict[str, Any]]) -> None:
    with store.tx() as tx:
        tx.add_many("settlement_index", rows)


def hub_chain(store: Store) -> list[ledger.ChainedEntry]:
    with store.tx() as tx:
        return stored_chain(tx.rows("ledger_entries", order_by="seq"))


def test_a_synthetic_month_is_conserved(store: Store) -> None:
    rows = synthetic_month()
    load(store, rows)
    result = svc.run_clearing(store, OCT, AFTER)
    expected = obligations(in_month(rows, OCT))
    assert result["created"] and result["net_sum"] == 0
    assert result["provinces"] == 8 and result["pairs"] == len(expected) == 56
    by_province = {s["province"]: s for s in result["statements"]}
    assert {p: s["net"] for p, s in by_province.items()} == net(expected)
    total = sum(o.obligation for o in expected.values())
    assert result["obligations"] == total
    assert sum(s["owes"] for s in by_province.values()) == total
    assert sum(s["due"] for s in by_province.values()) == total
    assert result["settlements"] == sum(o.settlements for o in expected.values())
    with store.tx() as tx:
        moves = tx.rows("prepayment_moves", month=str(OCT))
    assert sum(int(m.amount) for m in moves) == 0  # every draw is credited to a receiver
    chain = hub_chain(store)
    assert ledger.verify(chain) is None
    assert ledger.balances(chain) == {
        **{f"prepayment:{p}": -n for p, n in net(expected).items() if n < 0},
        **{f"payable:province:{p}": -n for p, n in net(expected).items() if n > 0}}


def test_a_rerun_changes_nothing(store: Store) -> None:
    load(store, synthetic_month(count=800))
    first = svc.run_clearing(store, OCT, AFTER)
    before = dump(store)
    load(store, [index_row("LATE", "settle", "110000", "440000", OCT.bounds()[0], 10**6, 0, 0)])
    again = svc.run_clearing(store, OCT, AFTER + timedelta(days=1))
    assert again["created"] is False
    assert {k: v for k, v in again.items() if k != "created"} == {
        k: v for k, v in first.items() if k != "created"}
    after = dump(store)
    after["settlement_index"] = [r for r in after["settlement_index"] if "'LATE'" not in r]
    assert after == before


def test_an_unfinished_month_is_not_cleared(store: Store) -> None:
    with pytest.raises(MedSettleError, match="has not ended"):
        svc.run_clearing(store, OCT, datetime(2026, 10, 31, 15, tzinfo=UTC))


def test_a_dispute_blocks_payment_until_redrafted_and_confirmed(store: Store) -> None:
    load(store, synthetic_month(count=400))
    result = svc.run_clearing(store, OCT, AFTER)
    receiver = next(s["province"] for s in result["statements"] if s["net"] > 0)
    svc.confirm(store, OCT, receiver, "insured")
    disputed = svc.dispute(store, OCT, receiver, "S000042 was never treated here")
    assert disputed.state == "disputed"
    with pytest.raises(StateConflict, match="disputed"):
        svc.mark_paid(store, OCT, receiver, AFTER)
    assert svc.clearing_summary(store, OCT)["status"] == "disputed"
    svc.redraft(store, OCT, receiver)
    with pytest.raises(StateConflict, match="confirm"):
        svc.mark_paid(store, OCT, receiver, AFTER)
    svc.confirm(store, OCT, receiver, "insured")
    assert svc.confirm(store, OCT, receiver, "treating").state == "confirmed"
    paid = svc.mark_paid(store, OCT, receiver, AFTER)
    assert paid.state == "paid"
    assert svc.mark_paid(store, OCT, receiver, AFTER).state == "paid"  # once only
    balances = ledger.balances(hub_chain(store))
    assert balances[f"payable:province:{receiver}"] == 0
    assert balances["bank:hub"] == -paid.net


def _app(store: Store, keys: dict[str, str], now: datetime) -> TestClient:
    app = FastAPI()

    @app.exception_handler(MedSettleError)
    async def domain_error(_: Request, exc: MedSettleError) -> JSONResponse:
        return JSONResponse(error_body(exc), status_code=400)

    add_clearing_routes(app, store, keys, Verifier(keys), clock=lambda: now)
    return TestClient(app)


def _operator(store: Store) -> dict[str, str]:
    """The header of a hub operator (reads every province's figures)."""
    with store.tx() as tx:
        _, token = create_operator(tx, "clearing-desk", "hub", None, AFTER)
    return {"Authorization": f"Bearer {token}"}


def _get(client: TestClient, keys: dict[str, str], node: str, path: str) -> Any:
    """A GET signed by province `node` (the query string is part of what is signed)."""
    route, _, query = path.partition("?")
    return client.get(path, headers=signed_headers(keys[node], node, route, b"", query))


def _post(client: TestClient, keys: dict[str, str], node: str, path: str,
          doc: dict[str, object]) -> Any:
    body = json.dumps(doc).encode()
    return client.post(path, content=body, headers=signed_headers(keys[node], node, path, body))


def test_a_prepayment_that_runs_low_warns_over_the_api_and_in_the_logs(
        store: Store, caplog: pytest.LogCaptureFixture) -> None:
    keys = {"110000": "k-bj", "440000": "k-gd"}
    sep, oct_ = SEP.bounds()[0] + timedelta(days=3), OCT.bounds()[0] + timedelta(days=3)
    load(store, [index_row("A1", "settle", "110000", "440000", sep, 90_000, 10_000, 5_000),
                 index_row("B1", "settle", "110000", "440000", oct_, 140_000, 10_000, 0)])
    client = _app(store, keys, AFTER)
    assert _post(client, keys, "110000", "/clearing/2026-09/run", {}).json()["created"]
    sized = svc.size_prepayments(store, datetime(2026, 10, 15, tzinfo=UTC))
    # September was drawn from an empty account: −100,000 against a size of 200,000
    assert [(a["province"], a["size"], a["balance"], a["level"], a["top_up_due"])
            for a in sized] == [("110000", 200_000, -100_000, "critical", 300_000)]
    reply = _post(client, keys, "110000", "/prepayment/110000/topup",
                  {"amount": 300_000, "reference": "BJ-20261016-0001"})
    assert reply.status_code == 200 and reply.json()["level"] == "ok"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="medsettle.services.clearing"):
        result = _post(client, keys, "440000", "/clearing/2026-10/run", {}).json()
    assert {s["province"]: s["net"] for s in result["statements"]} == {"110000": -150_000,
                                                                      "440000": 150_000}
    warned = [r for r in caplog.records if getattr(r, "province", None) == "110000"]
    assert warned and warned[0].prepayment_level == "warning"  # type: ignore[attr-defined]
    assert warned[0].usage == "0.7500"  # type: ignore[attr-defined]
    board = client.get("/prepayment", headers=_operator(store)).json()
    assert board["warnings"] == [{"province": "110000", "size": 200_000, "balance": 50_000,
                                  "usage": "0.7500", "level": "warning", "top_up_due": 150_000}]
    assert svc.warnings(store) == board["warnings"]


def test_the_api_serves_statements_and_names_bad_fields(store: Store) -> None:
    keys = {"110000": "k-bj", "440000": "k-gd"}
    load(store, synthetic_month(count=300))
    client = _app(store, keys, AFTER)
    desk = _operator(store)
    assert client.get("/clearing/2026-10", headers=desk).json()["status"] == "not_cleared"
    assert _post(client, keys, "110000", "/clearing/2026-10/run", {}).status_code == 200
    assert len(client.get("/clearing/2026-10/statements",
                          headers=desk).json()["statements"]) == 8
    doc = _get(client, keys, "110000", "/clearing/2026-10/statements/110000").json()
    assert client.get("/clearing/2026-10/statements/110000", headers=desk).json() == doc
    csv_text = _get(client, keys, "110000", "/clearing/2026-10/statements/110000?format=csv").text
    assert csv_text.splitlines()[-1].endswith(f",TOTAL,{doc['owes']},{doc['due']},"
                                              f"{doc['net']},drafted")
    assert "清算单" in _get(client, keys, "110000",
                          "/clearing/2026-10/statements/110000?format=text").text
    listed = _get(client, keys, "110000",
                  "/clearing/statements/110000?since=2026-05").json()["statements"]
    assert listed == [doc]  # one read for the console's months, newest first
    assert _get(client, keys, "110000",
                "/clearing/statements/110000?since=2026-11").json()["statements"] == []
    assert _get(client, keys, "110000", "/clearing/statements/110000?since=2026").json()[
        "error"]["field"] == "since"
    assert client.get("/clearing/statements/1100?since=2026-05", headers=desk).json()["error"][
        "field"] == "province"
    bad = client.get("/clearing/2026-13", headers=desk)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "month"
    assert _get(client, keys, "110000", "/clearing/2026-10/statements/110000?format=xml").json()[
        "error"]["field"] == "format"
    path = "/clearing/2026-10/statements/110000/confirm"
    assert _post(client, keys, "110000", path, {"side": "both"}).json()["error"]["field"] == "side"
    assert _post(client, keys, "440000", path, {"side": "insured"}).status_code == 400  # not its own
    dispute = "/clearing/2026-10/statements/110000/dispute"
    assert _post(client, keys, "110000", dispute, {}).json()["error"]["field"] == "reason"
    topup = "/prepayment/110000/topup"
    assert _post(client, keys, "110000", topup, {"amount": 1.5}).json()["error"]["field"] == "amount"
    confirmed = _post(client, keys, "110000", path, {"side": "insured"}).json()
    assert confirmed["insured_confirmed"] is True and confirmed["state"] == "drafted"
    paid = _post(client, keys, "110000", "/clearing/2026-10/statements/110000/paid", {})
    assert paid.status_code == 400 and "confirm" in paid.json()["error"]["message"]


def test_a_treating_province_pays_its_institutions_once(tmp_path: Any) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'province.db'}")
    migrate(engine, "province")
    node = Store(engine)
    when = OCT.bounds()[0] + timedelta(days=2)
    base = {"status": "settled", "ref_setl_id": None, "mdtrt_id": "M", "psn_no": "P",
            "mdtrtarea_admvs": "440106", "med_type": "21", "visit_type": "inpatient",
            "insutype": "310", "setl_time": when, "medical_year": "2026", "msgid": "X"}
    amounts = {name: 0 for name in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay",
                                    "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
                                    "hifp_pay", "pool_prop_selfpay", "hifmi_pay", "hifob_pay",
                                    "cvlserv_pay", "maf_pay", "psn_part_amt", "psn_cash_pay")}
    rows = [base | amounts | {"setl_id": sid, "role": role, "kind": kind, "insu_admdvs": ins,
                              "fixmedins_code": code, "fund_pay_sumamt": fund,
                              "acct_pay": acct}
            for sid, role, kind, ins, code, fund, acct in [
                ("1", "treating", "settle", "110105", "H1", 1000, 100),
                ("2", "treating", "settle", "310000", "H1", 500, 0),
                ("3", "treating", "cancel", "310000", "H1", -500, 0),
                ("4", "treating", "settle", "510000", "H2", 700, 0),
                ("5", "insured", "settle", "440100", "H3", 999, 0),
                ("6", "treating", "settle", "440100", "H3", 999, 0)]]
    with node.tx() as tx:
        tx.add_many("settlements", rows)
        assert svc.pay_institutions(tx, OCT, AFTER) == {"H1": 1100, "H2": 700}
    with node.tx() as tx:
        assert svc.pay_institutions(tx, "2026-10", AFTER) == {}
        chain = stored_chain(tx.rows("ledger_entries", order_by="seq"))
    assert ledger.verify(chain) is None
    assert ledger.balances(chain) == {"payable:institution:H1": 1100,
                                      "payable:institution:H2": 700, "bank:440000": -1800}


def test_the_clear_command_runs_once_and_refuses_a_bad_month(tmp_path: Any) -> None:
    import typer
    from typer.testing import CliRunner

    from medsettle.adapters.cli_clear import clear_command

    app = typer.Typer()
    app.command("clear")(clear_command)
    app.command("noop")(lambda: None)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    engine = make_engine(url)
    migrate(engine, "hub")
    load(Store(engine), synthetic_month(count=200))
    runner = CliRunner()
    bad = runner.invoke(app, ["clear", "--month", "2026-13", "--hub-db", url])
    assert bad.exit_code == 2 and "--month" in bad.output
    first = runner.invoke(app, ["clear", "--month", "2026-10", "--hub-db", url])
    assert first.exit_code == 0, first.output
    assert "cleared now" in first.output and "110000" in first.output
    again = runner.invoke(app, ["clear", "--month", "2026-10", "--hub-db", url])
    assert "nothing changed" in again.output


def test_a_settlement_indexed_after_its_month_was_cleared_is_owed_by_the_next_clearing(
        store: Store) -> None:
    oct_day, nov_day = datetime(2026, 10, 12, 3, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)
    on_time = index_row("S1", "settle", "510100", "440100", oct_day, 50_000, 2_000, 9_000)
    with store.tx() as tx:
        assert len(add_to_index(tx, [on_time], AFTER)) == 1
    october = svc.run_clearing(store, OCT, AFTER)
    assert october["obligations"] == 52_000
    late = index_row("S2", "settle", "510100", "440100", oct_day, 30_000, 1_000, 500)
    late_cancel = cancel_of(on_time, oct_day + timedelta(hours=1))
    same_province = index_row("S3", "settle", "440300", "440100", oct_day, 7_000, 0, 0)
    with store.tx() as tx:  # reconciliation finds them after October was cleared
        assert len(add_to_index(tx, [late, late_cancel, same_province, on_time], AFTER)) == 3
    with store.tx() as tx:  # a second confirmation of the same rows books nothing more
        assert len(add_to_index(tx, [late, late_cancel], AFTER)) == 0
        adjustments = {str(r.case_id): (str(r.kind), int(r.amount), r.month_applied)
                       for r in tx.rows("clearing_adjustments")}
    assert adjustments == {"S2": ("late", 31_000, None), "CS1": ("late", -52_000, None)}
    assert svc.run_clearing(store, OCT, AFTER)["obligations"] == 52_000  # stored, unchanged
    on_time_nov = index_row("S4", "settle", "510100", "440100", nov_day, 10_000, 0, 0)
    with store.tx() as tx:  # a November settlement is not late: November is not cleared
        assert len(add_to_index(tx, [on_time_nov], AFTER)) == 1
        assert tx.count("clearing_adjustments") == 2
    november = svc.run_clearing(store, NOV, datetime(2026, 12, 2, tzinfo=UTC))
    assert november["obligations"] == 10_000 + 31_000 - 52_000
    assert november["net_sum"] == 0
    with store.tx() as tx:
        assert {r.month_applied for r in tx.rows("clearing_adjustments")} == {str(NOV)}


def test_a_row_arriving_while_its_month_is_being_cleared_is_cleared_or_booked_late(
        pg_database: str) -> None:
    """The clearing holds the index from its totals to its commit: a row that comes in between
    waits, then finds the month cleared and books itself late (without the hold it would be in
    neither October's totals nor an adjustment)."""
    engine = make_engine(pg_database)
    migrate(engine, "hub")
    store = Store(engine)
    oct_day = datetime(2026, 10, 12, 3, tzinfo=UTC)
    with store.tx() as tx:
        add_to_index(tx, [index_row("S1", "settle", "510100", "440100", oct_day, 50_000, 0, 0)],
                     AFTER)
    arriving = index_row("S2", "settle", "510100", "440100", oct_day, 30_000, 0, 0)
    writer: list[threading.Thread] = []

    def late_writer() -> None:
        with store.tx() as tx:
            add_to_index(tx, [arriving], AFTER)

    def progress(step: str, done: int, total: int) -> None:
        if done == 1:  # October's totals are summed; the row arrives now
            thread = threading.Thread(target=late_writer)
            thread.start()
            writer.append(thread)
            while thread.is_alive() and not waiting_on_a_lock(pg_database):
                thread.join(0.01)

    try:
        october = svc.run_clearing(store, OCT, AFTER, progress)
        writer[0].join(10)
        with store.tx() as tx:
            late = [(str(r.case_id), int(r.amount)) for r in tx.rows("clearing_adjustments")]
        assert october["obligations"] + sum(amount for _, amount in late) == 80_000
        assert late == [("S2", 30_000)]
    finally:
        engine.dispose()


def waiting_on_a_lock(url: str) -> bool:
    """Whether a session of the database waits for a lock another holds."""
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                           "ON a.pid = l.pid WHERE NOT l.granted AND a.datname = "
                           "current_database()").fetchone()
    return bool(row and row[0])


@pytest.mark.parametrize("path", ["/clearing/2026-10", "/clearing/2026-10/statements",
                                  "/clearing/2026-10/statements/110000",
                                  "/clearing/2026-10/statements/110000?format=csv",
                                  "/clearing/statements/110000?since=2026-05", "/prepayment"])
def test_clearing_figures_are_read_only_by_their_province_or_the_hubs_operators(
        store: Store, path: str) -> None:
    keys = {"110000": "k-bj", "440000": "k-gd"}
    load(store, synthetic_month(count=50))
    client = _app(store, keys, AFTER)
    assert _post(client, keys, "110000", "/clearing/2026-10/run", {}).status_code == 200
    anonymous = client.get(path).json()["error"]
    assert anonymous["code"] == "authentication_failed"
    other = _get(client, keys, "440000", path).json()["error"]  # Guangdong reads Beijing's
    assert other["code"] == "forbidden"
    own = _get(client, keys, "110000", path)
    if "110000" in path:  # a province reads its own statements, not the month of everyone
        assert own.status_code == 200
    else:
        assert own.json()["error"]["code"] == "forbidden"
    assert client.get(path, headers=_operator(store)).status_code == 200


def test_the_simulations_check_finds_a_settlement_cleared_in_neither_place(
        store: Store) -> None:
    from medsettle.adapters.simulation.checks import Checker
    from medsettle.adapters.simulation.nodes import HUB
    oct_day = datetime(2026, 10, 12, 3, tzinfo=UTC)
    with store.tx() as tx:
        add_to_index(tx, [index_row("S1", "settle", "510100", "440100", oct_day, 50_000, 0, 0)],
                     AFTER)
    svc.run_clearing(store, OCT, AFTER)
    checker = Checker({HUB: store.engine}, {})
    with store.tx() as tx:  # the booked way: a late adjustment
        add_to_index(tx, [index_row("S2", "settle", "510100", "440100", oct_day, 7_000, 0, 0)],
                     AFTER)
    assert checker._cleared_in_full() == []
    with store.tx() as tx:  # as the index was written before: in no month's clearing at all
        tx.add_many("settlement_index", [index_row("S3", "settle", "510100", "440100", oct_day,
                                                   3_000, 0, 0)])
    assert checker._cleared_in_full() == [
        "hub: the cleared months' settlements owe 60000 fen, but clearing carries 50000 fen in "
        "its lines and 7000 fen late"]
