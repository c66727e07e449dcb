"""A province's synthetic seed data: insured persons, accounts, filings, institutions, catalogue.

Every row has exactly the columns of the matching table in `adapters/db/tables.py`, with Python
values of the column types (date for Date, list/dict for JSON, decimal strings for prices).
Deterministic for a seed: all draws come from `random.Random` instances derived from
(seed, province, part), never from the global generator or the clock (`on` is an argument).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from medsettle.core.codes import PREFECTURES, PROVINCES, REGION_OF_PROVINCE, make_id_card
from medsettle.core.policy import PolicyBook
from medsettle.sim.catalogue import generate_catalogue
from medsettle.sim.filings import generate_filings
from medsettle.sim.institutions import generate_institutions
from medsettle.sim.names import city_label, employer_name, person_name
from medsettle.sim.policies import chronic_diseases, exempt_prefixes

Row = dict[str, Any]

#: Scheme mix [I]: employees 35% (active 26%, retired 9%), residents 65%.
ACTIVE_SHARE, RETIRED_SHARE = 0.26, 0.09
_ALNUM = string.ascii_uppercase + string.digits
_TOKEN = string.ascii_letters + string.digits
_PROVINCE_INDEX = {code: index for index, code in enumerate(PROVINCES)}


@dataclass
class ProvinceSeed:
    """Seed rows of one province node, plus typical prices by catalogue code (yuan strings)."""

    province: str
    region: str
    persons: list[Row]
    accumulators: list[Row]
    filings: list[Row]
    institutions: list[Row]
    catalogue: list[Row]
    prices: dict[str, str] = field(default_factory=dict)
    #: By scheme: treating-place prefixes that count as filed for this region (exempt zones).
    exempt: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _years_before(on: date, years: int) -> date:
    """The same calendar day `years` earlier (29 Feb → 28 Feb)."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, day=28)


