"""A day of cross-province traffic over generated provinces (跨省异地就医), as planned visits.

Most visits are by persons with an approved filing valid on the day, treated at a networked
institution of the filing's destination; ~5% are emergencies of unfiled persons (视同已备案);
~2% are planned visits of unfiled persons, which the system must refuse (`NotFiled`). An
institution that happens to be suspended makes the visit's expected outcome "suspended".
Deterministic for (seeds, day, visits, seed); times are Asia/Shanghai naive datetimes.
"""

from __future__ import annotations

import random
import string
from bisect import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any

from medsettle.sim.catalogue_data import (
    EMERGENCY_DIAGNOSES,
    INPATIENT_DIAGNOSES,
    OUTPATIENT_DIAGNOSES,
)
from medsettle.sim.lines import (
    LinePool,
    PlannedLine,
    build_pool,
    chronic_lines,
    inpatient_lines,
    outpatient_lines,
)
from medsettle.sim.population import ProvinceSeed

__all__ = ["PlannedLine", "PlannedVisit", "plan_day"]

Row = dict[str, Any]
EMERGENCY_SHARE, NOT_FILED_SHARE = 0.05, 0.02
INPATIENT_SHARE, CHRONIC_SHARE = 0.10, 0.05
_LEVEL_WEIGHTS = {"outpatient": {"L3": 4, "L2": 3, "L1": 2, "L0": 1},
                  "inpatient": {"L3": 12, "L2": 6, "L1": 2, "L0": 1},
                  "emergency": {"L3": 10, "L2": 6, "L1": 2, "L0": 1}}
_POPULAR = {"44": 6, "31": 6, "11": 6, "33": 5, "32": 5, "46": 4}


@dataclass(frozen=True)
class PlannedVisit:
    """One planned visit with the credential shown, the fee lines and the expected outcome."""

    visit_no: str
    insured_province: str
    insuplc_admdvs: str
    treating_province: str
    fixmedins_code: str
    fixmedins_name: str
    mdtrtarea_admvs: str
    psn_no: str
    certno: str
    psn_name: str
    cert_type: str  # 01 e-voucher, 02 ID card, 03 social security card
    cert_no: str
    card_sn: str  # the card's chip serial when cert_type is 03, else ""
    insutype: str
    med_type: str  # 11 outpatient, 13 emergency outpatient, 14 chronic, 21 inpatient
    disease: str
    emergency: bool
    begntime: datetime
    endtime: datetime | None
    lines: tuple[PlannedLine, ...]
    acct_used: bool
    expect: str  # settle | not_filed | suspended


def _matches(destination: str, admdvs: str) -> bool:
    """A filing destination covers the institution's region, prefecture or province (§3)."""
    return destination in (admdvs, admdvs[:4] + "00", admdvs[:2] + "0000")


def _valid(filing: Row, day: date) -> bool:
    """Approved and valid on the day: valid_from ≤ day < valid_until."""
    until = filing["valid_until"]
    return (filing["status"] == "approved" and filing["valid_from"] <= day
            and (until is None or day < until))


class _Picker:
    """Weighted choice over a fixed list in O(log n) per draw."""

    def __init__(self, items: list[Row], weights: list[int]) -> None:
        self.items, self.cum = items, list(accumulate(weights))

    def __bool__(self) -> bool:
        return bool(self.items) and self.cum[-1] > 0

    def pick(self, rng: random.Random) -> Row:
        """One item, drawn by weight."""
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


