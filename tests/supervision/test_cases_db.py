"""Cases, tickets, 拒付 in clearing and credit, on SQLite and PostgreSQL: every transition and
who may make it, the refusal flowing into the next clearing with the nets still summing to zero,
items carried over, credit deducted and the institution suspended at the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.core.clearing import YearMonth
from medsettle.core.errors import Forbidden, InstitutionSuspended, InvalidInput, StateConflict
from medsettle.services import clearing as clearing_svc
from medsettle.services import credit
from medsettle.services import supervision_cases as svc
from medsettle.services.audit import Actor
from medsettle.services.treating import institution as gateway_institution
from tests.conftest import fresh_database

OCT, NOV = YearMonth(2026, 10), YearMonth(2026, 11)
DAY = datetime(2026, 10, 10, 3, tzinfo=UTC)
GS, SH = "620000", "310000"  # Gansu insures, Shanghai treats
GANSU = Actor("gs-ops", "province", GS)
SHANGHAI = Actor("sh-ops", "province", SH)
HUB = Actor("hub-ops", "hub")


def _store(request: pytest.FixtureRequest, tmp_path: Any, role: str) -> Iterator[Store]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / (role + '.db')}")
        migrate(engine, role)  # type: ignore[arg-type]
        yield Store(engine)
        engine.dispose()
        return
    with fresh_database(request.getfixturevalue("pg_url")) as url:
        engine = make_engine(url)
        migrate(engine, role)  # type: ignore[arg-type]
        yield Store(engine)
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hub(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    yield from _store(request, tmp_path, "hub")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def province(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    yield from _store(request, tmp_path, "province")


def index(store: Store, rows: list[tuple[str, str, str, int, datetime]]) -> None:
    with store.tx() as tx:
        tx.add_many("settlement_index", [{
            "setl_id": sid, "kind": "settle", "ref_setl_id": None, "mdtrt_id": "M" + sid,
            "psn_no": "P" + sid, "insu_admdvs": insured, "mdtrtarea_admvs": treating,
            "fixmedins_code": "H31010100001", "visit_type": "inpatient", "setl_time": when,
            "medfee_sumamt": fund * 2, "fund_pay_sumamt": fund, "acct_pay": 0,
            "psn_cash_pay": fund, "msgid": "X" + sid}
            for sid, insured, treating, fund, when in rows])


def october(store: Store) -> None:
    index(store, [("S1", "620100", "310100", 500_000, DAY), ("S2", "620100", "310100",
                                                             300_000, DAY),
                  ("S3", "310100", "620100", 100_000, DAY)])


def a_case(store: Store, ids: tuple[str, ...] = ("S1", "S2")) -> str:
    case = svc.create_case(store, kind="verification", insured=GS, treating=SH,
                           institution="", reason="R03 hits on two stays",
                           settlement_ids=list(ids), actor=GANSU, now=DAY)
    return case.case_id


@pytest.mark.parametrize("institution", ["H31010100002", "H62010100001"])
def test_a_case_names_the_institution_of_its_settlements_and_no_other(
        hub: Store, institution: str) -> None:
    october(hub)  # S1, S2 settled at H31010100001 in Shanghai
    before = svc.cases(hub, DAY)
    with pytest.raises(InvalidInput) as refused:
        svc.create_case(hub, kind="verification", insured=GS, treating=SH,
                        institution=institution, reason="R03 hits on two stays",
                        settlement_ids=["S1", "S2"], actor=GANSU, now=DAY)
    assert refused.value.field == "institution"
    assert svc.cases(hub, DAY) == before


def test_a_case_goes_through_every_step_with_who_and_when(hub: Store) -> None:
    october(hub)
    cid = a_case(hub)
    later = DAY + timedelta(days=1)
    requested = svc.act(hub, cid, "request", GANSU, later, {})
    assert requested.state == "requested" and requested.due == "2026-11-06"  # 20 working days from Sun 11 Oct
    answered = svc.act(hub, cid, "answer", SHANGHAI, later, {
        "outcome": "partly_refused", "refused": "300000", "severity": "serious",
        "note": "S2 billed a bed twice a day"})
    assert (answered.refused, answered.severity) == (300_000, "serious")
    decided = svc.act(hub, cid, "decide", GANSU, later, {})
    closed = svc.act(hub, cid, "close", HUB, later, {"note": "deducted in November"})
    assert [s.action for s in closed.history] == ["open", "request", "answer", "decide",
                                                  "close"]
    assert [s.actor for s in closed.history] == ["gs-ops", "gs-ops", "sh-ops", "gs-ops",
                                                 "hub-ops"]
    assert decided.decision == "partly_refused: 300000 fen refused"
    with hub.tx() as tx:
        actions = [r.action for r in tx.rows("audit_log", order_by="id")]
    assert actions == ["case.open", "case.request", "case.answer", "case.decide", "case.close"]


def test_what_the_treating_province_was_told_survives_closing_and_untold_ones_are_listed(
        hub: Store) -> None:
    october(hub)
    told, missed = a_case(hub, ("S1",)), a_case(hub, ("S2",))
    later = DAY + timedelta(days=1)
    for cid in (told, missed):
        svc.act(hub, cid, "request", GANSU, later, {})
        svc.act(hub, cid, "answer", SHANGHAI, later, {"outcome": "partly_refused",
                                                      "refused": "1", "severity": "minor"})
        svc.act(hub, cid, "decide", GANSU, later, {})
    svc.note_credit(hub, told, {"told": True, "score": 98}, later)
    svc.note_credit(hub, missed, {"told": False, "why": "unreachable"}, later)
    assert [c["case_id"] for c in svc.untold(hub)] == [missed]
    svc.act(hub, told, "close", HUB, later, {"note": "done"})
    svc.act(hub, missed, "close", HUB, later, {"note": "done"})
    kept = {c["case_id"]: c["credit"] for c in svc.cases(hub, later)}
    assert kept[told] == {"told": True, "score": 98}  # closing kept it
    assert [c["case_id"] for c in svc.untold(hub)] == [missed]  # a closed case is still told


def test_only_the_right_province_may_move_a_case(hub: Store) -> None:
    october(hub)
    cid = a_case(hub)
    with pytest.raises(Forbidden):
        svc.act(hub, cid, "request", SHANGHAI, DAY, {})  # the treating side does not request
    with pytest.raises(Forbidden):
        svc.act(hub, cid, "request", Actor("bj", "province", "110000"), DAY, {})
    with pytest.raises(Forbidden):
        svc.act(hub, cid, "request", Actor("inspector", "auditor"), DAY, {})
    svc.act(hub, cid, "request", GANSU, DAY, {})
    with pytest.raises(Forbidden):
        svc.act(hub, cid, "answer", GANSU, DAY, {"outcome": "confirmed"})
    with pytest.raises(StateConflict):
        svc.act(hub, cid, "decide", GANSU, DAY, {})  # not answered yet
    with pytest.raises(InvalidInput, match="refused"):
        svc.act(hub, cid, "answer", SHANGHAI, DAY, {"outcome": "refused", "refused": 1,
                                                    "severity": "fraud"})
    with pytest.raises(Forbidden):
        svc.create_case(hub, kind="verification", insured=GS, treating=SH, institution="",
                        reason="x", settlement_ids=["S1"], actor=Actor("bj", "province",
                                                                       "110000"), now=DAY)


def test_refusal_is_deducted_in_the_next_clearing_and_the_nets_sum_to_zero(hub: Store
                                                                          ) -> None:
    october(hub)
    clearing_svc.run_clearing(hub, OCT, datetime(2026, 11, 2, tzinfo=UTC))
    cid = a_case(hub)
    for actor, action, form in [(GANSU, "request", {}), (SHANGHAI, "answer", {
            "outcome": "partly_refused", "refused": 300_000, "severity": "minor"}),
            (GANSU, "decide", {})]:
        svc.act(hub, cid, action, actor, DAY + timedelta(days=25), form)
    index(hub, [("N1", "620100", "310100", 1_000_000, datetime(2026, 11, 5, tzinfo=UTC))])
    result = clearing_svc.run_clearing(hub, NOV, datetime(2026, 12, 2, tzinfo=UTC))
    assert result["net_sum"] == 0
    with hub.tx() as tx:
        line = tx.one("clearing_lines", month="2026-11", insured=GS, treating=SH)
        [adjustment] = svc.refusals.of_case(tx, cid)
    assert (line.obligation, line.adjustment) == (700_000, -300_000)
    assert adjustment["month_applied"] == "2026-11" and adjustment["kind"] == "refusal"
    again = clearing_svc.run_clearing(hub, NOV, datetime(2026, 12, 3, tzinfo=UTC))
    assert again["created"] is False and again["obligations"] == result["obligations"]


def test_items_under_an_open_verification_are_carried_over(hub: Store) -> None:
    october(hub)
    cid = a_case(hub)
    svc.act(hub, cid, "request", GANSU, DAY, {"carry_over": True})
    oct_ = clearing_svc.run_clearing(hub, OCT, datetime(2026, 11, 2, tzinfo=UTC))
    with hub.tx() as tx:
        held = tx.one("clearing_lines", month="2026-10", insured=GS, treating=SH)
    assert (held.obligation, held.adjustment, oct_["net_sum"]) == (0, -800_000, 0)
    svc.act(hub, cid, "answer", SHANGHAI, DAY, {"outcome": "partly_refused",
                                                "refused": 300_000, "severity": "minor"})
    svc.act(hub, cid, "decide", GANSU, DAY, {})
    nov = clearing_svc.run_clearing(hub, NOV, datetime(2026, 12, 2, tzinfo=UTC))
    with hub.tx() as tx:
        released = tx.one("clearing_lines", month="2026-11", insured=GS, treating=SH)
    assert (released.settlements, released.obligation) == (0, 500_000)  # 800k held − 300k
    assert nov["net_sum"] == 0


def test_tickets_acknowledge_work_close_with_deadlines_and_overdue_flags(hub: Store) -> None:
    monday = datetime(2026, 10, 5, 2, tzinfo=UTC)
    t = svc.create_ticket(hub, raised_by=SH, raised_to=GS, subject="settle timed out twice",
                          settlement_id="S9", actor=SHANGHAI, now=monday)
    assert (t.ack_due, t.close_due) == ("2026-10-07", "2026-10-19")
    [late] = svc.tickets(hub, datetime(2026, 10, 8, 2, tzinfo=UTC))
    assert late["ack_overdue"] and not late["close_overdue"]
    assert "receives" not in late  # asked for no viewer
    # the pages show acknowledging and reporting work to those the ticket machine lets do it
    assert [svc.tickets(hub, monday, who)[0]["receives"] for who in (GANSU, SHANGHAI, HUB)] == [
        True, False, True]
    with pytest.raises(Forbidden):
        svc.act_on_ticket(hub, t.ticket_id, "acknowledge", SHANGHAI, monday)  # the raiser
    svc.act_on_ticket(hub, t.ticket_id, "acknowledge", GANSU, monday)
    svc.act_on_ticket(hub, t.ticket_id, "work", GANSU, monday, "reversal sent")
    with pytest.raises(InvalidInput):
        svc.act_on_ticket(hub, t.ticket_id, "close", SHANGHAI, monday, "")
    closed = svc.act_on_ticket(hub, t.ticket_id, "close", SHANGHAI, monday, "reversed, OK")
    assert closed.state == "closed" and closed.closed_at
    with pytest.raises(StateConflict):
        svc.act_on_ticket(hub, t.ticket_id, "work", GANSU, monday)
    [done] = svc.tickets(hub, datetime(2026, 11, 30, tzinfo=UTC))
    assert not done["ack_overdue"] and not done["close_overdue"]


def institution(store: Store, code: str = "H31010100001") -> None:
    with store.tx() as tx:
        tx.add("institutions", {"fixmedins_code": code, "name": "上海某医院", "admdvs": "310101",
                                "hosp_lv": "02", "level": "L3", "suspended": False,
                                "networked": True, "chronic_opened": []})


def test_credit_deducted_then_suspended_below_60_and_the_gateway_refuses(province: Store
                                                                         ) -> None:
    institution(province)
    for k, severity in enumerate(["serious"] * 4):
        with province.tx() as tx:
            result = credit.apply_decision(tx, case_id=f"C{k}", institution="H31010100001",
                                           insured=GS, severity=severity, refused=10_000,
                                           now=DAY, actor="node:hub")
    assert (result["score"], result["suspended"]) == (60, False)
    with province.tx() as tx:
        again = credit.apply_decision(tx, case_id="C3", institution="H31010100001",
                                      insured=GS, severity="serious", refused=10_000, now=DAY,
                                      actor="node:hub")
        assert again["already"] and again["score"] == 60  # once per case
        result = credit.apply_decision(tx, case_id="C4", institution="H31010100001",
                                       insured=GS, severity="minor", refused=0, now=DAY,
                                       actor="node:hub")
    assert result["score"] == 58 and result["suspended"]
    assert result["suspended_until"] == "2027-04-10"
    with province.tx() as tx, pytest.raises(InstitutionSuspended, match="until 2027-04-10 [(]"):
        gateway_institution(tx, "H31010100001")  # the clerk is told until when, and why
    with province.tx() as tx:
        postings = {p.account: p.amount for p in tx.rows("ledger_postings")}
        credit.reinstate(tx, "H31010100001", "billing rules corrected, staff trained",
                         DAY + timedelta(days=200), "sh-ops")
        assert gateway_institution(tx, "H31010100001").suspended is False
        [row] = [c for c in credit.credits(tx) if c["fixmedins_code"] == "H31010100001"]
    assert postings == {"payable:institution:H31010100001": 10_000,
                        "receivable:province:620000": -10_000}
    assert row["score"] == 60 and [e["action"] for e in row["events"]][-2:] == ["suspend",
                                                                                 "reinstate"]


def test_fraud_suspends_at_once_for_twelve_months(province: Store) -> None:
    institution(province)
    with province.tx() as tx:
        result = credit.apply_decision(tx, case_id="CF", institution="H31010100001",
                                       insured=GS, severity="fraud", refused=50_000, now=DAY,
                                       actor="node:hub")
    assert (result["score"], result["suspended"], result["suspended_until"]) == (
        70, True, date(2027, 10, 10).isoformat())


def test_a_person_terminated_from_direct_settlement(province: Store) -> None:
    with province.tx() as tx:
        tx.add("persons", {"psn_no": "P1", "certno": "110101199003074514", "psn_name": "甲",
                           "gend": "1", "brdy": date(1990, 3, 7), "insu_admdvs": "310100",
                           "insutype": "310", "psn_type": "11", "chronic_certified": []})
        with pytest.raises(InvalidInput):
            credit.bar_person(tx, "P1", True, "")
        credit.bar_person(tx, "P1", True, "冒名就医, case C1")
        assert tx.one("persons", psn_no="P1").direct_settlement_barred is True


def test_the_hub_batch_finds_a_cost_surge_and_opens_a_joint_audit(hub: Store) -> None:
    from medsettle.adapters.supervision_files import load_threshold_book
    from medsettle.services import supervision_batch as batch
    book = load_threshold_book()
    rows = []
    for k, (month, fund) in enumerate([(7, 10_000_000), (8, 11_000_000), (9, 9_000_000),
                                       (10, 14_000_000)]):  # 14M > 1.2 × 10M
        for part in range(2):
            rows.append((f"X{k}{part}", "620100", "310100", fund // 2,
                         datetime(2026, month, 12, 3, tzinfo=UTC)))
    index(hub, rows)
    hits = batch.run_hub(hub, OCT, lambda r: book.find(r, date(2026, 10, 31)), DAY,
                         svc.create_case)
    [surge] = [h for h in hits if h.rule == "R09"]
    assert surge.key == "H31010100001" and surge.measured["ratio"] == "1.4000"
    [case] = svc.cases(hub, DAY)
    assert (case["kind"], case["insured"], case["treating"], case["rules"]) == (
        "joint_audit", GS, SH, ("R09",))
    assert {i["settlement_id"] for i in case["items"]} == {"X30", "X31"}
    reported = {"rule": "R03", "unit": "settlement", "key": "S9", "severity": "warning",
                "source": "batch", "month": str(OCT), "institution": "H31010100001",
                "person": "", "settlement_id": "S9", "amount": 100, "found_at": DAY,
                "case_id": None, "document": {"rule": "R03", "reported_by": GS}}
    with hub.tx() as tx:  # what Gansu's node reported of its own batch (/fed/v1/supervision/hits)
        tx.add("supervision_hits", reported)
    batch.run_hub(hub, OCT, lambda r: book.find(r, date(2026, 10, 31)), DAY, svc.create_case)
    assert len(svc.cases(hub, DAY)) == 1  # once per institution and month
    with hub.tx() as tx:  # the hub's re-run replaced its own hits, not a province's
        assert tx.one("supervision_hits", key="S9").source == "batch"
    with hub.tx() as tx:
        kept = [r for r in tx.rows("supervision_hits", rule="R09") if r.source == "batch"]
    assert len(kept) == 1 and kept[0].case_id == case["case_id"]


def test_the_province_batch_runs_on_its_database(province: Store) -> None:
    from typer.testing import CliRunner

    from medsettle.adapters.cli import app
    result = CliRunner().invoke(app, ["supervise", "--month", "2026-10", "--db",
                                      str(province.engine.url)])
    assert result.exit_code == 0, result.output
    assert "Supervision 2026-10 at the province: 0 hits" in result.output
