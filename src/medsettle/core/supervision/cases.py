"""Cases (费用协查, 双地联查) and tickets (问题协同) between provinces, as pure state machines
(domain.md §8 and §9). Every transition names who did it and when; the services store the
result and record it in the audit log.

A case:  opened ─request─▶ requested ─answer─▶ answered ─decide─▶ decided ─close─▶ closed
  (by a rule hit or an operator; the insured province requests 费用协查; the treating province
  answers within 20 working days: confirmed, partly refused or refused, with the refused amount
  and the severity; the insured province (or the hub) decides; refused amounts (拒付) are
  deducted in the next clearing and recovered from the institution; then it is closed.)
A ticket: open ─acknowledge─▶ acknowledged ─work─▶ working ─close─▶ closed, acknowledged within
  2 working days and closed within 10 [U].
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from medsettle.core.errors import Forbidden, InvalidInput, StateConflict

CASE_STATES = ("opened", "requested", "answered", "decided", "closed")
CASE_KINDS = ("verification", "joint_audit")
OUTCOMES = ("confirmed", "partly_refused", "refused")
SEVERITIES = ("none", "minor", "serious", "fraud")
TICKET_STATES = ("open", "acknowledged", "working", "closed")
REPLY_WORKING_DAYS = 20  # [U]
ACK_WORKING_DAYS, CLOSE_WORKING_DAYS = 2, 10  # [U]


def add_working_days(start: date, days: int) -> date:
    """The date `days` working days (Monday–Friday; public holidays not modelled) after."""
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


@dataclass(frozen=True, slots=True)
class Party:
    """Who acts: a province operator or node (its province), the hub, or an auditor."""

    name: str
    role: str  # province | hub | auditor | node
    province: str | None  # None for the hub

    @property
    def hub(self) -> bool:
        return self.role == "hub" or (self.role == "node" and self.province is None)


@dataclass(frozen=True, slots=True)
class Step:
    """One transition: when, who, what, and a note."""

    at: str
    actor: str
    action: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class CaseItem:
    """A settlement under the case and what the insured province paid for it (funds +
    account, fen)."""

    settlement_id: str
    amount: int
    institution: str = ""


@dataclass(frozen=True, slots=True)
class Case:
    """A supervision case between an insured and a treating province."""

    case_id: str
    kind: str
    insured: str
    treating: str
    institution: str
    reason: str
    items: tuple[CaseItem, ...]
    opened_at: str
    state: str = "opened"
    due: str | None = None
    carry_over: bool = False
    outcome: str | None = None
    refused: int = 0
    severity: str = "none"
    decision: str | None = None
    rules: tuple[str, ...] = ()
    history: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def amount(self) -> int:
        """Σ of the items."""
        return sum(item.amount for item in self.items)

    def overdue(self, on: date) -> bool:
        """The treating province has not answered by the due date."""
        return self.state == "requested" and self.due is not None and on > date.fromisoformat(
            self.due)

    def _step(self, who: Party, action: str, at: datetime, note: str = "", **changes: Any
              ) -> Case:
        return replace(self, history=(*self.history, Step(at.isoformat(), who.name, action,
                                                           note)), **changes)

    def _expect(self, state: str, action: str) -> None:
        if self.state != state:
            raise StateConflict(f"case {self.case_id} is {self.state}; {action} needs it "
                                f"{state}")

    def _insured_side(self, who: Party, action: str) -> None:
        if not (who.hub or who.province == self.insured) or who.role == "auditor":
            raise Forbidden(f"only the insured province {self.insured} or the hub may {action} "
                            f"case {self.case_id}")

    def request(self, who: Party, at: datetime, carry_over: bool = False) -> Case:
        """The insured province asks the treating province to verify the costs (费用协查)."""
        self._insured_side(who, "request verification of")
        self._expect("opened", "a request")
        due = add_working_days(at.date(), REPLY_WORKING_DAYS)
        return self._step(who, "request", at, "carried over in clearing (暂缓清算)" if carry_over else "",
                          state="requested", due=due.isoformat(), carry_over=carry_over)

    def answer(self, who: Party, at: datetime, outcome: str, refused: int, severity: str,
               note: str = "") -> Case:
        """The treating province's findings: confirmed, partly refused or refused."""
        if (who.province != self.treating and not who.hub) or who.role == "auditor":
            raise Forbidden(f"only the treating province {self.treating} or the hub may answer "
                            f"case {self.case_id}")
        self._expect("requested", "findings")
        if outcome not in OUTCOMES:
            raise InvalidInput("outcome", f"must be one of {', '.join(OUTCOMES)}")
        if severity not in SEVERITIES:
            raise InvalidInput("severity", f"must be one of {', '.join(SEVERITIES)}")
        if type(refused) is not int or refused < 0:
            raise InvalidInput("refused", "must be a whole number of fen ≥ 0")
        total = self.amount
        if outcome == "confirmed" and refused != 0:
            raise InvalidInput("refused", "confirmed findings refuse nothing")
        if outcome == "refused" and refused != total:
            raise InvalidInput("refused", f"refused findings refuse the whole ¥ amount "
                                          f"({total} fen)")
        if outcome == "partly_refused" and not 0 < refused < total:
            raise InvalidInput("refused", f"partly refused is more than 0 and less than "
                                          f"{total} fen")
        if refused and severity == "none":
            raise InvalidInput("severity", "say how serious the refused costs are")
        return self._step(who, "answer", at, note, state="answered", outcome=outcome,
                          refused=refused, severity=severity if refused else "none")

    def decide(self, who: Party, at: datetime, note: str = "") -> Case:
        """The insured province (or the hub) accepts the findings: what is refused is deducted
        in the next clearing and recovered from the institution."""
        self._insured_side(who, "decide")
        self._expect("answered", "a decision")
        return self._step(who, "decide", at, note, state="decided",
                          decision=f"{self.outcome}: {self.refused} fen refused")

    def close(self, who: Party, at: datetime, note: str = "") -> Case:
        """Close a decided case."""
        self._insured_side(who, "close")
        self._expect("decided", "closing")
        return self._step(who, "close", at, note, state="closed")


