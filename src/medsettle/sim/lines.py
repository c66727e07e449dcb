"""Fee lines of planned visits, drawn from the treating province's catalogue (就医地目录)."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from medsettle.core.codes import catalogue_code_kind
from medsettle.sim.catalogue import yuan
from medsettle.sim.catalogue_data import GENERICS

UNKNOWN_SHARE = 0.03
ABOVE_CAP_SHARE = 0.25
_TAGS = {generic.name: generic.tags for generic in GENERICS}
_DISEASE_SERVICES = {"血液透析": "M07803", "腹膜透析": "M07804", "直线加速器放疗": "M00503"}
_DIALYSIS_SUPPLIES = ("透析器", "血液透析管路", "内瘘穿刺针")
_DAILY = {"bed": "普通病房床位费", "ipt_exam": "住院诊查费", "nursing1": "Ⅰ级护理",
          "nursing2": "Ⅱ级护理", "otp_exam": "普通门诊诊查费", "expert_exam": "主任医师门诊诊查费",
          "emergency_exam": "急诊诊查费"}
_BY_TYPE = {"04": "labs", "03": "exams", "05": "treatments", "06": "surgeries", "08": "consumables"}
_UNKNOWN_NAMES = {"drug": ("院内制剂", "自购药品(目录外)", "进口药品(未挂网)"),
                  "service": ("特需服务费(目录外)", "新技术项目(未定价)"),
                  "consumable": ("进口耗材(目录外)", "一次性耗材(未挂网)")}


@dataclass(frozen=True)
class PlannedLine:
    """One planned fee line: code, name, unit price (yuan string), quantity (decimal string)."""

    code: str
    name: str
    pric: str
    cnt: str
    kind: str  # drug | service | consumable


@dataclass
class LinePool:
    """A treating province's catalogue arranged for drawing lines by role."""

    entries: dict[str, dict[str, Any]]
    prices: dict[str, str]
    daily: dict[str, str] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    by_disease: dict[str, list[str]] = field(default_factory=dict)


def build_pool(catalogue: list[dict[str, Any]], prices: dict[str, str]) -> LinePool:
    """Index a catalogue: daily inpatient items, drugs by use, services by type, disease items."""
    pool = LinePool({row["code"]: row for row in catalogue}, prices,
                    groups={group: [] for group in ("otp", "ipt", *_BY_TYPE.values())})
    names = {v: k for k, v in _DAILY.items()}
    for row in catalogue:
        code, name = row["code"], row["name"]
        if name in names:
            pool.daily.setdefault(names[name], code)
        if "sex" in (row["restriction"] or {}):
            continue  # never drawn at random: the patient's sex is not known here
        for tag in _TAGS.get(name, ()):
            (pool.groups[tag] if tag in ("otp", "ipt")
             else pool.by_disease.setdefault(tag, [])).append(code)
        if name in _DISEASE_SERVICES:
            pool.by_disease.setdefault(_DISEASE_SERVICES[name], []).append(code)
        if row["med_chrgitm_type"] == "08" and any(s in name for s in _DIALYSIS_SUPPLIES):
            pool.by_disease.setdefault("M07803", []).append(code)
        group = _BY_TYPE.get(row["med_chrgitm_type"])
        if group:
            pool.groups[group].append(code)
    return pool


def _count(rng: random.Random, kind: str) -> str:
    """A quantity as a decimal string: boxes of drugs, one service, a few consumables."""
    if kind == "drug":
        return rng.choice(("1", "1", "2", "2", "3", "4", "0.5"))
    if kind == "consumable":
        return rng.choice(("1", "1", "1", "2", "3"))
    return "1"


