"""Fraud patterns of R01–R12 injected into a simulated month at chosen rates, with the ground
truth recorded (`SimMonth.truth`: rule → the keys a perfect rule would hit), and the score of a
rule's hits against it (recall and precision).

Each pattern is what the rule is meant to catch, done the way a hospital or a patient would:
phantom bed days (R01), a stay split in two (R02), a bed charged twice a day or a bundle with
its component (R03), a dearer look-alike billed (R04), the same card used in another province
the same day (R05), months of drugs at once or an early refill (R06), a restricted drug billed
in scope (R07), filings changed again and again (R08), an institution's volume pumped up (R09),
tests swapped for drugs (R10), an item beyond its payment standard (R11), a price above its cap
billed in scope (R12).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from medsettle.core.records import SettlementRecord, StoredLine
from medsettle.core.supervision.facts import FilingEvent
from medsettle.core.supervision.hits import Hit
from medsettle.sim.month import (
    ANAESTHESIA_LOCAL,
    COUNTS,
    DEBRIDE_BIG,
    TREATING,
    SimMonth,
)

RULES = tuple(f"R{n:02d}" for n in range(1, 13))
#: Units of ground truth: a settlement, a person (R08) or an institution (R09, R10).
INSTITUTION_RULES = ("R09", "R10")


@dataclass(frozen=True)
class Score:
    """One rule's hits against the truth."""

    rule: str
    injected: int
    hits: int
    true_hits: int
    other_patterns: int = 0  # hits on what was injected for another rule (not counted)

    @property
    def recall(self) -> Fraction:
        """True hits ÷ injected (1 when nothing was injected)."""
        return Fraction(self.true_hits, self.injected) if self.injected else Fraction(1)

    @property
    def precision(self) -> Fraction:
        """True hits ÷ hits (1 when there is no hit)."""
        return Fraction(self.true_hits, self.hits) if self.hits else Fraction(1)


def score(sim: SimMonth, hits: Iterable[Hit]) -> list[Score]:
    """Recall and precision per rule (R01: its claim hits; census hits are institution-days)."""
    found: dict[str, set[str]] = {rule: set() for rule in RULES}
    for hit in hits:
        if hit.unit in ("settlement", "person", "institution"):
            found[hit.rule].add(hit.key)
    injected = set().union(*sim.truth.values(), sim.touched)
    result = []
    for rule in RULES:
        truth = sim.truth.get(rule, set())
        other = (found[rule] - truth) & injected
        result.append(Score(rule, len(truth), len(found[rule] - other),
                            len(found[rule] & truth), len(other)))
    return result


