"""What the rules look at: claims (a settled visit with its fee lines) and filing events.

A `Claim` is built from what a node stores (core.records.SettlementRecord and StoredLine) or,
in real time, from the lines the treating place sent; the rules never see a database row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from medsettle.core.records import SettlementKind, SettlementRecord, StoredLine

#: med_chrgitm_type (domain.md §7): 01 床位, 02 诊察, 03 检查, 04 化验, 05 治疗, 06 手术,
#: 07 护理, 08 卫材, 09 西药, 10 饮片, 11 中成药, 12 一般诊疗, 13 挂号, 14 其他.
DRUG_KINDS = frozenset({"09", "10", "11"})
EXAM_KINDS = frozenset({"03", "04"})
CONSUMABLE_KINDS = frozenset({"08"})


@dataclass(frozen=True, slots=True)
class Line:
    """One fee line as the rules see it (amounts in fen; price and count exact decimals)."""

    serial: str
    code: str
    kind: str  # med_chrgitm_type, "" when unknown
    day: date | None
    count: Decimal
    price: Decimal
    amount: int
    in_scope: int = 0
    over_cap: int = 0
    cap_price: Decimal | None = None
    cls: str = "A"
    restricted_ok: bool = True

    @property
    def drug(self) -> bool:
        """西药, 饮片 or 中成药 (or a drug code when the kind is unknown)."""
        return self.kind in DRUG_KINDS or (not self.kind and self.code[:1] in ("X", "Z"))


@dataclass(frozen=True, slots=True)
class Claim:
    """One settled visit: who, where, when, how much, and its lines."""

    settlement_id: str
    person_id: str
    insured_region: str
    treating_region: str
    institution: str
    visit_type: str  # inpatient | outpatient | chronic
    settled_on: date
    begins: date
    ends: date
    medfee: int
    fund: int
    lines: tuple[Line, ...] = ()
    level: str = ""
    diagnosis: str = ""  # principal diagnosis (ICD-10), "" when not known
    gender: str = ""  # 1 male, 2 female
    age: int | None = None
    disease: str | None = None  # chronic disease code of a chronic visit

    @property
    def days(self) -> int:
        """Days of the stay, counting admission and discharge day as one each (≥ 1)."""
        return max(1, (self.ends - self.begins).days + 1)


@dataclass(frozen=True, slots=True)
class FilingEvent:
    """A filing (备案) made, changed or cancelled by a person on a day."""

    person_id: str
    on: date
    kind: str  # filed | changed | cancelled
    filing_no: str = ""


def line_of(stored: StoredLine, kinds: Mapping[str, str]) -> Line:
    """A rule line from a line the treating place keeps; `kinds` maps codes to
    med_chrgitm_type (the catalogue's)."""
    return Line(serial=stored.serial, code=stored.code, kind=kinds.get(stored.code, ""),
                day=stored.occurred_at.date(), count=stored.count, price=stored.price,
                amount=stored.amount, in_scope=stored.in_scope, over_cap=stored.over_cap,
                cap_price=stored.cap_price, cls=stored.cls, restricted_ok=stored.restricted_ok)


def claim_of(record: SettlementRecord, lines: Iterable[Line], *, begins: date, ends: date,
             level: str = "", diagnosis: str = "", gender: str = "", age: int | None = None,
             disease: str | None = None) -> Claim:
    """A claim from a settlement record (a settle, not a cancel) and its lines."""
    if record.kind is not SettlementKind.SETTLE:
        raise ValueError(f"{record.settlement_id} is a cancel record, not a settlement")
    settled_on = record.settled_at.date()
    return Claim(settlement_id=record.settlement_id, person_id=record.person_id,
                 insured_region=record.insured_region, treating_region=record.treating_region,
                 institution=record.institution, visit_type=record.visit_type,
                 settled_on=settled_on, begins=begins, ends=ends,
                 medfee=record.amounts.medfee_sumamt, fund=record.amounts.fund_pay_sumamt,
                 lines=tuple(lines), level=level, diagnosis=diagnosis, gender=gender, age=age,
                 disease=disease)


def by_person(claims: Sequence[Claim]) -> dict[str, list[Claim]]:
    """Claims grouped by person, each group in the order of admission (then settlement)."""
    groups: dict[str, list[Claim]] = {}
    for claim in claims:
        groups.setdefault(claim.person_id, []).append(claim)
    for group in groups.values():
        group.sort(key=lambda c: (c.begins, c.settled_on, c.settlement_id))
    return groups


#: med_chrgitm_type of a national service code by the start of its 9-digit pricing number
#: (价格项目规范: 1102 诊查, 1109/1110 床位, 1201 护理, 21/22/3107 检查, 25 化验, 33 手术).
_SERVICE_KINDS = (("1101", "13"), ("1102", "02"), ("1109", "01"), ("1110", "01"),
                  ("1201", "07"), ("3107", "03"), ("21", "03"), ("22", "03"), ("25", "04"),
                  ("33", "06"), ("31", "05"), ("12", "05"))


def kind_of_code(code: str) -> str:
    """The med_chrgitm_type a national code implies when no catalogue says: drugs 09/11,
    consumables 08, services by their pricing number; "" when it cannot tell."""
    if code[:1] == "X":
        return "09"
    if code[:1] == "Z":
        return "11"
    if code[:1] == "C":
        return "08"
    if len(code) == 15 and code.isascii() and code.isdigit():
        number = code[2:11]
        return next((kind for prefix, kind in _SERVICE_KINDS if number.startswith(prefix)), "")
    return ""