def _birth_date(rng: random.Random, on: date, min_age: int, max_age: int) -> date:
    """A birth date giving an age from min_age to max_age (inclusive) on `on`."""
    latest = _years_before(on, min_age)
    earliest = _years_before(on, max_age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def _address_codes(province: str, region: str) -> tuple[str, ...]:
    """County-like address codes (住址码) of the province: prefecture prefix + district 01–12."""
    prefixes = sorted({code[:4] for code in PREFECTURES
                       if code[:2] == province[:2] and not code.endswith("0000")})
    prefixes = prefixes or [region[:4]]
    return tuple(f"{prefix}{district:02d}" for prefix in prefixes for district in range(1, 13))


class _Identity:
    """Unique credentials of a province: ID numbers, card numbers, card serials and e-vouchers."""

    def __init__(self, province: str, region: str, rng: random.Random) -> None:
        self.region, self.rng = region, rng
        index = _PROVINCE_INDEX[province]
        self.card_prefix = chr(ord("A") + index % 26) + str(index // 26)
        self.addresses = _address_codes(province, region)
        self.seen: set[str] = set()

    def _unique(self, make: Callable[[], str]) -> str:
        """A value from `make()` not produced before in this province."""
        value = make()
        while value in self.seen:
            value = make()
        self.seen.add(value)
        return value

    def certno(self, born: date, male: bool) -> str:
        """A valid 18-character ID number: address, birth date, sequence with the sex parity."""
        rng = self.rng

        def make() -> str:
            seq = rng.randrange(500) * 2 + (1 if male else 0)
            return make_id_card(f"{rng.choice(self.addresses)}{born:%Y%m%d}{seq:03d}")
        return self._unique(make)

    def card_no(self) -> str:
        """A 9-character social security card number, unique across provinces by its prefix."""
        return self._unique(lambda: f"{self.card_prefix}{self.rng.randrange(10**7):07d}")

    def card_sn(self) -> str:
        """A 32-character chip serial: region, issuer tag and 16 hex digits."""
        return f"{self.region}D15600000{self.rng.getrandbits(68):017X}"

    def evoucher(self) -> str:
        """An e-voucher token "EC" + region + 24 alphanumerics (codes.EVOUCHER_PATTERN)."""
        return self._unique(
            lambda: "EC" + self.region + "".join(self.rng.choices(_TOKEN, k=24)))


def _category(rng: random.Random) -> str:
    """active, retired or resident, by the scheme mix."""
    draw = rng.random()
    if draw < ACTIVE_SHARE:
        return "active"
    return "retired" if draw < ACTIVE_SHARE + RETIRED_SHARE else "resident"


def _ages(category: str, male: bool) -> tuple[int, int]:
    """Age range of a category: retirees 60+ (men) / 55+ (women), active below that."""
    retirement = 60 if male else 55
    if category == "active":
        return 18, retirement - 1
    if category == "retired":
        return retirement, 95
    return 0, 90


def _certified(rng: random.Random, category: str, listed: tuple[str, ...]) -> list[str]:
    """门诊慢特病 certified at the insured place, only among the diseases its policy lists."""
    found: list[str] = []
    if category == "retired" and rng.random() < 0.15:
        found += rng.sample(["M03900", "M01600"], rng.choice((1, 1, 2)))
    if category == "retired" and rng.random() < 0.03:
        extensions = [d for d in listed if d not in ("M03900", "M01600", "M00503", "M07803",
                                                     "M07804", "M08300")]
        found += rng.sample(extensions, min(1, len(extensions)))
    draw = rng.random()
    if draw < 0.005:
        found.append(rng.choice(("M07803", "M07804")))
    elif draw < 0.008:
        found.append("M00503")
    elif draw < 0.009:
        found.append("M08300")
    return [d for d in found if d in listed]


def _psn_type(rng: random.Random, category: str, cvlserv: bool) -> str:
    """psn_type: 11 在职 (a few 1101/1102), 12 退休, 15 居民."""
    if category == "retired":
        return "12"
    if category == "resident":
        return "15"
    if cvlserv:
        return "1102"
    return "1101" if rng.random() < 0.05 else "11"


def _maf(rng: random.Random, category: str) -> str | None:
    """医疗救助 identity of residents: ~3% 低保, ~0.5% 特困."""
    if category != "resident":
        return None
    draw = rng.random()
    return "dibao" if draw < 0.03 else "tekun" if draw < 0.035 else None


def _person(rng: random.Random, ids: _Identity, index: int, category: str, on: date,
            listed: dict[str, tuple[str, ...]], city: str) -> Row:
    """One insured person of the pooling region, as a `persons` row."""
    male = rng.random() < 0.5
    born = _birth_date(rng, on, *_ages(category, male))
    employee = category != "resident"
    cvlserv = category == "active" and rng.random() < 0.03
    scheme = "employee" if employee else "resident"
    return {
        "psn_no": f"{ids.region}{index:020d}",
        "certno": ids.certno(born, male),
        "psn_name": person_name(rng, male),
        "gend": "1" if male else "2",
        "brdy": born,
        "insu_admdvs": ids.region,
        "insutype": "310" if employee else "390",
        "psn_type": _psn_type(rng, category, cvlserv),
        "cvlserv": cvlserv,
        "maf_category": _maf(rng, category),
        "chronic_certified": _certified(rng, category, listed[scheme]),
        "card_no": ids.card_no(),
        "card_sn": ids.card_sn(),
        "evoucher": ids.evoucher(),
        "insurance_active": rng.random() >= 0.005,
        "emp_name": employer_name(rng, city, cvlserv) if employee else "",
        "commitment_barred_until": None,
        "direct_settlement_barred": False,
    }


def _contribution_tiers(people: list[Row], rng: random.Random) -> None:
    """Residents' contribution tier (缴费档次): about 30% `high`, the rest `low`; employees none.
    A region whose parameter set has no `resident@high` keys pays every tier as plain
    residents (none of the shipped sets has such keys)."""
    for person in people:
        resident = person["insutype"] == "390"
        person["contribution_tier"] = ("high" if rng.random() < 0.3 else "low") if resident \
            else None


def _balance(rng: random.Random, psn_no: str, category: str) -> Row:
    """The personal account balance (fen): active up to ¥8,000, retired up to ¥15,000."""
    top = 800_000 if category == "active" else 1_500_000
    return {"psn_no": psn_no, "year": "", "path": "acct_balance", "value": rng.randint(0, top)}


def generate_province(province: str, *, persons: int, institutions: int, on: date, seed: int,
                      book: PolicyBook, catalogue_extra: int = 0) -> ProvinceSeed:
    """Synthetic seed data of one province node (persons insured in its pooling region, as the
    policy book's parameters of that region describe them)."""
    if province not in REGION_OF_PROVINCE:
        raise ValueError(f"unknown province {province!r}; expected one of the 32 admdvs XX0000")
    if persons < 0 or institutions < 0 or catalogue_extra < 0:
        raise ValueError("persons, institutions and catalogue_extra must be >= 0")
    region = REGION_OF_PROVINCE[province]
    rng = random.Random(f"medsettle-sim:{seed}:{province}:persons")
    ids = _Identity(province, region, rng)
    schemes = ("employee", "resident")
    listed = {scheme: chronic_diseases(book, region, scheme, on) for scheme in schemes}
    city = city_label(region)
    categories = [_category(rng) for _ in range(persons)]
    people = [_person(rng, ids, n + 1, c, on, listed, city) for n, c in enumerate(categories)]
    _contribution_tiers(people, random.Random(f"medsettle-sim:{seed}:{province}:tiers"))
    balances = [_balance(rng, p["psn_no"], c) for p, c in zip(people, categories, strict=True)
                if c != "resident"]
    filings = generate_filings(people, categories, region, on,
                               random.Random(f"medsettle-sim:{seed}:{province}:filings"))
    hospitals = generate_institutions(
        province, region, institutions,
        random.Random(f"medsettle-sim:{seed}:{province}:institutions"))
    catalogue, prices = generate_catalogue(province, extra=catalogue_extra)
    exempt = {scheme: exempt_prefixes(book, region, scheme, on) for scheme in schemes}
    return ProvinceSeed(province, region, people, balances, filings, hospitals, catalogue, prices,
                        exempt)