def _price(rng: random.Random, pool: LinePool, code: str) -> str:
    """The typical price, or for a capped entry sometimes 5–40% above its cap (超限价)."""
    cap = pool.entries[code]["lmt_pric"]
    if cap is not None and rng.random() < ABOVE_CAP_SHARE:
        cents = int(Decimal(cap) * 100)
        return yuan(cents * rng.randint(105, 140) // 100)
    return pool.prices[code]


def catalogue_line(rng: random.Random, pool: LinePool, code: str, cnt: str | None = None
                   ) -> PlannedLine:
    """A line for a listed code at its typical price."""
    kind = catalogue_code_kind(code)
    return PlannedLine(code, pool.entries[code]["name"], _price(rng, pool, code),
                       cnt or _count(rng, kind), kind)


def unknown_line(rng: random.Random, pool: LinePool) -> PlannedLine:
    """A line whose code has a valid format but is not in the catalogue (self-paid, cls none)."""
    kind = rng.choice(("drug", "service", "consumable"))
    while True:
        if kind == "drug":
            code = "X" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=22))
        elif kind == "service":
            code = f"0099{rng.randrange(10**11):011d}"
        else:
            code = f"C99{rng.randrange(10**17):017d}"
        if code not in pool.entries:
            break
    price = yuan(rng.randint(1_000, 50_000))
    return PlannedLine(code, rng.choice(_UNKNOWN_NAMES[kind]), price, _count(rng, kind), kind)


def _extra(rng: random.Random, pool: LinePool, mix: tuple[tuple[str, int], ...]) -> PlannedLine:
    """One line from a weighted mix of groups, or now and then a code not in the catalogue."""
    if rng.random() < UNKNOWN_SHARE:
        return unknown_line(rng, pool)
    groups = [(g, w) for g, w in mix if pool.groups.get(g)]
    group = rng.choices([g for g, _ in groups], [w for _, w in groups])[0]
    return catalogue_line(rng, pool, rng.choice(pool.groups[group]))


_OUTPATIENT_MIX = (("otp", 60), ("labs", 25), ("exams", 10), ("treatments", 5))
_INPATIENT_MIX = (("ipt", 40), ("otp", 5), ("labs", 25), ("exams", 12), ("treatments", 8),
                  ("consumables", 8), ("surgeries", 2))


def outpatient_lines(rng: random.Random, pool: LinePool, emergency: bool) -> tuple[PlannedLine, ...]:
    """2–8 lines: the consultation fee, then drugs, tests and the odd treatment."""
    role = "emergency_exam" if emergency else rng.choice(("otp_exam", "otp_exam", "expert_exam"))
    lines = [catalogue_line(rng, pool, pool.daily[role], "1")] if role in pool.daily else []
    count = rng.randint(2, 8)
    while len(lines) < count:
        lines.append(_extra(rng, pool, _OUTPATIENT_MIX))
    return tuple(lines)


def chronic_lines(rng: random.Random, pool: LinePool, disease: str) -> tuple[PlannedLine, ...]:
    """2–6 lines for a 门诊慢特病 visit: the disease's drugs, dialysis or radiotherapy items."""
    codes = pool.by_disease.get(disease) or pool.groups["otp"]
    lines = []
    for _ in range(rng.randint(2, 6)):
        if rng.random() < UNKNOWN_SHARE:
            lines.append(unknown_line(rng, pool))
        else:
            lines.append(catalogue_line(rng, pool, rng.choice(codes)))
    return tuple(lines)


def inpatient_lines(rng: random.Random, pool: LinePool, days: int) -> tuple[PlannedLine, ...]:
    """20–60 lines: 床位费, 住院诊查费 and 护理费 for each day, then drugs, tests and supplies."""
    nursing = "nursing1" if rng.random() < 0.3 else "nursing2"
    lines = [catalogue_line(rng, pool, pool.daily[role], "1")
             for _ in range(days) for role in ("bed", "ipt_exam", nursing) if role in pool.daily]
    target = rng.randint(max(20, len(lines) + 4), max(60, len(lines) + 4))
    while len(lines) < target:
        lines.append(_extra(rng, pool, _INPATIENT_MIX))
    return tuple(lines)
