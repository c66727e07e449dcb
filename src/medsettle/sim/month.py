"""A simulated month of cross-province settlements as typed records, for supervision's quality
benchmark and tests: settlement records and fee lines (core.records), the facts the rules need
(admission, discharge, diagnosis, sex, age, level), the 90 days before for history, filing
events and each institution's fund payments of the three months before.

Normal behaviour only; `sim.fraud` injects the patterns of R01–R12 at chosen rates and records
the ground truth. Deterministic for a seed; amounts are exact fen. Figures are illustrative [I].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from medsettle.core.benefits import Amounts
from medsettle.core.clearing import YearMonth
from medsettle.core.money import apply_ratio, price_times_count
from medsettle.core.records import (
    Role,
    SettlementKind,
    SettlementRecord,
    SettlementStatus,
    StoredLine,
)
from medsettle.core.supervision.facts import Claim, FilingEvent, claim_of, line_of
from medsettle.sim.catalogue import _national_drugs
from medsettle.sim.catalogue_data import (
    WELL_KNOWN_SERVICES,
)

TREATING = ("110000", "310000", "330000", "440000")
INSURED = ("130000", "340000", "360000", "410000", "420000", "430000", "450000", "500000",
           "610000", "620000")
#: Extra service codes for R03/R04 (debridement, anaesthesia), as in the shipped thresholds.
DEBRIDE_BIG, DEBRIDE_SMALL = "003111000520000", "003111000510000"
ANAESTHESIA_LOCAL = "003301000010000"
EXTRA_ITEMS = ((DEBRIDE_BIG, "清创缝合(大)", "05", "220.00"),
               (DEBRIDE_SMALL, "清创缝合(小)", "05", "80.00"),
               (ANAESTHESIA_LOCAL, "局部浸润麻醉", "06", "30.00"))
COUNTS = {n: Decimal(n) for n in ("0.5", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10",
                                  "12", "14")}


@dataclass(frozen=True, slots=True)
class Item:
    """A catalogue entry as the generator uses it."""

    code: str
    name: str
    kind: str  # med_chrgitm_type
    price: Decimal
    cls: str
    selfpay: Decimal
    cap: Decimal | None
    restriction: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Facts:
    """What a settlement record does not carry and the rules need."""

    begins: date
    ends: date
    level: str
    diagnosis: str
    gender: str
    age: int


@dataclass
class SimMonth:
    """A month of records with their facts, history and ground truth."""

    month: YearMonth
    records: list[SettlementRecord]
    lines: dict[str, list[StoredLine]]  # by settlement id
    facts: dict[str, Facts]
    history: list[Claim]
    filings: list[FilingEvent]
    fund_by_month: dict[str, list[int]]  # the three months before, filled in by `close`
    kinds: dict[str, str]
    restrictions: dict[str, dict[str, Any]]
    institutions: dict[str, tuple[str, str]]  # code → (region, level)
    truth: dict[str, set[str]] = field(default_factory=dict)  # rule → keys injected
    people: dict[str, tuple[str, int]] = field(default_factory=dict)  # person → (sex, age)
    touched: set[str] = field(default_factory=set)  # settlements any pattern made or changed
    maker: Any = None  # the visit maker (sim.month_visits.Visits), for sim.fraud

    def claims(self) -> list[Claim]:
        """The month's records as claims (as a node's batch would read them)."""
        out = []
        for record in self.records:
            f = self.facts[record.settlement_id]
            lines = [line_of(s, self.kinds) for s in self.lines.get(record.settlement_id, ())]
            out.append(claim_of(record, lines, begins=f.begins, ends=f.ends, level=f.level,
                                diagnosis=f.diagnosis, gender=f.gender, age=f.age))
        return out


class Catalogue:
    """Items by role, from the simulator's national drug list and well-known services."""

    def __init__(self) -> None:
        items: list[Item] = []
        for row, price in _national_drugs():
            items.append(Item(row["code"], row["name"], row["med_chrgitm_type"],
                              Decimal(price), {"01": "A", "02": "B", "03": "C"}[row["chrgitm_lv"]],
                              Decimal(row["selfpay_prop"]),
                              Decimal(row["lmt_pric"]) if row["lmt_pric"] else None,
                              row["restriction"]))
        for s in WELL_KNOWN_SERVICES:
            items.append(Item(f"00{s.number}0000", s.name, s.med_chrgitm_type,
                              Decimal(f"{(s.low + s.high) // 2}.00"),
                              {"01": "A", "02": "B", "03": "C"}[s.lv], Decimal("0.10")
                              if s.lv == "02" else Decimal(0), None,
                              dict(s.restriction) if s.restriction else None))
        for code, name, kind, price in EXTRA_ITEMS:
            items.append(Item(code, name, kind, Decimal(price), "A", Decimal(0), None, None))
        self.by_code = {i.code: i for i in items}
        plain = [i for i in items if i.restriction is None]
        self.drugs = [i for i in plain if i.kind in ("09", "11") and i.cls != "C"]
        self.labs = [i for i in plain if i.kind == "04" and not i.code.startswith("0025030")]
        self.exams = [i for i in plain if i.kind == "03"]
        self.treatments = [i for i in plain if i.kind == "05" and i.code not in
                           (DEBRIDE_BIG, DEBRIDE_SMALL) and "透析" not in i.name]
        self.consumable = Item("C0101000000000000001", "一次性输液器", "08", Decimal("12.00"), "B",
                               Decimal("0.10"), None, None)
        self.by_code[self.consumable.code] = self.consumable
        self.restricted = {i.code: i for i in items if i.restriction}
        self.capped = [i for i in self.drugs if i.cap is not None]
        by_name = {i.name: i for i in items}
        self.bed, self.ipt_exam = by_name["普通病房床位费"], by_name["住院诊查费"]
        self.nursing, self.otp_exam = by_name["Ⅱ级护理"], by_name["普通门诊诊查费"]
        self.anaesthesia = self.by_code[ANAESTHESIA_LOCAL]
        self.chronic = [i for i in self.drugs if i.code[:12] in CHRONIC_GENERICS]

    def kinds(self) -> dict[str, str]:
        """code → med_chrgitm_type."""
        return {code: i.kind for code, i in self.by_code.items()}


