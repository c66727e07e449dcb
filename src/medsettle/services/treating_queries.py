"""The treating place's read-only queries (5201, 5203, 5204, 5205): an institution sees its own
visits, settlements and fee lines of a person, nothing else."""

from __future__ import annotations

from medsettle.core.records import Role, SettlementRecord, StoredLine, TreatedVisit
from medsettle.services import commands as c
from medsettle.services.treating import Treating, own_visit


def settlements_of(t: Treating, query: c.SettlementsQuery) -> list[SettlementRecord]:
    """5203: this institution's settlement records of a person (by settlement or visit)."""
    keys = ({"settlement_id": query.settlement_id} if query.settlement_id
            else {"visit_id": query.visit_id})
    with t.db.tx() as tx:
        found = tx.settlements(Role.TREATING, **keys)
    return [s for s in found if s.person_id == query.person_id
            and s.institution == query.origin.institution]


def fee_lines_of(t: Treating, query: c.SettlementsQuery) -> list[StoredLine]:
    """5204: the fee details of a visit or settlement of this institution."""
    keys = ({"settlement_id": query.settlement_id} if query.settlement_id
            else {"visit_id": query.visit_id})
    with t.db.tx() as tx:
        lines = tx.fee_lines(**keys)
        if lines:
            own_visit(tx, c.VisitRef(query.origin, lines[0].visit_id, query.person_id))
    return lines


def visits_of(t: Treating, query: c.VisitsQuery) -> list[TreatedVisit]:
    """5201 (visits) and 5205 (chronic visits) of a person at this institution in a period."""
    with t.db.tx() as tx:
        found = tx.treated_visits(person_id=query.person_id)
    return [v for v in found if v.institution == query.origin.institution
            and (query.begins is None or v.begins >= query.begins)
            and (query.ends is None or v.begins <= query.ends)
            and (not query.chronic_only or v.visit_type == "chronic")]