def open_case(case_id: str, kind: str, insured: str, treating: str, institution: str,
              reason: str, items: tuple[CaseItem, ...], who: Party, at: datetime,
              rules: tuple[str, ...] = ()) -> Case:
    """A new case, opened by an operator of either province, the hub, or a rule hit."""
    if kind not in CASE_KINDS:
        raise InvalidInput("kind", f"must be one of {', '.join(CASE_KINDS)}")
    if not reason.strip():
        raise InvalidInput("reason", "say why the case is opened")
    if who.role == "auditor" or not (who.hub or who.province in (insured, treating)):
        raise Forbidden(f"{who.name} may not open a case between {insured} and {treating}")
    return Case(case_id, kind, insured, treating, institution, reason.strip(), items,
                at.isoformat(), rules=rules,
                history=(Step(at.isoformat(), who.name, "open", reason.strip()),))


@dataclass(frozen=True, slots=True)
class Ticket:
    """A 问题协同 ticket from one province to another (a failed settlement, a dispute)."""

    ticket_id: str
    raised_by: str
    raised_to: str
    subject: str
    opened_at: str
    ack_due: str
    close_due: str
    settlement_id: str = ""
    state: str = "open"
    closed_at: str | None = None
    acknowledged_at: str | None = None
    history: tuple[Step, ...] = field(default_factory=tuple)

    def flags(self, on: date) -> dict[str, bool]:
        """Overdue flags on a day: not acknowledged by ack_due, not closed by close_due."""
        return {"ack_overdue": self.state == "open" and on > date.fromisoformat(self.ack_due),
                "close_overdue": self.state != "closed"
                and on > date.fromisoformat(self.close_due)}

    def _move(self, who: Party, at: datetime, action: str, frm: tuple[str, ...], to: str,
              note: str, **changes: Any) -> Ticket:
        if self.state not in frm:
            raise StateConflict(f"ticket {self.ticket_id} is {self.state}; cannot {action}")
        return replace(self, state=to, history=(*self.history, Step(at.isoformat(), who.name,
                                                                    action, note)), **changes)

    def acknowledge(self, who: Party, at: datetime, note: str = "") -> Ticket:
        """The province it was raised to acknowledges it."""
        self._receiver(who, "acknowledge")
        return self._move(who, at, "acknowledge", ("open",), "acknowledged", note,
                          acknowledged_at=at.isoformat())

    def work(self, who: Party, at: datetime, note: str = "") -> Ticket:
        """The province it was raised to reports work on it."""
        self._receiver(who, "work on")
        return self._move(who, at, "work", ("acknowledged", "working"), "working", note)

    def close(self, who: Party, at: datetime, note: str = "") -> Ticket:
        """Either province (or the hub) closes it, saying how it was resolved."""
        if who.role == "auditor" or not (who.hub or who.province in (self.raised_by,
                                                                     self.raised_to)):
            raise Forbidden(f"{who.name} is not a party to ticket {self.ticket_id}")
        if not note.strip():
            raise InvalidInput("note", "say how the ticket was resolved")
        return self._move(who, at, "close", ("open", "acknowledged", "working"), "closed",
                          note, closed_at=at.isoformat())

    def received_by(self, who: Party) -> bool:
        """Whether `who` may acknowledge it and report work on it: the province it was raised
        to, or the hub."""
        return who.role != "auditor" and (who.hub or who.province == self.raised_to)

    def _receiver(self, who: Party, action: str) -> None:
        if not self.received_by(who):
            raise Forbidden(f"only province {self.raised_to} (or the hub) may {action} ticket "
                            f"{self.ticket_id}")


def open_ticket(ticket_id: str, raised_by: str, raised_to: str, subject: str, who: Party,
                at: datetime, settlement_id: str = "") -> Ticket:
    """A new ticket from `raised_by` to `raised_to`."""
    if not subject.strip():
        raise InvalidInput("subject", "say what the problem is")
    if raised_by == raised_to:
        raise InvalidInput("raised_to", "a ticket goes to another province")
    if who.role == "auditor" or not (who.hub or who.province == raised_by):
        raise Forbidden(f"{who.name} may not raise a ticket for {raised_by}")
    day = at.date()
    return Ticket(ticket_id, raised_by, raised_to, subject.strip(), at.isoformat(),
                  add_working_days(day, ACK_WORKING_DAYS).isoformat(),
                  add_working_days(day, CLOSE_WORKING_DAYS).isoformat(), settlement_id,
                  history=(Step(at.isoformat(), who.name, "open", subject.strip()),))


def to_doc(value: Case | Ticket) -> dict[str, Any]:
    """A case or ticket as a JSON-ready document."""
    from dataclasses import asdict
    return asdict(value)


def case_from(doc: Mapping[str, Any]) -> Case:
    """A case from its document."""
    return Case(**{**doc, "items": tuple(CaseItem(**i) for i in doc["items"]),
                   "rules": tuple(doc.get("rules", ())),
                   "history": tuple(Step(**s) for s in doc["history"])})


def ticket_from(doc: Mapping[str, Any]) -> Ticket:
    """A ticket from its document."""
    return Ticket(**{**doc, "history": tuple(Step(**s) for s in doc["history"])})