class _World:
    """Indexes over the seeds for one day: who may visit where, and the catalogues."""

    def __init__(self, seeds: dict[str, ProvinceSeed], day: date) -> None:
        self.seeds, self.day = seeds, day
        self.networked = {p: [i for i in s.institutions if i["networked"]] for p, s in seeds.items()}
        self._pickers: dict[tuple[str, str, str], _Picker] = {}
        self._pools: dict[str, LinePool] = {}
        self.filed: list[tuple[ProvinceSeed, Row, Row]] = []
        self.chronic: list[tuple[ProvinceSeed, Row, Row]] = []
        self.unfiled: list[tuple[ProvinceSeed, Row]] = []
        for seed in seeds.values():
            self._index(seed)

    def _index(self, seed: ProvinceSeed) -> None:
        """Sort a province's active persons into filed (with chronic subset) and unfiled."""
        by_person: dict[str, list[Row]] = {}
        for filing in seed.filings:
            by_person.setdefault(filing["psn_no"], []).append(filing)
        for person in seed.persons:
            if not person["insurance_active"] or person["direct_settlement_barred"]:
                continue
            own = by_person.get(person["psn_no"])
            if not own:
                self.unfiled.append((seed, person))
                continue
            for filing in own:
                dest = filing["destination"]
                if not _valid(filing, self.day) or not self.picker(dest, "outpatient"):
                    continue
                self.filed.append((seed, person, filing))
                if any(self.picker(dest, "chronic", d) for d in person["chronic_certified"]):
                    self.chronic.append((seed, person, filing))

    def picker(self, destination: str, kind: str, disease: str = "") -> _Picker:
        """Networked institutions covered by a destination, weighted for a visit kind."""
        key = (destination, kind, disease)
        if key not in self._pickers:
            province = destination[:2] + "0000"
            found = [i for i in self.networked.get(province, ())
                     if _matches(destination, i["admdvs"])
                     and (not disease or disease in i["chronic_opened"])]
            weights = _LEVEL_WEIGHTS["outpatient" if kind == "chronic" else kind]
            self._pickers[key] = _Picker(found, [weights[i["level"]] for i in found])
        return self._pickers[key]

    def pool(self, province: str) -> LinePool:
        """The treating province's catalogue, indexed for drawing lines."""
        if province not in self._pools:
            seed = self.seeds[province]
            self._pools[province] = build_pool(seed.catalogue, seed.prices)
        return self._pools[province]


def _credential(rng: random.Random, person: Row) -> tuple[str, str, str]:
    """cert_type, cert_no and card_sn: 60% e-voucher, 30% ID card, 10% social security card."""
    draw = rng.random()
    if draw < 0.6:
        return "01", person["evoucher"], ""
    if draw < 0.9:
        return "02", person["certno"], ""
    return "03", person["card_no"], person["card_sn"]


def _times(rng: random.Random, day: date, med_type: str, emergency: bool
           ) -> tuple[datetime, datetime | None]:
    """Visit start within the day; an inpatient stay ends 2–12 days later, in the daytime."""
    if emergency:
        start = time(rng.randrange(24), rng.randrange(60), rng.randrange(60))
    else:
        start = time(rng.randint(8, 17), rng.randrange(60), rng.randrange(60))
    begin = datetime.combine(day, start)
    if med_type != "21":
        return begin, None
    end_day = day + timedelta(days=rng.randint(2, 12))
    return begin, datetime.combine(end_day, time(rng.randint(9, 16), rng.randrange(60)))


def _other_province(rng: random.Random, seeds: dict[str, ProvinceSeed], own: str) -> str:
    """A treating province other than `own`, weighted toward the big destinations."""
    others = [p for p in seeds if p != own]
    return rng.choices(others, [_POPULAR.get(p[:2], 1) for p in others])[0]


def _visit(rng: random.Random, world: _World, visit_no: str, seed: ProvinceSeed, person: Row,
           institution: Row, med_type: str, *, emergency: bool = False, disease: str = "",
           expect: str = "settle") -> PlannedVisit:
    """Assemble a planned visit: times, credential, diagnosis and lines."""
    treating = institution["admdvs"][:2] + "0000"
    pool = world.pool(treating)
    begin, end = _times(rng, world.day, med_type, emergency)
    if med_type == "21":
        lines = inpatient_lines(rng, pool, (end.date() - begin.date()).days if end else 1)
        disease = disease or rng.choice(EMERGENCY_DIAGNOSES if emergency else INPATIENT_DIAGNOSES)
    elif med_type == "14":
        lines = chronic_lines(rng, pool, disease)
    else:
        lines = outpatient_lines(rng, pool, emergency)
        disease = disease or rng.choice(EMERGENCY_DIAGNOSES if emergency else OUTPATIENT_DIAGNOSES)
    cert_type, cert_no, card_sn = _credential(rng, person)
    if institution["suspended"]:
        expect = "suspended"
    return PlannedVisit(
        visit_no=visit_no, insured_province=seed.province, insuplc_admdvs=seed.region,
        treating_province=treating, fixmedins_code=institution["fixmedins_code"],
        fixmedins_name=institution["name"], mdtrtarea_admvs=institution["admdvs"],
        psn_no=person["psn_no"], certno=person["certno"], psn_name=person["psn_name"],
        cert_type=cert_type, cert_no=cert_no, card_sn=card_sn, insutype=person["insutype"],
        med_type=med_type, disease=disease, emergency=emergency, begntime=begin, endtime=end,
        lines=lines, acct_used=person["insutype"] == "310" and rng.random() < 0.7, expect=expect)


