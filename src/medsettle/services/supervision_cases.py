"""Supervision cases (费用协查, 双地联查) and tickets (问题协同) at the hub: opened by a rule hit
or an operator, moved by the two provinces (their operators, through their node's signature)
and hub operators, each step in the hub's audit log in its transaction (services/audit.py).

A case's decision records its clearing adjustments (拒付 deducted, carried-over items
released) for the next clearing (services/refusals.py); the treating province is then told to
deduct the institution's credit and recover the amount (services/credit.py, at its node).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from medsettle.core.calendar import business_date
from medsettle.core.clearing import province_of
from medsettle.core.errors import Forbidden, InvalidInput, NotFound, StateConflict
from medsettle.core.money import MAX_FEN
from medsettle.core.supervision.cases import (
    CASE_STATES,
    Case,
    CaseItem,
    Party,
    Ticket,
    case_from,
    open_case,
    open_ticket,
    ticket_from,
    to_doc,
)
from medsettle.services import audit, refusals
from medsettle.services.audit import Actor
from medsettle.services.ports import Database, UnitOfWork

logger = logging.getLogger(__name__)
#: A refused amount typed as text: ASCII digits only (at most 13: MAX_FEN has 13).
WHOLE_FEN = re.compile(r"[0-9]{1,13}", re.ASCII)
#: A settlement id as the index keeps it (String(30)): printable ASCII, no spaces.
SETTLEMENT_ID = re.compile(r"[\x21-\x7e]{1,30}", re.ASCII)
CASE_ACTIONS = ("request", "answer", "decide", "close")
TICKET_ACTIONS = ("acknowledge", "work", "close")


def party(actor: Actor) -> Party:
    """The case machine's view of an actor (a node acting for its province, or the hub)."""
    region = actor.region if actor.region is None else province_of(actor.region)
    return Party(actor.name, actor.role, region)


def _case_row(case: Case, now: datetime) -> dict[str, object]:
    return {"case_id": case.case_id, "kind": case.kind, "state": case.state,
            "insured": case.insured, "treating": case.treating,
            "institution": case.institution,
            "opened_at": datetime.fromisoformat(case.opened_at), "due": None if case.due is None
            else datetime.fromisoformat(case.due).date(), "updated_at": now,
            "document": to_doc(case)}


def items_of(tx: UnitOfWork, settlement_ids: Sequence[str]) -> tuple[CaseItem, ...]:
    """The settlements as case items, from the hub's index (funds + account each); each once
    (a case holds back and refuses what its items add up to)."""
    items: list[CaseItem] = []
    for sid in settlement_ids:
        if not isinstance(sid, str) or SETTLEMENT_ID.fullmatch(sid) is None:
            raise InvalidInput("settlements", f"{str(sid)[:40]!r} is not a settlement id "
                                              "(1-30 printable ASCII characters)")
        if any(item.settlement_id == sid for item in items):
            raise InvalidInput("settlements", f"{sid} is named twice")
        row = tx.one("settlement_index", setl_id=sid)
        if row is None or row.kind != "settle":
            raise NotFound(f"settlement {sid} is not in the hub's index", field="settlements")
        items.append(CaseItem(sid, int(row.fund_pay_sumamt) + int(row.acct_pay),
                              str(row.fixmedins_code)))
    return tuple(items)


