"""The normal visits of a simulated month (sim.month): outpatient, chronic and inpatient claims
with realistic lines, the 90 days of history before, filing events and the fund payments of the
three months before (drawn by the same process as the month, so R09 sees natural variance)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from medsettle.core.clearing import YearMonth
from medsettle.core.records import StoredLine
from medsettle.core.supervision.facts import Claim, FilingEvent
from medsettle.sim.catalogue_data import INPATIENT_DIAGNOSES, OUTPATIENT_DIAGNOSES
from medsettle.sim.month import (
    ANAESTHESIA_LOCAL,
    COUNTS,
    DEBRIDE_BIG,
    DEBRIDE_SMALL,
    INSURED,
    TREATING,
    Builder,
    Catalogue,
    Facts,
    SimMonth,
)

if TYPE_CHECKING:
    from medsettle.sim.month import Item

INPATIENT, CHRONIC = 0.09, 0.11


class Visits:
    """Fills a SimMonth with normal visits."""

    def __init__(self, sim: SimMonth, cat: Catalogue, b: Builder, rng: random.Random) -> None:
        self.sim, self.cat, self.b, self.rng = sim, cat, b, rng
        self.first, end = date(sim.month.year, sim.month.month, 1), sim.month.shift(1)
        self.last = date(end.year, end.month, 1) - timedelta(days=1)
        codes = sorted(sim.institutions)
        self.insts = codes
        self.weights = [rng.paretovariate(1.3) for _ in codes]
        self.style = {c: rng.uniform(0.8, 1.25) for c in codes}  # drugs per visit, by habit
        self.dispensed: dict[tuple[str, str], list[date]] = {}  # (person, generic) → days

    def person(self, k: int) -> tuple[str, str]:
        """A person id and their insured region."""
        return f"P{k:07d}", INSURED[k % len(INSURED)][:2] + "0100"

    def fill(self, n: int) -> None:
        rng = self.rng
        chronic_people = int(n * CHRONIC) + 1  # P0…: one dispensing a month each
        inpatients = chronic_people + int(n * INPATIENT * 30)  # then people with stays
        persons = inpatients + int(n * 2.5)  # then outpatients, most of them once
        for k in range(persons):
            self.sim.people[self.person(k)[0]] = (rng.choice("12"), rng.randint(18, 85))
        funds: dict[str, list[list[int]]] = {c: [[], [], []] for c in self.insts}
        picks = rng.choices(self.insts, self.weights, k=n)
        chronic_next = 0
        for institution in picks:
            kind = rng.random()
            if kind < INPATIENT:
                pid, insured = self.person(rng.randrange(chronic_people, inpatients))
                self.inpatient(pid, insured, institution, self.day())
            elif kind < INPATIENT + CHRONIC and chronic_next < chronic_people:
                pid, insured = self.person(chronic_next)
                chronic_next += 1
                self.chronic(pid, insured, institution, self.day())
            else:
                pid, insured = self.person(self.home(institution, inpatients, persons))
                self.outpatient(pid, insured, institution, self.day())
            record = self.sim.records[-1]
            funds[institution][("inpatient", "chronic", "outpatient").index(
                record.visit_type)].append(record.amounts.fund_pay_sumamt)
        self.ranges = (chronic_people, inpatients, persons)
        self._history(n, inpatients, chronic_people)
        self._filings(persons)
        self._baselines(funds, picks)

    def home(self, institution: str, first: int, end: int) -> int:
        """A person of [first, end) who lives where the institution is: travellers are treated
        in the province of their filing, so one person's visits of a day are in one province."""
        provinces = sorted({code[1:3] for code in self.insts})
        where = provinces.index(institution[1:3])
        k = self.rng.randrange(first, end)
        return k - (k % len(provinces)) + where if k - (k % len(provinces)) + where < end \
            else k - (k % len(provinces)) - len(provinces) + where

    def day(self) -> date:
        return self.first + timedelta(days=self.rng.randrange((self.last - self.first).days + 1))

    def facts(self, pid: str, begins: date, ends: date, institution: str, dx: str) -> Facts:
        sex, age = self.sim.people.get(pid, ("1", 40))
        return Facts(begins, ends, self.sim.institutions[institution][1], dx, sex, age)

    def add(self, pid: str, insured: str, institution: str, visit_type: str, begins: date,
            ends: date, lines: list[StoredLine], dx: str, sid: str) -> str:
        region = self.sim.institutions[institution][0]
        self.sim.records.append(self.b.record(sid, pid, insured, institution, region, visit_type,
                                              ends, lines))
        self.sim.lines[sid] = lines
        self.sim.facts[sid] = self.facts(pid, begins, ends, institution, dx)
        return sid

    def _drug_count(self, institution: str) -> Decimal:
        return COUNTS[self.rng.choice(("1", "1", "2", "2", "3"))]

    def outpatient(self, pid: str, insured: str, institution: str, day: date) -> str:
        rng, cat, sid = self.rng, self.cat, self.b.next_id()
        lines = [self.b.line(sid, 1, cat.otp_exam, COUNTS["1"], day)]
        extra = rng.randint(1, 4)
        generics: set[str] = set()
        while len(lines) <= extra:
            roll = rng.random() / self.style[institution]
            if roll < 0.5:
                drug = rng.choice(cat.drugs)
                if drug.code[:12] in generics or drug.code[:12] in _STANDARD_GENERICS or (
                        self._recently(pid, drug.code[:12], day)):
                    continue
                generics.add(drug.code[:12])
                self.dispensed.setdefault((pid, drug.code[:12]), []).append(day)
                lines.append(self._drug(sid, len(lines) + 1, drug, self._drug_count(institution),
                                        day))
            elif roll < 0.8:
                lines.append(self.b.line(sid, len(lines) + 1, rng.choice(cat.labs), COUNTS["1"],
                                         day))
            elif roll < 0.92:
                lines.append(self.b.line(sid, len(lines) + 1, rng.choice(cat.exams),
                                         COUNTS["1"], day))
            else:
                lines.append(self.b.line(sid, len(lines) + 1, rng.choice(cat.treatments),
                                         COUNTS["1"], day))
        wound = rng.random()
        if wound < 0.02:  # a large debridement comes with its anaesthesia
            for item in (cat.by_code[DEBRIDE_BIG], cat.by_code[ANAESTHESIA_LOCAL]):
                lines.append(self.b.line(sid, len(lines) + 1, item, COUNTS["1"], day))
        elif wound < 0.05:
            lines.append(self.b.line(sid, len(lines) + 1, cat.by_code[DEBRIDE_SMALL],
                                     COUNTS["1"], day))
        return self.add(pid, insured, institution, "outpatient", day, day, lines,
                        rng.choice(OUTPATIENT_DIAGNOSES), sid)

    def _recently(self, pid: str, generic: str, day: date) -> bool:
        """A doctor does not prescribe a drug the patient still has (within 30 days)."""
        return any(abs((day - other).days) < 30
                   for other in self.dispensed.get((pid, generic), ()))

    def _drug(self, sid: str, n: int, drug: Item, count: Decimal, day: date) -> StoredLine:
        """A drug line; a capped drug is now and then priced above its cap (set apart)."""
        price = drug.price
        if drug.cap is not None and self.rng.random() < 0.25:
            price = (drug.cap * Decimal(self.rng.randint(105, 140)) / 100).quantize(
                Decimal("0.01"))
        return self.b.line(sid, n, drug, count, day, price)

    def chronic(self, pid: str, insured: str, institution: str, day: date) -> str:
        sid = self.b.next_id()
        drug = self.cat.chronic[int(pid[1:]) % len(self.cat.chronic)]
        lines = [self.b.line(sid, 1, self.cat.otp_exam, COUNTS["1"], day),
                 self.b.line(sid, 2, drug, COUNTS["4"], day)]
        return self.add(pid, insured, institution, "chronic", day, day, lines, "I10", sid)

    def inpatient(self, pid: str, insured: str, institution: str, ends: date) -> str:
        rng, cat, sid = self.rng, self.cat, self.b.next_id()
        days = rng.randint(3, 10)
        begins = ends - timedelta(days=days - 1)
        idle = rng.choice((0, 0, 0, 1, 2))  # a day or two of rest before discharge
        lines: list[StoredLine] = []
        generics: set[str] = set()
        for k in range(days):
            day = begins + timedelta(days=k)
            for item in (cat.bed, cat.ipt_exam, cat.nursing):
                lines.append(self.b.line(sid, len(lines) + 1, item, COUNTS["1"], day))
            if k >= days - idle and k > 0:
                continue
            for _ in range(rng.randint(1, 3)):
                drug = rng.choice(cat.drugs)
                if drug.code[:12] in _STANDARD_GENERICS:
                    continue
                generics.add(drug.code[:12])
                lines.append(self._drug(sid, len(lines) + 1, drug, COUNTS["1"], day))
            if rng.random() < 0.5:
                lines.append(self.b.line(sid, len(lines) + 1, rng.choice(cat.labs),
                                         COUNTS["1"], day))
            if rng.random() < 0.3:
                lines.append(self.b.line(sid, len(lines) + 1, cat.consumable, COUNTS["2"], day))
            if rng.random() < 0.15:
                lines.append(self.b.line(sid, len(lines) + 1, rng.choice(cat.exams),
                                         COUNTS["1"], day))
        return self.add(pid, insured, institution, "inpatient", begins, ends, lines,
                        rng.choice(INPATIENT_DIAGNOSES), sid)

    def _history(self, n: int, persons: int, chronic_people: int) -> None:
        """Inpatient stays of the 90 days before (no lines: census and readmissions) and the
        previous dispensing of each chronic patient who comes this month."""
        rng = self.rng
        per_day = n * INPATIENT / 30
        for back in range(1, 91):
            ends = self.first - timedelta(days=back)
            for _ in range(int(per_day) + (1 if rng.random() < per_day % 1 else 0)):
                institution = rng.choices(self.insts, self.weights)[0]
                pid, insured = self.person(rng.randrange(chronic_people, persons))
                days = rng.randint(3, 10)
                self.sim.history.append(Claim(
                    settlement_id=f"HIST{len(self.sim.history):08d}", person_id=pid,
                    insured_region=insured,
                    treating_region=self.sim.institutions[institution][0],
                    institution=institution, visit_type="inpatient", settled_on=ends,
                    begins=ends - timedelta(days=days - 1), ends=ends, medfee=0, fund=0,
                    level=self.sim.institutions[institution][1],
                    diagnosis=rng.choice(INPATIENT_DIAGNOSES)))
        from medsettle.core.supervision.facts import line_of
        for record in list(self.sim.records):
            if record.visit_type != "chronic":
                continue
            f = self.sim.facts[record.settlement_id]
            before = f.begins - timedelta(days=rng.randint(27, 33))
            drug_line = self.sim.lines[record.settlement_id][1]
            self.sim.history.append(Claim(
                settlement_id=f"HIST{len(self.sim.history):08d}", person_id=record.person_id,
                insured_region=record.insured_region, treating_region=record.treating_region,
                institution=record.institution, visit_type="chronic", settled_on=before,
                begins=before, ends=before, medfee=0, fund=0,
                lines=(line_of(drug_line, self.sim.kinds),)))

    def _filings(self, persons: int) -> None:
        """Filing events of the year before: most people none, some one or two changes."""
        rng = self.rng
        for k in range(0, persons, 7):
            pid = self.person(k)[0]
            self.sim.filings.append(FilingEvent(pid, self.first - timedelta(days=rng.randint(
                30, 700)), "filed"))
            for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
                self.sim.filings.append(FilingEvent(pid, self.last - timedelta(
                    days=rng.randint(0, 360)), rng.choice(("changed", "cancelled"))))

    def _baselines(self, funds: dict[str, list[list[int]]], picks: list[str]) -> None:
        """Each institution's fund payments of the three months before: as many visits of each
        type as a month brings on average (Poisson-like), each paid like one of this month's."""
        rng = self.rng
        n = len(picks)
        total = sum(self.weights)
        pools = [sum((f[t] for f in funds.values()), []) for t in range(3)]
        shares = (0.09, 0.11, 0.80)
        for code, weight in zip(self.insts, self.weights, strict=True):
            months = []
            for _ in range(3):
                value = 0
                for t in range(3):
                    expected = n * weight / total * shares[t]
                    visits = max(0, round(rng.gauss(expected, expected ** 0.5)))
                    if pools[t]:
                        value += sum(rng.choice(pools[t]) for _ in range(visits))
                months.append(value)
            months.append(sum(sum(f) for f in funds[code]))
            self.sim.fund_by_month[code] = months


