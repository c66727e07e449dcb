"""Cross-province filings (备案) of a province's insured persons: rows of the `filings` table.

Destinations are the shipped pooling region (REGION_OF_PROVINCE) of another province, weighted
toward the big destinations of domain.md §10 (Guangdong, Shanghai, Beijing, Zhejiang, Jiangsu,
Hainan; retirees also Yunnan and Guangxi) [I].
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from medsettle.core.codes import PROVINCES, REGION_OF_PROVINCE
from medsettle.core.filing import (
    FilingCategory,
    FilingChannel,
    FilingRoute,
    FilingStatus,
    add_working_days,
    filing_number,
)

Row = dict[str, Any]

LONG_TERM_RATE = {"retired": 0.15, "active": 0.08, "resident": 0.07}
OTHER_TEMP_RATE = 0.03
REFERRAL_RATE = 0.01
PROXY_RATE = 0.05
TEMP_VALIDITY = timedelta(days=180)

_POPULAR = {"440000": 6, "310000": 6, "110000": 6, "330000": 5, "320000": 5, "460000": 4}
_RETIREE_EXTRA = {"460000": 8, "530000": 5, "450000": 4}
_MEDICAL_CENTRES = {"110000": 8, "310000": 8, "440000": 5, "330000": 4, "320000": 3,
                    "420000": 3, "510000": 3, "430000": 2}
_CHANNELS = (FilingChannel.APP, FilingChannel.MINI_PROGRAM, FilingChannel.GOV_APP,
             FilingChannel.COUNTER)
_CHANNEL_WEIGHTS = (40, 30, 10, 20)
_RELATIONSHIPS = ("spouse", "child", "parent", "sibling")


def _destination(rng: random.Random, province: str, weights: dict[str, int]) -> str:
    """A pooling region in another province, drawn with `weights` (others weigh 1)."""
    others = [code for code in PROVINCES if code != province]
    chosen = rng.choices(others, [weights.get(code, 1) for code in others])[0]
    return REGION_OF_PROVINCE[chosen]


def _long_term_category(rng: random.Random, category: str) -> FilingCategory:
    """Retirees mostly resettle, active employees are mostly posted, residents live there."""
    if category == "retired":
        return (FilingCategory.RESETTLED_RETIREE if rng.random() < 0.85
                else FilingCategory.LONG_TERM_RESIDENT)
    if category == "active":
        return (FilingCategory.POSTED_WORKER if rng.random() < 0.8
                else FilingCategory.LONG_TERM_RESIDENT)
    return FilingCategory.LONG_TERM_RESIDENT


class _Numberer:
    """Filing numbers BA{region}{yyyymmdd}{seq:06d}, with seq counted per application day."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.seq: dict[date, int] = {}

    def next(self, applied_on: date) -> str:
        """The next free number for that day."""
        self.seq[applied_on] = self.seq.get(applied_on, 0) + 1
        return filing_number(self.region, applied_on, self.seq[applied_on])


def _row(person: Row, filing_no: str, category: FilingCategory, destination: str, *,
         status: FilingStatus, route: FilingRoute, channel: FilingChannel, applied_on: date,
         valid_from: date, valid_until: date | None, proxy: dict[str, object] | None) -> Row:
    """A filings row with exactly the table's columns."""
    pending = status is FilingStatus.PENDING
    materials = route is FilingRoute.MATERIALS
    return {
        "filing_no": filing_no, "psn_no": person["psn_no"], "insu_admdvs": person["insu_admdvs"],
        "category": category.value, "destination": destination, "valid_from": valid_from,
        "valid_until": valid_until, "status": status.value, "route": route.value,
        "channel": channel.value, "applied_on": applied_on,
        "decided_on": None if pending else (add_working_days(applied_on, 1) if materials
                                            else applied_on),
        "review_due": add_working_days(applied_on, 1) if materials else None,
        "proxy": proxy, "post_hoc": False, "reason": "",
        "filed_by_node": None, "filed_by_institution": None,  # the person filed, not a hospital
    }