def create_case(store: Database, *, kind: str, insured: str, treating: str, institution: str,
                reason: str, settlement_ids: Sequence[str], actor: Actor, now: datetime,
                rules: tuple[str, ...] = ()) -> Case:
    """Open a case (an operator, a province's node, or a rule hit as the hub)."""
    insured, treating = province_of(insured), province_of(treating)
    with store.tx() as tx:
        items = items_of(tx, settlement_ids)
        for item in items:
            row = tx.one("settlement_index", setl_id=item.settlement_id)
            if (province_of(row.insu_admdvs), province_of(row.mdtrtarea_admvs)) != (
                    insured, treating):
                raise InvalidInput("settlements", f"{item.settlement_id} is not a settlement "
                                                  f"of {insured} treated in {treating}")
        if not institution and items:
            institution = items[0].institution
        named = {item.institution for item in items} - {institution}
        if named or (institution and province_of(institution[1:7]) != treating):
            raise InvalidInput("institution", f"{institution} is not the institution of the "
                                              "case's settlements in the treating province: "
                                              "its decision lowers that one's credit")
        serial = tx.next_serial(f"case:{business_date(now):%Y%m%d}")  # one opening at a time
        case = open_case(f"C{business_date(now):%Y%m%d}{serial:04d}", kind, insured, treating,
                         institution, reason, items, party(actor), now, rules)
        taken = in_open_cases(tx, [item.settlement_id for item in items])
        if taken:
            sid, other = next(iter(sorted(taken.items())))
            raise StateConflict(f"{sid} is already in case {other}, which is not closed: a "
                                "settlement is held back and refused by one case at a time",
                                "settlements")
        tx.add("supervision_cases", _case_row(case, now))
        audit.record(tx, actor, "case.open", case.case_id, None, _brief(case), now)
    logger.info("case opened", extra={"case_id": case.case_id, "kind": kind})
    return case


def in_open_cases(tx: UnitOfWork, settlement_ids: Sequence[str]) -> dict[str, str]:
    """Which of the settlements are items of a case not yet closed: {setl_id: case_id}."""
    wanted = set(settlement_ids)
    taken: dict[str, str] = {}
    for state in CASE_STATES:
        if state == "closed":
            continue
        for row in tx.rows("supervision_cases", state=state):
            for item in row.document.get("items", []):
                if item.get("settlement_id") in wanted:
                    taken.setdefault(str(item["settlement_id"]), str(row.case_id))
    return taken


def _brief(case: Case) -> dict[str, object]:
    return {"state": case.state, "outcome": case.outcome, "refused": case.refused,
            "severity": case.severity, "due": case.due, "carry_over": case.carry_over}


def _carry_over(form: Mapping[str, Any]) -> bool:
    """`carry_over` of a request: true or false (absent: false). bool("false") was true."""
    value = form.get("carry_over", False)
    if not isinstance(value, bool):
        raise InvalidInput("carry_over", "must be true or false")
    return value


def load_case(tx: UnitOfWork, case_id: str) -> Case:
    """A stored case."""
    return case_of(_case_row_of(tx, case_id))


def _case_row_of(tx: UnitOfWork, case_id: str, *, held: bool = False) -> Any:
    """A case's row; `held`, locked until the transaction ends (Tx.hold), as every write of a
    case reads it: a step (act) and the note of what the treating province did (note_credit)
    then run one after the other, and neither writes over what the other wrote."""
    row = tx.hold("supervision_cases", case_id=case_id) if held else tx.one(
        "supervision_cases", case_id=case_id)
    if row is None:
        raise NotFound(f"no case {case_id}")
    return row


def case_of(row: Any) -> Case:
    """The case a stored row holds (its document without what the treating province was told,
    which is kept beside the case, not in it)."""
    return case_from({k: v for k, v in row.document.items() if k != "credit"})


