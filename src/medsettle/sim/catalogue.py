"""The treating place's catalogue (就医地目录) for the simulator: rows of the `catalogue` table.

The drug list is national: the same codes and classes in every province, from a fixed seed
(domain.md §7 "The drug list is national"). Service items and consumables are drawn per province
from national pools, so lists overlap but differ; the well-known service items exist everywhere.
Typical prices are kept apart from the rows (`prices`), as yuan strings with two decimals.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from medsettle.sim.catalogue_data import (
    CONSUMABLE_STEMS,
    GENERICS,
    SERVICE_STEMS,
    SEX_OF_SERVICE,
    WELL_KNOWN_SERVICES,
)

Row = dict[str, Any]

DRUG_COUNT = 300
CATALOGUE_FROM = date(2024, 1, 1)
SERVICE_SAMPLE = 115
CONSUMABLE_SAMPLE = 150
LOCAL_SERVICES = ("中医定向透药疗法", "穴位贴敷治疗", "耳穴压豆", "刮痧治疗", "火龙罐综合灸",
                  "小针刀治疗", "蜡疗", "督灸", "中药封包治疗", "盐熨治疗")
_RATIOS = ("0.05", "0.08", "0.10", "0.15", "0.20")
_FORMS = (("注射用", "D0"), ("注射液", "C0"), ("胶囊", "B0"), ("片", "A0"), ("颗粒", "E0"),
          ("散", "F0"), ("丸", "G0"), ("口服液", "H0"), ("溶液", "H0"), ("吸入剂", "J0"),
          ("气雾剂", "K0"), ("透析液", "L0"), ("白蛋白", "C0"), ("胶丸", "B0"), ("粉", "M0"))
_EXTRA_SUFFIXES = ("(床旁)", "(加急)", "(儿童)", "(复杂)", "(夜间)", "(双侧)", "(每增加一项)")


def yuan(cents: int) -> str:
    """Integer fen as a yuan decimal string with two decimals: 1234 → "12.34"."""
    return f"{cents // 100}.{cents % 100:02d}"


def _row(code: str, name: str, lv: str, selfpay: str, cap: str | None, chrgitm_type: str,
         restriction: Mapping[str, object] | None) -> Row:
    """A catalogue row with exactly the columns of the `catalogue` table (id set later)."""
    return {"id": None, "code": code, "name": name, "chrgitm_lv": lv, "selfpay_prop": selfpay,
            "lmt_pric": cap, "valid_from": CATALOGUE_FROM, "valid_until": None,
            "med_chrgitm_type": chrgitm_type,
            "restriction": None if restriction is None else dict(restriction)}


def _form_code(name: str) -> str:
    """The two-character form part of a drug code prefix, from the generic's name."""
    return next((code for marker, code in _FORMS if marker in name), "Z0")