class Injector:
    """Changes a SimMonth in place, one pattern at a time."""

    def __init__(self, sim: SimMonth, seed: int) -> None:
        self.sim = sim
        self.rng = random.Random(f"medsettle-sim-fraud:{seed}")
        self.index = {r.settlement_id: i for i, r in enumerate(sim.records)}
        self.v = sim.maker
        self.used: set[str] = set()

    def pick(self, rate: float, visit_type: str | None = None) -> list[SettlementRecord]:
        """Records not changed yet, each taken with probability `rate`."""
        chosen = []
        for record in self.sim.records:
            if record.settlement_id in self.used or (visit_type and
                                                     record.visit_type != visit_type):
                continue
            if self.rng.random() < rate:
                chosen.append(record)
                self.used.add(record.settlement_id)
        return chosen

    def rebuild(self, record: SettlementRecord, lines: list[StoredLine]) -> None:
        """Recompute a record's amounts from its changed lines."""
        sid = record.settlement_id
        self.sim.touched.add(sid)
        self.sim.lines[sid] = lines
        self.sim.records[self.index[sid]] = self.v.b.record(
            sid, record.person_id, record.insured_region, record.institution,
            record.treating_region, record.visit_type, record.settled_at.date(), lines)

    def add_line(self, record: SettlementRecord, make: object) -> None:
        lines = list(self.sim.lines[record.settlement_id])
        lines.append(make(record.settlement_id, len(lines) + 1))  # type: ignore[operator]
        self.rebuild(record, lines)

    def truth(self, rule: str, key: str) -> None:
        self.sim.truth.setdefault(rule, set()).add(key)

    # --- the patterns ----------------------------------------------------------------------
    def r01(self, rate: float) -> None:
        cat = self.v.cat
        for record in self.pick(rate, "inpatient"):
            f = self.sim.facts[record.settlement_id]
            idle = self.rng.randint(3, 5)
            begins = f.begins - timedelta(days=idle)
            lines = list(self.sim.lines[record.settlement_id])
            for k in range(idle):
                for item in (cat.bed, cat.ipt_exam, cat.nursing):
                    lines.append(self.v.b.line(record.settlement_id, len(lines) + 1, item,
                                               COUNTS["1"], begins + timedelta(days=k)))
            self.rebuild(record, lines)
            self.sim.facts[record.settlement_id] = replace(f, begins=begins)
            self.truth("R01", record.settlement_id)

    def r02(self, rate: float) -> None:
        from medsettle.core.supervision.facts import Claim
        for record in self.pick(rate, "inpatient"):
            f = self.sim.facts[record.settlement_id]
            ends = f.begins - timedelta(days=self.rng.randint(1, 12))
            begins = ends - timedelta(days=self.rng.randint(3, 8))
            self.sim.history.append(Claim(
                settlement_id=f"SPLIT{record.settlement_id}", person_id=record.person_id,
                insured_region=record.insured_region, treating_region=record.treating_region,
                institution=record.institution, visit_type="inpatient", settled_on=ends,
                begins=begins, ends=ends, medfee=0, fund=0, level=f.level,
                diagnosis=f.diagnosis[:3] + ".0"))
            self.truth("R02", record.settlement_id)

    def r03(self, rate: float) -> None:
        cat = self.v.cat
        for record in self.pick(rate / 2, "inpatient"):
            day = self.sim.facts[record.settlement_id].begins + timedelta(days=1)
            self.add_line(record, lambda sid, n, day=day: self.v.b.line(
                sid, n, cat.bed, COUNTS["1"], day))
            self.truth("R03", record.settlement_id)
        bundle, part = cat.by_code["002503050010000"], cat.by_code["002503010010000"]
        for record in self.pick(rate / 2, "outpatient"):
            day = self.sim.facts[record.settlement_id].begins
            for item in (bundle, part):
                self.add_line(record, lambda sid, n, item=item, day=day: self.v.b.line(
                    sid, n, item, COUNTS["1"], day))
            self.truth("R03", record.settlement_id)

    def r04(self, rate: float) -> None:
        big = self.v.cat.by_code[DEBRIDE_BIG]
        for record in self.pick(rate, "outpatient"):
            codes = {line.code for line in self.sim.lines[record.settlement_id]}
            if ANAESTHESIA_LOCAL in codes:
                continue
            day = self.sim.facts[record.settlement_id].begins
            self.add_line(record, lambda sid, n, day=day: self.v.b.line(
                sid, n, big, COUNTS["1"], day))
            self.truth("R04", record.settlement_id)

    def r05(self, rate: float) -> None:
        for record in self.pick(rate, "outpatient"):
            province = record.treating_region[:2]
            others = [c for c in self.v.insts if c[1:3] != province]
            institution = self.rng.choice(others)
            day = record.settled_at.date()
            sid = self.v.outpatient(record.person_id, record.insured_region, institution, day)
            self.index[sid] = len(self.sim.records) - 1
            self.used.add(sid)
            self.sim.touched.add(sid)
            self.truth("R05", sid)

    def r06(self, rate: float) -> None:
        for record in self.pick(rate / 2, "outpatient"):
            lines = list(self.sim.lines[record.settlement_id])
            drugs = [i for i, ln in enumerate(lines) if ln.code[:1] in "XZ"]
            if not drugs:
                continue
            i = drugs[0]
            lines[i] = replace(lines[i], count=COUNTS[self.rng.choice(("5", "6", "8", "10"))])
            item = self.v.cat.by_code[lines[i].code]
            lines[i] = self.v.b.line(record.settlement_id, i + 1, item, lines[i].count,
                                     lines[i].occurred_at.date(), lines[i].price)
            self.rebuild(record, lines)
            self.truth("R06", record.settlement_id)
        last = self.v.last
        for record in self.pick(rate / 2, "chronic"):
            day = record.settled_at.date() + timedelta(days=self.rng.randint(5, 15))
            if day > last:
                continue
            sid = self.v.chronic(record.person_id, record.insured_region, record.institution,
                                 day)
            self.index[sid] = len(self.sim.records) - 1
            self.used.add(sid)
            self.sim.touched.add(sid)
            self.truth("R06", sid)

    def r07(self, rate: float) -> None:
        cat = self.v.cat
        for record in self.pick(rate, "outpatient"):
            f = self.sim.facts[record.settlement_id]
            options = [c for c, r in self.sim.restrictions.items()
                       if (r.get("sex") and r["sex"] != f.gender)
                       or (r.get("min_age") and f.age < r["min_age"])
                       or (r.get("visit_types") and "outpatient" not in r["visit_types"])
                       or (r.get("min_level") and f.level < r["min_level"])]
            options = [c for c in options if c[:12] not in _STANDARDS and c in cat.by_code
                       and cat.by_code[c].cls != "C"]
            if not options:
                continue
            item = cat.by_code[self.rng.choice(sorted(options))]
            self.add_line(record, lambda sid, n, item=item, day=f.begins: self.v.b.line(
                sid, n, item, COUNTS["1"], day))
            self.truth("R07", record.settlement_id)

    def r08(self, rate: float) -> None:
        last = self.v.last
        for person in sorted(self.sim.people):
            if self.rng.random() >= rate:
                continue
            for _ in range(self.rng.randint(3, 5)):
                self.sim.filings.append(FilingEvent(person, last - timedelta(
                    days=self.rng.randint(0, 350)), self.rng.choice(("changed", "cancelled"))))
            self.truth("R08", person)

    def r09(self, rate: float, min_baseline: int) -> None:
        for code in sorted(self.sim.fund_by_month):
            months = self.sim.fund_by_month[code]
            baseline = sum(months[:3]) // 3
            if baseline < min_baseline or self.rng.random() >= rate:
                continue
            target = int(baseline * self.rng.uniform(1.5, 2.0))
            mine = [r for r in self.sim.records if r.institution == code]
            while months[3] < target and mine:
                sample = self.rng.choice(mine)
                f = self.sim.facts[sample.settlement_id]
                pid = self.v.person(self.v.home(code, self.v.ranges[1], self.v.ranges[2]))[0]
                make = self.v.inpatient if sample.visit_type == "inpatient" else \
                    self.v.outpatient
                sid = make(pid, sample.insured_region, code, f.ends)
                self.index[sid] = len(self.sim.records) - 1
                self.used.add(sid)
                self.sim.touched.add(sid)
                months[3] += self.sim.records[-1].amounts.fund_pay_sumamt
            self.truth("R09", code)

    def r10(self, rate: float) -> None:
        cat = self.v.cat
        for code in sorted(self.sim.institutions):
            if self.rng.random() >= rate or code in self.sim.truth.get("R09", set()):
                continue
            for record in [r for r in self.sim.records if r.institution == code
                           and r.settlement_id not in self.used]:
                lines = list(self.sim.lines[record.settlement_id])
                for i, ln in enumerate(lines):
                    if cat.by_code[ln.code].kind in ("03", "04", "05", "08"):
                        drug = self.rng.choice(cat.drugs)
                        while drug.code[:12] in _STANDARDS:
                            drug = self.rng.choice(cat.drugs)
                        lines[i] = self.v.b.line(record.settlement_id, i + 1, drug,
                                                 COUNTS["2"], ln.occurred_at.date())
                self.rebuild(record, lines)
            self.truth("R10", code)

    def r11(self, rate: float) -> None:
        cat = self.v.cat
        albumin = cat.by_code[next(c for c in cat.by_code if c.startswith("XB05AAD081C0"))]
        for record in self.pick(rate, "inpatient"):
            day = self.sim.facts[record.settlement_id].ends
            count = COUNTS[self.rng.choice(("4", "5", "6"))]
            self.add_line(record, lambda sid, n, day=day, count=count: self.v.b.line(
                sid, n, albumin, count, day))
            self.truth("R11", record.settlement_id)

    def r12(self, rate: float) -> None:
        capped = [i for i in self.v.cat.capped if i.code[:12] not in _STANDARDS
                  and not i.restriction]
        for record in self.pick(rate, "outpatient"):
            item = self.rng.choice(capped)
            assert item.cap is not None
            price = (item.cap * Decimal(self.rng.randint(110, 140)) / 100).quantize(
                Decimal("0.01"))
            day = self.sim.facts[record.settlement_id].begins
            self.add_line(record, lambda sid, n, item=item, price=price, day=day:
                          self.v.b.line(sid, n, item, COUNTS["1"], day, price,
                                        honest_cap=False))
            self.truth("R12", record.settlement_id)


_STANDARDS = frozenset({"XB05AAD081C0", "XJ01DHD075D0", "XJ05AFD069A0", "XL04ABD071C0"})


def inject(sim: SimMonth, rates: Mapping[str, float], seed: int = 1,
           min_baseline: int = 10_000_000) -> SimMonth:
    """Inject each rule's pattern at its rate (share of eligible claims, persons or
    institutions); the truth is in `sim.truth`."""
    injector = Injector(sim, seed)
    for rule in RULES:
        rate = rates.get(rule, 0.0)
        if not rate:
            continue
        if rule == "R09":
            injector.r09(rate, min_baseline)
        else:
            getattr(injector, rule.lower())(rate)
    return sim


__all__ = ["INSTITUTION_RULES", "TREATING", "Score", "inject", "score"]