def act(store: Database, case_id: str, action: str, actor: Actor, now: datetime,
        form: dict[str, Any]) -> Case:
    """Move a case: request (carry_over), answer (outcome, refused fen, severity, note), decide,
    close. The decision records the clearing adjustments in the same transaction."""
    if action not in CASE_ACTIONS:
        raise InvalidInput("action", f"must be one of {', '.join(CASE_ACTIONS)}")
    who = party(actor)
    with store.tx() as tx:
        stored = _case_row_of(tx, case_id, held=True)
        before = case_of(stored)
        if action == "request":
            after = before.request(who, now, _carry_over(form))
            if after.carry_over:
                refusals.add(tx, case_id, after.insured, after.treating, "hold", -after.amount,
                             now)
        elif action == "answer":
            _may_answer(before, who)  # before reading what it refuses: a stranger learns nothing
            after = before.answer(who, now, str(form.get("outcome", "")),
                                  _fen(form.get("refused", 0)), str(form.get("severity",
                                                                             "none")),
                                  str(form.get("note", "")))
        elif action == "decide":
            after = before.decide(who, now, str(form.get("note", "")))
            if after.carry_over:
                refusals.add(tx, case_id, after.insured, after.treating, "release",
                             after.amount - after.refused, now)
            else:
                refusals.add(tx, case_id, after.insured, after.treating, "refusal",
                             -after.refused, now)
        else:
            after = before.close(who, now, str(form.get("note", "")))
        row = _case_row(after, now)
        if action == "decide":
            row["untold"] = True  # until the treating province confirms (note_credit)
        if "credit" in stored.document:  # what the treating province did stays with the case
            row["document"] = {**to_doc(after), "credit": stored.document["credit"]}
        changed = tx.change("supervision_cases", {"case_id": case_id, "state": before.state},
                            **{k: v for k, v in row.items() if k not in ("case_id", "opened_at")})
        if changed != 1:
            raise StateConflict(f"case {case_id} changed meanwhile; retry")
        audit.record(tx, actor, f"case.{action}", case_id, _brief(before), _brief(after), now)
    return after


def _may_answer(case: Case, who: Party) -> None:
    """Case.answer's rule of who answers (the treating province or the hub, not an auditor),
    checked before the answer's fields are read."""
    if (who.province != case.treating and not who.hub) or who.role == "auditor":
        raise Forbidden(f"only the treating province {case.treating} or the hub may answer "
                        f"case {case.case_id}")


def _fen(value: object) -> int:
    """The refused amount: whole fen, 0 to MAX_FEN, as a JSON integer or a text of ASCII
    digits (not "²" or "١", which str.isdigit accepts); else InvalidInput naming `refused`."""
    if type(value) is int:
        fen = value
    elif isinstance(value, str) and WHOLE_FEN.fullmatch(value.strip()):
        fen = int(value.strip())
    else:
        shown = repr(value[:40]) if isinstance(value, str) else type(value).__name__
        raise InvalidInput("refused", f"must be a whole number of fen ≥ 0, not {shown}")
    if not 0 <= fen <= MAX_FEN:
        raise InvalidInput("refused", f"must be a whole number of fen from 0 to {MAX_FEN}")
    return fen


def untold(store: Database) -> list[dict[str, Any]]:
    """Decided (or since closed) cases whose treating province has not been told of the
    decision, as the documents the courier sends (adapters/decision_courier.py)."""
    with store.read() as tx:
        rows = tx.rows("supervision_cases", order_by="case_id", untold=True)
    return [to_doc(case_of(r)) for r in rows]


def note_credit(store: Database, case_id: str, result: dict[str, Any], now: datetime) -> None:
    """Keep what the treating province did with the decision (credit, suspension), beside the
    case as it is now (read under its lock: a step taken meanwhile is kept, see _case_row_of)."""
    with store.tx() as tx:
        row = tx.hold("supervision_cases", case_id=case_id)
        if row is None:
            return
        doc = dict(row.document)
        doc["credit"] = result
        tx.change("supervision_cases", {"case_id": case_id}, document=doc, updated_at=now,
                  untold=not result.get("told"))


def cases(store: Database, now: datetime, state: str | None = None) -> list[dict[str, Any]]:
    """Every case (newest first) as documents with the overdue flag on `now`'s business date
    and what the treating province did with the decision."""
    with store.tx() as tx:
        rows = tx.rows("supervision_cases", **({"state": state} if state else {}))
    today = business_date(now)
    result = []
    for row in sorted(rows, key=lambda r: r.opened_at, reverse=True):
        case = case_of(row)
        result.append(to_doc(case) | {"overdue": case.overdue(today), "amount": case.amount,
                                       "credit": row.document.get("credit")})
    return result