def _filed_visit(rng: random.Random, world: _World, visit_no: str) -> PlannedVisit | None:
    """A visit under an approved filing: outpatient, inpatient or (if certified) chronic."""
    draw = rng.random()
    if draw < CHRONIC_SHARE and world.chronic:
        seed, person, filing = rng.choice(world.chronic)
        dest = filing["destination"]
        disease = rng.choice([d for d in person["chronic_certified"]
                              if world.picker(dest, "chronic", d)])
        institution = world.picker(dest, "chronic", disease).pick(rng)
        return _visit(rng, world, visit_no, seed, person, institution, "14", disease=disease)
    if not world.filed:
        return None
    seed, person, filing = rng.choice(world.filed)
    kind = "inpatient" if draw > 1 - INPATIENT_SHARE else "outpatient"
    picker = world.picker(filing["destination"], kind)
    return _visit(rng, world, visit_no, seed, person, picker.pick(rng),
                  "21" if kind == "inpatient" else "11")


def _unfiled_visit(rng: random.Random, world: _World, visit_no: str,
                   emergency: bool) -> PlannedVisit | None:
    """An unfiled person treated elsewhere: an emergency (settles) or a planned visit (refused)."""
    if not world.unfiled:
        return None
    seed, person = rng.choice(world.unfiled)
    treating = _other_province(rng, world.seeds, seed.province)
    picker = world.picker(treating, "emergency" if emergency else "outpatient")
    if not emergency:
        scheme = "employee" if person["insutype"] == "310" else "resident"
        exempt = seed.exempt.get(scheme, ())
        allowed = [i for i in picker.items if not i["suspended"]
                   and not any(i["admdvs"].startswith(p) for p in exempt)]
        picker = _Picker(allowed, [1] * len(allowed))
    if not picker:
        return None
    if emergency:
        med_type = "13" if rng.random() < 0.7 else "21"
        return _visit(rng, world, visit_no, seed, person, picker.pick(rng), med_type,
                      emergency=True)
    med_type = "11" if rng.random() < 0.8 else "21"
    return _visit(rng, world, visit_no, seed, person, picker.pick(rng), med_type,
                  expect="not_filed")


def plan_day(seeds: dict[str, ProvinceSeed], *, day: date, visits: int,
             seed: int) -> list[PlannedVisit]:
    """`visits` planned cross-province visits on `day` over the generated provinces."""
    if len(seeds) < 2:
        raise ValueError("plan_day needs at least two provinces: traffic crosses provinces")
    rng = random.Random(f"medsettle-sim:traffic:{seed}:{day.isoformat()}")
    world = _World(seeds, day)
    tag = "".join(rng.choices(string.ascii_uppercase + string.digits, k=4))
    planned: list[PlannedVisit] = []
    attempts = 0
    while len(planned) < visits:
        attempts += 1
        visit_no = f"V{day:%Y%m%d}{tag}{len(planned) + 1:07d}"
        draw = rng.random()
        if draw < EMERGENCY_SHARE:
            visit = _unfiled_visit(rng, world, visit_no, emergency=True)
        elif draw < EMERGENCY_SHARE + NOT_FILED_SHARE:
            visit = _unfiled_visit(rng, world, visit_no, emergency=False)
        else:
            visit = _filed_visit(rng, world, visit_no)
        if visit is None and attempts > 10 * visits + 1000:
            raise ValueError("no person can travel: generate more persons or institutions")
        if visit is not None:
            planned.append(visit)
    return planned