def _proxy(rng: random.Random, person: Row, persons: list[Row]) -> dict[str, object] | None:
    """亲情代办 for ~5% of filings: a linked family member filed after face recognition."""
    if rng.random() >= PROXY_RATE or len(persons) < 2:
        return None
    agent = rng.choice(persons)
    while agent is person:
        agent = rng.choice(persons)
    return {"agent_psn_no": agent["psn_no"], "relationship": rng.choice(_RELATIONSHIPS),
            "consent_recorded": True, "face_verified": True}


def _long_term_dates(rng: random.Random, status: FilingStatus,
                     on: date) -> tuple[date, date | None]:
    """Application day and end: pending ones are days old, cancelled ones ended after 6 months."""
    if status is FilingStatus.PENDING:
        return on - timedelta(days=rng.randint(0, 2)), None
    if status is FilingStatus.APPROVED:
        return on - timedelta(days=rng.randint(1, 900)), None
    applied_on = on - timedelta(days=rng.randint(200, 900))
    return applied_on, applied_on + timedelta(days=rng.randint(183, (on - applied_on).days))


def _long_term(rng: random.Random, person: Row, category: str, persons: list[Row],
               numbers: _Numberer, on: date) -> Row:
    """One long-term filing: mostly approved by commitment, some by materials, a few not."""
    draw = rng.random()
    status = (FilingStatus.PENDING if draw < 0.03 else FilingStatus.CANCELLED if draw < 0.06
              else FilingStatus.APPROVED)
    route = (FilingRoute.MATERIALS if status is FilingStatus.PENDING or rng.random() < 0.3
             else FilingRoute.COMMITMENT)
    applied_on, valid_until = _long_term_dates(rng, status, on)
    weights = {**_POPULAR, **(_RETIREE_EXTRA if category == "retired" else {})}
    proxy = _proxy(rng, person, persons)
    channel = rng.choice(_CHANNELS[:2]) if proxy else rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0]
    return _row(person, numbers.next(applied_on), _long_term_category(rng, category),
                _destination(rng, person["insu_admdvs"][:2] + "0000", weights),
                status=status, route=route, channel=channel, applied_on=applied_on,
                valid_from=applied_on, valid_until=valid_until, proxy=proxy)


def _temporary(rng: random.Random, person: Row, category: FilingCategory, persons: list[Row],
               numbers: _Numberer, on: date) -> Row:
    """A temporary filing valid 180 days: other_temp needs nothing, referral needs materials."""
    referral = category is FilingCategory.REFERRAL
    pending = referral and rng.random() < 0.05
    applied_on = on - timedelta(days=rng.randint(0, 2) if pending else rng.randint(0, 150))
    proxy = _proxy(rng, person, persons)
    channel = rng.choice(_CHANNELS[:2]) if proxy else rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0]
    province = person["insu_admdvs"][:2] + "0000"
    return _row(person, numbers.next(applied_on), category,
                _destination(rng, province, _MEDICAL_CENTRES if referral else _POPULAR),
                status=FilingStatus.PENDING if pending else FilingStatus.APPROVED,
                route=FilingRoute.MATERIALS if referral else FilingRoute.NONE_REQUIRED,
                channel=channel, applied_on=applied_on, valid_from=applied_on,
                valid_until=applied_on + TEMP_VALIDITY, proxy=proxy)


def generate_filings(persons: list[Row], categories: list[str], region: str, on: date,
                     rng: random.Random) -> list[Row]:
    """Filings of the persons (categories: active | retired | resident, in the same order)."""
    numbers = _Numberer(region)
    rows = []
    for person, category in zip(persons, categories, strict=True):
        if not person["insurance_active"]:
            continue
        if rng.random() < LONG_TERM_RATE[category]:
            rows.append(_long_term(rng, person, category, persons, numbers, on))
        if rng.random() < OTHER_TEMP_RATE:
            rows.append(_temporary(rng, person, FilingCategory.OTHER_TEMP, persons, numbers, on))
        if rng.random() < REFERRAL_RATE:
            rows.append(_temporary(rng, person, FilingCategory.REFERRAL, persons, numbers, on))
    return rows
