"""Two reads a province answers for another through the hub, for the insured person's app:

- `institutions` (定点机构查询): "where can I settle directly?" The treating province lists its
  networked institutions that are not suspended, by city, name, level and service (inpatient,
  general outpatient, an opened outpatient chronic disease). It carries no personal data and
  any province may ask it of any other.
- `settlement_lines`: the fee lines of one settlement, as the treating place classified them
  (class, amounts, reason), and the institution's name, asked by the insured place of the
  person, which owns the settlement but not its bill. Only the settlement's insured province
  may ask (Forbidden otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medsettle.core import codes
from medsettle.core.errors import Forbidden, InvalidInput, NotFound
from medsettle.core.records import Role
from medsettle.services.console import line_reason
from medsettle.services.ports import UnitOfWork

SERVICES = ("inpatient", "outpatient")
LEVELS = ("L0", "L1", "L2", "L3")
MAX_RESULTS = 50


@dataclass(frozen=True)
class FindInstitutions:
    """Which networked institutions of the treating province fit: `city` a region code (a
    prefecture XXXX00 matches its districts), `name` a part of the name, `level` L0–L3,
    `service` inpatient, outpatient or a chronic disease code (M + 5 digits); "" = any.
    `codes` names institutions (to show their names), suspended or not."""

    city: str = ""
    name: str = ""
    level: str = ""
    service: str = ""
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Institution:
    """One designated institution open for cross-province direct settlement."""

    code: str
    name: str
    admdvs: str
    level: str
    hosp_lv: str
    services: tuple[str, ...] = ()
    chronic: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstitutionsFound:
    """The institutions that fit (at most MAX_RESULTS, by level then name) and how many fit."""

    total: int
    institutions: tuple[Institution, ...] = ()


@dataclass(frozen=True)
class SettlementLinesQuery:
    """The fee lines of settlement `settlement_id` of person `person_id`."""

    settlement_id: str
    person_id: str


@dataclass(frozen=True)
class BillLine:
    """One fee line as the treating place's catalogue classified it (amounts in fen)."""

    serial: str
    code: str
    name: str
    cls: str
    price: str
    count: str
    amount: int
    full_self_paid: int
    over_cap: int
    preselfpay: int
    in_scope: int
    reason: str


@dataclass(frozen=True)
class SettlementLines:
    """The bill of one settlement and where it was treated."""

    settlement_id: str
    institution: str
    institution_name: str = ""
    level: str = ""
    lines: tuple[BillLine, ...] = ()


def check_query(query: FindInstitutions) -> FindInstitutions:
    """The query, or InvalidInput naming its bad field."""
    if query.city:
        codes.validate_admdvs(query.city, "city")
    if query.level and query.level not in LEVELS:
        raise InvalidInput("level", f"must be one of {', '.join(LEVELS)}")
    if query.service and query.service not in SERVICES:
        codes.validate_chronic_disease_code(query.service, "service")
    if len(query.name) > 40:
        raise InvalidInput("name", "at most 40 characters")
    if len(query.codes) > MAX_RESULTS:
        raise InvalidInput("codes", f"at most {MAX_RESULTS} institution codes")
    return query


def _city_matches(city: str, admdvs: str) -> bool:
    if not city:
        return True
    if city.endswith("0000"):
        return admdvs[:2] == city[:2]
    if city.endswith("00"):
        return admdvs[:4] == city[:4]
    return admdvs == city


def _services(row: Any) -> tuple[str, ...]:
    kept = row.services
    return tuple(kept) if isinstance(kept, list) else SERVICES


def find_institutions(tx: UnitOfWork, query: FindInstitutions) -> InstitutionsFound:
    """The treating province's networked, not suspended institutions that fit `query`."""
    check_query(query)
    found = []
    for row in tx.rows("institutions"):
        services = _services(row)
        chronic = tuple(row.chronic_opened or ())
        if query.codes:
            if row.fixmedins_code not in query.codes:
                continue
        elif row.suspended or not row.networked or not _city_matches(query.city, row.admdvs):
            continue
        if query.level and row.level != query.level:
            continue
        if query.name and query.name.casefold() not in row.name.casefold():
            continue
        if query.service and query.service not in services + chronic:
            continue
        found.append(Institution(row.fixmedins_code, row.name, row.admdvs, row.level,
                                 row.hosp_lv, services, chronic))
    found.sort(key=lambda i: (-LEVELS.index(i.level) if i.level in LEVELS else 0, i.name))
    return InstitutionsFound(len(found), tuple(found[:MAX_RESULTS]))


def settlement_lines(tx: UnitOfWork, query: SettlementLinesQuery,
                     caller: str) -> SettlementLines:
    """The treating place's bill of a settlement, for the insured province of its person."""
    record = tx.settlement(query.settlement_id, Role.TREATING)
    if record is None or record.person_id != query.person_id:
        raise NotFound(f"settlement {query.settlement_id} was not made here for this person")
    if record.insured_region[:2] != caller[:2]:
        raise Forbidden(f"settlement {query.settlement_id} is not of a person insured in "
                        f"province {caller}")
    institution = tx.one("institutions", fixmedins_code=record.institution)
    lines = []
    billed = (tx.fee_lines(visit_id=record.visit_id, settlement_id=record.settlement_id)
              or tx.fee_lines(visit_id=record.visit_id))  # a cancelled settlement's lines
    for line in billed:
        doc = {"cls": line.cls, "over_amt": line.over_cap, "full_amt": line.full_self_paid,
               "inscp_amt": line.in_scope}
        lines.append(BillLine(line.serial, line.code, line.name or line.code, line.cls,
                              str(line.price), str(line.count), line.amount,
                              line.full_self_paid, line.over_cap, line.preselfpay,
                              line.in_scope, line_reason(doc)))
    return SettlementLines(record.settlement_id, record.institution,
                           institution.name if institution is not None else "",
                           institution.level if institution is not None else "",
                           tuple(lines))
