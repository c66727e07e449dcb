"""Reconciliation (对账) between an institution and its treating node: 3201 totals and 3202
details, compared with the node's own settlement records of the period (domain.md §8).

The node's side is its treating records of the institution, settle and cancel, whose business
date (Asia/Shanghai) is in the period; a cancel counts −1 and with negative amounts. Each run
is saved as a report of scope "institution".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from medsettle.core.records import Role, SettlementKind, SettlementRecord
from medsettle.services.ports import Database, UnitOfWork

#: The amounts compared per settlement (fen).
DETAIL_AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
#: clearing type → the visit types it covers (11 outpatient incl. chronic, 21 inpatient).
CLEARING_TYPES: dict[str, tuple[str, ...]] = {"11": ("outpatient", "chronic"),
                                              "21": ("inpatient",)}


@dataclass(frozen=True)
class Totals:
    """Count (cancels −1) and amounts (fen) of a set of settlements."""

    count: int
    medfee_sumamt: int
    fund_pay_sumamt: int
    acct_pay: int

    def as_dict(self) -> dict[str, int]:
        """The totals by name."""
        return {"count": self.count, "medfee_sumamt": self.medfee_sumamt,
                "fund_pay_sumamt": self.fund_pay_sumamt, "acct_pay": self.acct_pay}


@dataclass(frozen=True)
class Declared:
    """One settlement as the institution declares it (amounts in fen, a refund negative)."""

    settlement_id: str
    visit_id: str
    person_id: str
    refund: bool
    amounts: dict[str, int]


@dataclass(frozen=True)
class Mismatch:
    """A settlement that is not the same on both sides."""

    settlement_id: str
    problem: str  # missing_at_node | differs | missing_at_institution
    memo: str
    declared: Declared | None
    recorded: SettlementRecord | None


@dataclass(frozen=True)
class DetailResult:
    """3202: per settlement, and the node's totals."""

    mismatches: list[Mismatch]
    declared_count: int
    recorded_count: int
    node: Totals
    by_problem: dict[str, int] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        """Nothing differs and nothing is one-sided."""
        return not self.mismatches

    @property
    def matched(self) -> int:
        """How many declared settlements the node has, the same."""
        return self.declared_count - sum(m.problem != "missing_at_institution"
                                         for m in self.mismatches)


def records(db: Database, institution: str, first: date, last: date) -> list[SettlementRecord]:
    """The node's treating records of the institution in business days first..last."""
    with db.tx() as tx:
        return tx.settlements_between(Role.TREATING, first, last, institution)


def totals_of(found: list[SettlementRecord]) -> Totals:
    """Count and amounts of records, cancels counting −1."""
    return Totals(
        count=sum(-1 if r.kind is SettlementKind.CANCEL else 1 for r in found),
        medfee_sumamt=sum(r.amounts.medfee_sumamt for r in found),
        fund_pay_sumamt=sum(r.amounts.fund_pay_sumamt for r in found),
        acct_pay=sum(r.amounts.acct_pay for r in found))


def of_clearing_type(found: list[SettlementRecord], insutype: str, clearing_type: str
                     ) -> list[SettlementRecord]:
    """The records of one scheme (insutype) and clearing type (11/21)."""
    kinds = CLEARING_TYPES.get(clearing_type, ())
    return [r for r in found if r.insutype == insutype and r.visit_type in kinds]


#: The order of the mismatches: what the institution declared and the centre lacks, what
#: differs (both in the institution's order), then what the institution did not declare (in
#: the centre's order, by settlement time).
_ORDER = {"missing_at_node": 0, "differs": 1, "missing_at_institution": 2}


def compare_details(declared: list[Declared], found: list[SettlementRecord]) -> DetailResult:
    """Line up the institution's settlements with the node's, per settlement id."""
    mine = {r.settlement_id: r for r in found}
    theirs = {d.settlement_id: d for d in declared}
    out = []
    for setl_id in [*theirs, *(s for s in mine if s not in theirs)]:
        inst, node = theirs.get(setl_id), mine.get(setl_id)
        if node is None:
            out.append(Mismatch(setl_id, "missing_at_node",
                                "the centre has no such settlement of this institution",
                                inst, None))
        elif inst is None:
            out.append(Mismatch(setl_id, "missing_at_institution",
                                f"the centre has this {node.kind.value}; the institution did "
                                "not declare it", None, node))
        else:
            problems = _differences(inst, node)
            if problems:
                out.append(Mismatch(setl_id, "differs", f"{', '.join(problems)} differ", inst,
                                    node))
    out.sort(key=lambda m: _ORDER[m.problem])
    by_problem = {k: sum(m.problem == k for m in out)
                  for k in ("missing_at_node", "missing_at_institution", "differs")}
    return DetailResult(out, len(declared), len(found), totals_of(found), by_problem)


def _differences(inst: Declared, node: SettlementRecord) -> list[str]:
    own = node.amounts.as_dict()
    problems = [k for k in DETAIL_AMOUNTS if inst.amounts[k] != own[k]]
    if inst.refund != (node.kind is SettlementKind.CANCEL):
        problems.append("refund")
    if inst.visit_id != node.visit_id:
        problems.append("visit_id")
    if inst.person_id != node.person_id:
        problems.append("person_id")
    return problems


def save_report(tx: UnitOfWork, day: date, institution: str, balanced: bool,
                report: dict[str, Any], now: datetime) -> None:
    """Keep a reconciliation report of an institution (in the transaction that keeps the
    message's answer: a retry after a crash writes it once)."""
    tx.add("reconciliation_reports", {"day": day, "scope": "institution",
                                      "counterpart": institution, "balanced": balanced,
                                      "report": report, "created_at": now})
