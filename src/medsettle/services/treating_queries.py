"""The treating place's read-only queries (5201, 5203, 5204, 5205, 5261, 5262): an institution
sees its own visits, settlements and fee lines of a person, nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from medsettle.core.errors import InvalidInput, NotFound
from medsettle.core.records import (
    Role,
    SettlementKind,
    SettlementRecord,
    StoredLine,
    TreatedVisit,
)
from medsettle.services import commands as c
from medsettle.services import exchange as x
from medsettle.services.ports import UnitOfWork
from medsettle.services.treating import Classified, Treating, own_visit


@dataclass(frozen=True)
class SettlementFound:
    """A settlement record with what its answer names: the visit (and the person as the insured
    place reported them), the institution, and, when asked for, its fee lines."""

    record: SettlementRecord
    visit: TreatedVisit
    institution_name: str
    hosp_lv: str
    lines: tuple[Classified, ...] = ()


def settlements_of(t: Treating, query: c.SettlementsQuery) -> list[SettlementFound]:
    """5261: this institution's settlement records of a person (settlements and cancels), by
    settlement, by visit or all of them, oldest first; another institution's never appear."""
    with t.db.tx() as tx:
        keys: dict[str, object] = {"person_id": query.person_id}
        if query.settlement_id:
            keys["settlement_id"] = query.settlement_id
        if query.visit_id:
            keys["visit_id"] = query.visit_id
        found = [s for s in tx.settlements(Role.TREATING, **keys)
                 if s.institution == query.origin.institution
                 and _within(s.settled_at, query.begins, query.ends)]
        return [_found(t, tx, s, query, with_lines=False) for s in found]


def settlement_of(t: Treating, query: c.SettlementsQuery, *, with_lines: bool = False
                  ) -> SettlementFound:
    """5203 (and 5262 `with_lines`): one settlement of this institution: the one named by
    setl_id, else the visit's latest settlement."""
    with t.db.tx() as tx:
        record = _one_settlement(tx, query)
        return _found(t, tx, record, query, with_lines=with_lines)


def _within(moment: datetime, begins: datetime | None, ends: datetime | None) -> bool:
    return (begins is None or moment >= begins) and (ends is None or moment <= ends)


def _one_settlement(tx: UnitOfWork, query: c.SettlementsQuery) -> SettlementRecord:
    mine = query.origin.institution
    if query.settlement_id:
        record = tx.settlement(query.settlement_id, Role.TREATING)
        if record is None or record.institution != mine or record.person_id != query.person_id:
            raise NotFound(f"settlement {query.settlement_id} is not a settlement of "
                           f"{query.person_id} at {mine}", field="settlement_id")
        if query.visit_id and record.visit_id != query.visit_id:
            raise InvalidInput("visit_id", f"settlement {query.settlement_id} is of visit "
                                           f"{record.visit_id}, not {query.visit_id}")
        return record
    settled = [s for s in tx.settlements(Role.TREATING, visit_id=query.visit_id)
               if s.kind is SettlementKind.SETTLE and s.institution == mine
               and s.person_id == query.person_id]
    if not settled:
        raise NotFound(f"visit {query.visit_id} has no settlement of {query.person_id} at "
                       f"{mine}", field="visit_id")
    return settled[-1]


def _found(t: Treating, tx: UnitOfWork, record: SettlementRecord, query: c.SettlementsQuery,
           *, with_lines: bool) -> SettlementFound:
    visit = own_visit(tx, c.VisitRef(query.origin, record.visit_id, query.person_id))
    inst = tx.one("institutions", fixmedins_code=record.institution)
    lines: tuple[Classified, ...] = ()
    if with_lines:
        settled_lines = tx.fee_lines(settlement_id=record.cancels or record.settlement_id)
        lines = tuple(Classified(line, _charge_type(t, line)) for line in settled_lines)
    return SettlementFound(record, visit, inst.name if inst else "", inst.hosp_lv if inst else "",
                           lines)


def _charge_type(t: Treating, line: StoredLine) -> str:
    """The line's charge category (医疗收费项目类别) in the catalogue of its day; 14 other."""
    entry = t.catalogue.entry(line.code, line.occurred_at.date())
    return entry.med_chrgitm_type if entry and entry.med_chrgitm_type else "14"


def fee_lines_of(t: Treating, query: c.SettlementsQuery) -> list[Classified]:
    """5204: the fee details of a visit or settlement of this institution."""
    keys = ({"settlement_id": query.settlement_id} if query.settlement_id
            else {"visit_id": query.visit_id})
    with t.db.tx() as tx:
        lines = tx.fee_lines(**keys)
        if lines:
            own_visit(tx, c.VisitRef(query.origin, lines[0].visit_id, query.person_id))
    return [Classified(line, _charge_type(t, line)) for line in lines]


def accumulations_of(t: Treating, origin: c.Origin, insured_region: str, person_id: str
                     ) -> x.AccumulatorsOfYear:
    """5206: the person's accumulators of the year, asked of the insured place, for a patient
    of the sending institution only (a visit of the person there, in any state): another
    hospital of the province does not learn what a person spent elsewhere."""
    with t.db.read() as tx:
        seen = tx.treated_visits(person_id=person_id, institution=origin.institution)
    if not seen:
        raise NotFound(f"person {person_id} has no visit at {origin.institution}: 5206 answers "
                       "for the institution's own patients")
    answer: x.AccumulatorsOfYear = t.insured.call(insured_region, "accumulations", "",
                                                  x.Accumulations(person_id))
    return answer


def visits_of(t: Treating, query: c.VisitsQuery) -> list[TreatedVisit]:
    """5201 (visits) and 5205 (chronic visits) of a person at this institution in a period."""
    with t.db.tx() as tx:
        found = tx.treated_visits(person_id=query.person_id)
    return [v for v in found if v.institution == query.origin.institution
            and _within(v.begins, query.begins, query.ends)
            and (not query.chronic_only or v.visit_type == "chronic")]
