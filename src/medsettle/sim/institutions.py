"""Designated institutions (定点医疗机构) of a treating province: rows of the `institutions` table."""

from __future__ import annotations

import random
from typing import Any

from medsettle.core.codes import (
    EXTENSION_CHRONIC_DISEASES,
    NATIONAL_CHRONIC_DISEASES,
    PREFECTURES,
    level_tier,
)
from medsettle.sim.names import DISTRICTS, city_label, hospital_name

Row = dict[str, Any]

#: hosp_lv by tier with weights inside the tier (domain.md §7 dictionaries) [I].
_HOSP_LV = {"L3": (("01", "02", "03", "04"), (2, 60, 30, 8)),
            "L2": (("05", "06", "07"), (60, 30, 10)),
            "L1": (("08", "09", "10"), (40, 40, 20)),
            "L0": (("11",), (1,))}
_TIERS, _TIER_WEIGHTS = ("L3", "L2", "L1", "L0"), (15, 30, 35, 20)
_LOWER = {"L3": "L2", "L2": "L1", "L1": "L0"}
#: Chronic diseases an L2 institution opens: hypertension, diabetes, dialysis.
L2_CHRONIC = ("M03900", "M01600", "M07803", "M07804")
L3_CHRONIC = tuple(NATIONAL_CHRONIC_DISEASES) + tuple(EXTENSION_CHRONIC_DISEASES)


def institution_regions(province: str, region: str) -> tuple[str, ...]:
    """The admdvs an institution of the province may carry: the region first, then prefectures."""
    others = sorted(code for code in PREFECTURES
                    if code[:2] == province[:2] and code != region)
    return (region, *others)


def _admdvs(rng: random.Random, regions: tuple[str, ...]) -> str:
    """Most institutions sit in the shipped pooling region, the rest in the other prefectures."""
    if len(regions) == 1 or rng.random() < 0.6:
        return regions[0]
    return rng.choice(regions[1:])


def _chronic_opened(tier: str) -> list[str]:
    """门诊慢特病 opened: all national and extension diseases at L3, four at L2, none below."""
    if tier == "L3":
        return list(L3_CHRONIC)
    return list(L2_CHRONIC) if tier == "L2" else []


def _unique_name(rng: random.Random, tier: str, admdvs: str, province: str,
                 used: set[str]) -> str:
    """A hospital name not used yet in the province (a branch suffix after a few tries)."""
    city = city_label(admdvs)
    name = hospital_name(rng, tier, city, province)
    for attempt in range(40):
        if name not in used:
            break
        name = hospital_name(rng, tier, city, province)
        if attempt >= 20:  # a big hospital with several campuses (多院区)
            name += f"({rng.choice(DISTRICTS)}院区)"
    else:
        name += f"(第{len(used) + 1}院区)"
    used.add(name)
    return name


def generate_institutions(province: str, region: str, count: int,
                          rng: random.Random) -> list[Row]:
    """`count` institutions of the province; the first is an L3 hospital in the pooling region."""
    regions = institution_regions(province, region)
    serials: dict[str, int] = {}
    used: set[str] = set()
    rows = []
    for index in range(count):
        tier = "L3" if index == 0 else rng.choices(_TIERS, _TIER_WEIGHTS)[0]
        admdvs = region if index == 0 else _admdvs(rng, regions)
        codes, weights = _HOSP_LV[tier]
        hosp_lv = rng.choices(codes, weights)[0]
        level = level_tier(hosp_lv)
        serials[admdvs] = serials.get(admdvs, 0) + 1
        rows.append({
            "fixmedins_code": f"H{admdvs}{serials[admdvs]:05d}",
            "name": _unique_name(rng, tier, admdvs, province, used),
            "admdvs": admdvs,
            "hosp_lv": hosp_lv,
            "level": level,
            "dedc_level": _LOWER[level] if level in _LOWER and rng.random() < 0.02 else None,
            "suspended": index > 0 and rng.random() < 0.01,
            "networked": index == 0 or rng.random() < 0.98, "api_key": None,
            "signing": None, "sm2_public_key": None, "sm4_key": None,  # unsigned (simulated)
            "dialect": None,  # the national interface as documented
            "chronic_opened": _chronic_opened(level),
            "services": None,  # networked for inpatient and general outpatient alike
        })
        rows[-1]["suspension_reason"] = ("模拟数据：暂停异地直接结算 (simulated suspension)"
                                         if rows[-1]["suspended"] else None)
    return rows