_STANDARD_GENERICS = frozenset({"XB05AAD081C0", "XJ01DHD075D0", "XJ05AFD069A0",
                                "XL04ABD071C0"})


def _institutions(rng: random.Random, count: int) -> dict[str, tuple[str, str]]:
    found = {}
    for k in range(count):
        province = TREATING[k % len(TREATING)]
        region = province[:2] + "0100"
        level = rng.choices(("L3", "L2", "L1"), (45, 35, 20))[0]
        found[f"H{region}{k:05d}"] = (region, level)
    return found


def generate_month(month: YearMonth, settlements: int = 100_000, seed: int = 1,
                   institutions: int | None = None) -> SimMonth:
    """A normal month of about `settlements` cross-province settlements (inject fraud with
    sim.fraud.inject, then call `close`)."""
    rng = random.Random(f"medsettle-sim-month:{seed}:{month}")
    cat = Catalogue()
    count = institutions or max(40, settlements // 800)
    insts = _institutions(rng, count)
    sim = SimMonth(month, [], {}, {}, [], [], {}, cat.kinds(),
                   {code: dict(i.restriction or {}) for code, i in cat.restricted.items()},
                   insts)
    maker = Visits(sim, cat, Builder(cat), rng)
    maker.fill(settlements)
    sim.maker = maker
    return sim