CHRONIC_GENERICS = ("XC08CAD026A0", "XC09CAD028B0", "XA10BAD032A0", "XC10AAD062A0",
                    "XB01ACD061A0", "XC07ABD030A0")


class Builder:
    """Makes settlement records and lines with exact amounts."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.cat = catalogue
        self.serial = 0

    def next_id(self) -> str:
        self.serial += 1
        return f"SIM{self.serial:09d}"

    def line(self, sid: str, n: int, item: Item, count: Decimal, day: date,
             price: Decimal | None = None, honest_cap: bool = True) -> StoredLine:
        """A classified line; `honest_cap` False bills the excess over the cap in scope (R12)."""
        price = price or item.price
        amount = price_times_count(price, count)
        capped = item.cap is not None and price > item.cap and item.cls in ("A", "B")
        allowed = price_times_count(item.cap, count) if capped and item.cap else amount
        over = amount - allowed if honest_cap else 0
        allowed = amount - over
        full = amount if item.cls == "C" else 0
        pre = apply_ratio(allowed, item.selfpay) if item.cls == "B" else 0
        in_scope = 0 if item.cls == "C" else allowed - pre
        return StoredLine(
            visit_id=sid, serial=f"{n:04d}", batch="1", code=item.code, hospital_code=item.code,
            name=item.name, price=price, count=count, cls=item.cls,
            level={"A": "01", "B": "02", "C": "03"}[item.cls], selfpay_prop=item.selfpay,
            cap_price=item.cap, restricted_ok=True, amount=amount, full_self_paid=full,
            over_cap=0 if item.cls == "C" else over, preselfpay=pre, in_scope=in_scope,
            occurred_at=datetime.combine(day, time(10)), settlement_id=sid)

    def record(self, sid: str, person: str, insured: str, institution: str, treating: str,
               visit_type: str, settled: date, lines: list[StoredLine]) -> SettlementRecord:
        """A settlement record whose amounts follow the lines (deductible, 70–85% ratio)."""
        medfee = sum(x.amount for x in lines)
        full = sum(x.full_self_paid for x in lines)
        over = sum(x.over_cap for x in lines)
        pre = sum(x.preselfpay for x in lines)
        inscp = sum(x.in_scope for x in lines)
        dedc = min(inscp, 80000 if visit_type == "inpatient" else 0)
        hifp = apply_ratio(inscp - dedc, Decimal("0.80") if visit_type == "inpatient"
                           else Decimal("0.70"))
        psn = medfee - hifp
        amounts = Amounts(medfee, full, over, pre, inscp, dedc, hifp, inscp - dedc - hifp, 0,
                          0, 0, 0, hifp, psn, 0, psn)
        at = datetime.combine(settled, time(12), tzinfo=UTC)
        return SettlementRecord(
            settlement_id=sid, role=Role.INSURED, kind=SettlementKind.SETTLE,
            status=SettlementStatus.SETTLED, visit_id=sid, person_id=person,
            insured_region=insured, treating_region=treating, institution=institution,
            med_type={"inpatient": "21", "outpatient": "11", "chronic": "14"}[visit_type],
            visit_type=visit_type, insutype="310", settled_at=at, medical_year=str(settled.year),
            amounts=amounts, msgid=sid)