def _price_and_cap(rng: random.Random, low: int, high: int, lv: str,
                   cap_share: float) -> tuple[int, str, str | None]:
    """A typical price (fen), the 乙 self-pay ratio and maybe a price cap at or above the price."""
    cents = rng.randint(low * 100, high * 100)
    if lv != "02":
        return cents, "0", None
    ratio = rng.choice(_RATIOS)
    cap = yuan(cents * rng.randint(100, 125) // 100) if rng.random() < cap_share else None
    return cents, ratio, cap


@lru_cache(maxsize=1)
def _national_drugs() -> tuple[tuple[Row, str], ...]:
    """The national drug list, ~300 codes, independent of province and seed."""
    rng = random.Random("medsettle-sim:national-drugs")
    counts = [1] * len(GENERICS)
    while sum(counts) < DRUG_COUNT:
        counts[rng.randrange(len(GENERICS))] += 1
    out: list[tuple[Row, str]] = []
    for number, (generic, count) in enumerate(zip(GENERICS, counts, strict=True), start=1):
        prefix = f"{generic.kind}{generic.atc}D{number:03d}{_form_code(generic.name)}"
        for spec in range(1, count + 1):
            code = f"{prefix}{spec:02d}{rng.randrange(10**9):09d}"
            cents, ratio, cap = _price_and_cap(rng, generic.low, generic.high, generic.lv, 0.2)
            kind = "09" if generic.kind == "X" else "11"
            out.append((_row(code, generic.name, generic.lv, ratio, cap, kind,
                             generic.restriction), yuan(cents)))
    return tuple(out)


@lru_cache(maxsize=1)
def _service_pool() -> tuple[tuple[str, str, str, str, int, int], ...]:
    """National service codes for the stems: (code, name, type, lv, low, high)."""
    rng = random.Random("medsettle-sim:service-pool")
    taken = {f"00{item.number}0000" for item in WELL_KNOWN_SERVICES}
    pool = []
    for name, prefix, chrgitm_type, lv, low, high in SERVICE_STEMS:
        code = _fresh(rng, taken, _digits(f"00{prefix}", 5, "0000"))
        pool.append((code, name, chrgitm_type, lv, low, high))
    return tuple(pool)


@lru_cache(maxsize=1)
def _consumable_pool() -> tuple[tuple[str, str, str, int, int], ...]:
    """National consumable codes: each stem × specification × up to three makers."""
    rng = random.Random("medsettle-sim:consumable-pool")
    taken: set[str] = set()
    pool = []
    for stem_no, (category, stem, specs, lv, low, high) in enumerate(CONSUMABLE_STEMS):
        for spec_no, spec in enumerate(specs):
            for _ in range(rng.randint(1, 3)):
                head = f"C{category}{stem_no:02d}{spec_no:02d}"
                code = _fresh(rng, taken, _digits(head, 13))
                pool.append((code, f"{stem}({spec})", lv, low, high))
    return tuple(pool)


def _digits(head: str, width: int, tail: str = "") -> Callable[[random.Random], str]:
    """A maker of codes: `head`, then `width` random digits, then `tail`."""
    return lambda r: f"{head}{r.randrange(10**width):0{width}d}{tail}"


def _fresh(rng: random.Random, taken: set[str], make: Callable[[random.Random], str]) -> str:
    """A code from `make(rng)` not yet in `taken`; records it."""
    code = make(rng)
    while code in taken:
        code = make(rng)
    taken.add(code)
    return code


def _copy(row: Row) -> Row:
    """A copy of a cached row whose JSON value is not shared."""
    new = dict(row)
    if new["restriction"] is not None:
        new["restriction"] = {k: list(v) if isinstance(v, list) else v
                              for k, v in new["restriction"].items()}
    return new


def _services(rng: random.Random, province: str) -> list[tuple[Row, str]]:
    """Well-known items, a province sample of the national pool and a few local items."""
    out = []
    for item in WELL_KNOWN_SERVICES:
        cents, ratio, _ = _price_and_cap(rng, item.low, item.high, item.lv, 0.0)
        out.append((_row(f"00{item.number}0000", item.name, item.lv, ratio, None,
                         item.med_chrgitm_type, item.restriction), yuan(cents)))
    pool = _service_pool()
    for code, name, chrgitm_type, lv, low, high in rng.sample(pool, min(SERVICE_SAMPLE, len(pool))):
        cents, ratio, _ = _price_and_cap(rng, low, high, lv, 0.0)
        sex = SEX_OF_SERVICE.get(name)
        out.append((_row(code, name, lv, ratio, None, chrgitm_type,
                         {"sex": sex} if sex else _rare_restriction(rng)), yuan(cents)))
    taken = {row["code"] for row, _ in out}
    for name in rng.sample(LOCAL_SERVICES, 5):
        code = _fresh(rng, taken, _digits(f"0031{province[:2]}", 5, "0000"))
        cents, ratio, _ = _price_and_cap(rng, 20, 120, "02", 0.0)
        out.append((_row(code, name, "02", ratio, None, "05", None), yuan(cents)))
    return out


def _rare_restriction(rng: random.Random) -> dict[str, object] | None:
    """限定支付 on a few entries: inpatient only, a minimum level or a minimum age."""
    draw = rng.random()
    if draw < 0.02:
        return {"visit_types": ["inpatient"]}
    if draw < 0.04:
        return {"min_level": "L2"}
    if draw < 0.05:
        return {"min_age": 60}
    return None


def _consumables(rng: random.Random) -> list[tuple[Row, str]]:
    """A province sample of the national consumables; 乙 entries mostly carry a price cap."""
    pool = _consumable_pool()
    out = []
    for code, name, lv, low, high in rng.sample(pool, min(CONSUMABLE_SAMPLE, len(pool))):
        cents, ratio, cap = _price_and_cap(rng, low, high, lv, 0.8)
        out.append((_row(code, name, lv, ratio, cap, "08", None), yuan(cents)))
    return out


def _extras(rng: random.Random, province: str, count: int,
            taken: set[str]) -> list[tuple[Row, str]]:
    """`count` further local entries (services and consumables) to scale a catalogue up."""
    out = []
    for n in range(count):
        if n % 2 == 0:
            name, _, chrgitm_type, lv, low, high = rng.choice(SERVICE_STEMS)
            code = _fresh(rng, taken, _digits(f"0039{province[:2]}", 9))
            cents, ratio, cap = _price_and_cap(rng, low, high, lv, 0.0)
            row = _row(code, name + rng.choice(_EXTRA_SUFFIXES), lv, ratio, cap, chrgitm_type, None)
        else:
            category, stem, _, lv, low, high = rng.choice(CONSUMABLE_STEMS)
            code = _fresh(rng, taken, _digits(f"C{category}99", 15))
            cents, ratio, cap = _price_and_cap(rng, low, high, lv, 0.8)
            row = _row(code, f"{stem}(规格{n})", lv, ratio, cap, "08", None)
        out.append((row, yuan(cents)))
    return out


def generate_catalogue(province: str, *, extra: int = 0) -> tuple[list[Row], dict[str, str]]:
    """The province's catalogue rows (ids 1…n) and typical prices by code; same for a province."""
    rng = random.Random(f"medsettle-sim:catalogue:{province}")
    entries = [(_copy(row), price) for row, price in _national_drugs()]
    entries += _services(rng, province)
    entries += _consumables(rng)
    if extra:
        entries += _extras(rng, province, extra, {row["code"] for row, _ in entries})
    rows, prices = [], {}
    for number, (row, price) in enumerate(entries, start=1):
        row["id"] = number
        rows.append(row)
        prices[row["code"]] = price
    return rows, prices