def case_doc(store: Database, case_id: str) -> dict[str, Any]:
    """One case with its clearing adjustments."""
    with store.tx() as tx:
        row = _case_row_of(tx, case_id)
        case = case_of(row)
        return to_doc(case) | {"amount": case.amount, "credit": row.document.get("credit"),
                               "adjustments": refusals.of_case(tx, case_id)}


# --- tickets ---------------------------------------------------------------------------------
def create_ticket(store: Database, *, raised_by: str, raised_to: str, subject: str,
                  settlement_id: str, actor: Actor, now: datetime) -> Ticket:
    """Raise a 问题协同 ticket to another province."""
    with store.tx() as tx:
        serial = tx.next_serial(f"ticket:{business_date(now):%Y%m%d}")
        ticket = open_ticket(f"T{business_date(now):%Y%m%d}{serial:04d}",
                             province_of(raised_by), province_of(raised_to), subject,
                             party(actor), now, settlement_id)
        tx.add("supervision_tickets", {"ticket_id": ticket.ticket_id, "state": ticket.state,
                                       "raised_by": ticket.raised_by,
                                       "raised_to": ticket.raised_to, "opened_at": now,
                                       "updated_at": now, "document": to_doc(ticket)})
        audit.record(tx, actor, "ticket.open", ticket.ticket_id, None,
                     {"state": ticket.state, "to": ticket.raised_to}, now)
    return ticket


def act_on_ticket(store: Database, ticket_id: str, action: str, actor: Actor, now: datetime,
                  note: str = "") -> Ticket:
    """acknowledge, work or close a ticket."""
    if action not in TICKET_ACTIONS:
        raise InvalidInput("action", f"must be one of {', '.join(TICKET_ACTIONS)}")
    with store.tx() as tx:
        row = tx.one("supervision_tickets", ticket_id=ticket_id)
        if row is None:
            raise NotFound(f"no ticket {ticket_id}")
        before = ticket_from(row.document)
        move = {"acknowledge": before.acknowledge, "work": before.work,
                "close": before.close}[action]
        after = move(party(actor), now, note)
        if tx.change("supervision_tickets", {"ticket_id": ticket_id, "state": before.state},
                     state=after.state, updated_at=now, document=to_doc(after)) != 1:
            raise StateConflict(f"ticket {ticket_id} changed meanwhile; retry")
        audit.record(tx, actor, f"ticket.{action}", ticket_id, {"state": before.state},
                     {"state": after.state, "note": note}, now)
    return after


def tickets(store: Database, on: datetime, viewer: Actor | None = None
            ) -> list[dict[str, Any]]:
    """Every ticket (newest first) with its overdue flags on `on`'s business date and, for a
    `viewer`, whether they receive it (may acknowledge it and report work: `receives`)."""
    with store.tx() as tx:
        rows = tx.rows("supervision_tickets")
    day = business_date(on)
    who = None if viewer is None else party(viewer)
    return [to_doc(t) | t.flags(day) | ({} if who is None else {"receives": t.received_by(who)})
            for t in sorted((ticket_from(r.document) for r in rows), key=lambda t: t.opened_at,
                            reverse=True)]


def hit_concerns(region: str, hit: Mapping[str, Any]) -> bool:
    """Whether a rule hit concerns a province's node: the province reported it, or the
    institution it names is the province's. Another province's hits name its persons."""
    reported = (hit.get("document") or {}).get("reported_by")
    institution = str(hit.get("institution") or "")
    return reported == region or (
        len(institution) == 12 and province_of(institution[1:7]) == province_of(region))


def only_for(actor: Actor, *provinces: str) -> None:
    """A province's node or operator may act only on what concerns its province."""
    if actor.role in ("hub",) or (actor.role == "node" and actor.region is None):
        return
    if actor.region is None or province_of(actor.region) not in {province_of(p)
                                                                 for p in provinces}:
        raise Forbidden(f"{actor.name} does not act for {', '.join(provinces)}")
