"""Dated thresholds of the rules per region, with the provenance of every value (like policies).

One YAML document per region and date range under data/supervision/<region>/; "000000" holds the
national defaults. A region's document may give only some rules: the others come from the
national document in force (`ThresholdBook.find`). Every hit names the threshold it used and
its origin (`Thresholds.source_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction

from medsettle.core.errors import PolicyFileError, PolicyNotInForce
from medsettle.core.provenance import Origin, Provenance, parse_provenance
from medsettle.core.supervision.reading import RulesReader, read_date
from medsettle.core.tables import DocReader

NATIONAL = "000000"
RULE_KEYS = tuple(f"r{n:02d}" for n in range(1, 13))


@dataclass(frozen=True, slots=True)
class R01:
    """挂床: `min_days` consecutive stay days with only `only_kinds` charges; or a day's census
    above Q3 + `fence`×IQR of the institution's own last `census_days` days."""

    only_kinds: frozenset[str] = frozenset({"01", "02", "07"})
    min_days: int = 3
    census_days: int = 90
    fence: Decimal = Decimal("1.5")
    min_census_days: int = 28  # fewer days of history: no census fence


@dataclass(frozen=True, slots=True)
class R02:
    """分解住院: readmission to the same institution within `max_gap_days` after discharge with
    the same `diagnosis_chars`-character principal diagnosis."""

    max_gap_days: int = 15
    diagnosis_chars: int = 3


@dataclass(frozen=True, slots=True)
class R03:
    """Repeated charges: more than `daily_caps[kind]` units of a kind per stay day; a bundle billed
    with one of its components."""

    daily_caps: Mapping[str, int] = field(default_factory=lambda: {"01": 1, "02": 1})
    capped_codes: Mapping[str, int] = field(default_factory=dict)
    bundles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SwapPair:
    """A dearer item billed `billed` that is often a swap for `instead_of` (串换): genuine use
    comes with one of `evidence` in the same visit."""

    billed: str
    instead_of: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class R04:
    """串换 rule pairs."""

    pairs: tuple[SwapPair, ...] = ()


@dataclass(frozen=True, slots=True)
class R05:
    """冒名/虚开: one person settled in two provinces on one day (a hard stop when
    `same_day_hard_stop`); outpatient settled while admitted elsewhere; more than
    `max_units_per_day` units of one service item per day."""

    same_day_hard_stop: bool = True
    max_units_per_day: Decimal = Decimal(24)


@dataclass(frozen=True, slots=True)
class R06:
    """超量开药: a visit's supply of one drug above `max_supply_days` (chronic:
    `chronic_max_supply_days`); a refill before `refill_used` of the previous supply is used.
    One unit (box) of a drug lasts `days_per_unit` days."""

    max_supply_days: int = 30
    chronic_max_supply_days: int = 84
    days_per_unit: int = 7
    refill_used: Fraction = Fraction(2, 3)
    generic_chars: int = 12  # drugs with the same first characters are the same generic+form


@dataclass(frozen=True, slots=True)
class R07:
    """限定支付: the catalogue's restrictions (sex, age, level, visit type) checked against the
    person and visit; a line that fails one and was still billed in scope is a hit."""

    checks: frozenset[str] = frozenset({"sex", "age", "level", "visit_type"})


@dataclass(frozen=True, slots=True)
class R08:
    """More than `max_changes` changes or cancellations of filings in `window_days`."""

    max_changes: int = 2
    window_days: int = 365


@dataclass(frozen=True, slots=True)
class R09:
    """Cost surge: an institution's month of cross-province fund payments above
    `surge_ratio` × the mean of its previous `baseline_months` months, with that baseline at
    least `min_baseline` fen."""

    surge_ratio: Decimal = Decimal("1.20")
    baseline_months: int = 3
    min_baseline: int = 10_000_000


@dataclass(frozen=True, slots=True)
class R10:
    """Structure outlier: an institution's drug, consumable or exam share of its medical fees
    above its peers' Q3 + `fence`×IQR (peers: institutions of the same level in the province,
    at least `min_peers` of them, each with at least `min_claims` claims), and above the
    fence by at least `min_excess` (eight percentage points), so that tight peers are not noise.
    The fence is the peers' without the institution itself, so one outlier does not hide."""

    fence: Decimal = Decimal("1.5")
    min_peers: int = 5
    min_claims: int = 20
    min_excess: Decimal = Decimal("0.08")  # and above the fence by at least this share
    shares: tuple[str, ...] = ("drug", "consumable", "exam")


@dataclass(frozen=True, slots=True)
class Standard:
    """The payment standard of an item (codes starting with a prefix): units per visit, per day
    and per person and year."""

    per_visit: Decimal | None = None
    per_day: Decimal | None = None
    per_year: Decimal | None = None


@dataclass(frozen=True, slots=True)
class R11:
    """超支付标准 by code prefix."""

    standards: Mapping[str, Standard] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class R12:
    """A line priced above its cap whose excess was not set apart (over_cap) by more than
    `tolerance` fen."""

    tolerance: int = 0


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The thresholds in force for a region over [valid_from, valid_until)."""

    id: str
    region: str
    valid_from: date
    valid_until: date | None
    r01: R01
    r02: R02
    r03: R03
    r04: R04
    r05: R05
    r06: R06
    r07: R07
    r08: R08
    r09: R09
    r10: R10
    r11: R11
    r12: R12
    provenance: Provenance
    source: str = ""
    given: frozenset[str] = frozenset(RULE_KEYS)  # rules this document states itself
    fallback: Thresholds | None = None  # the national document, for the rules not given here

    def source_of(self, key: str) -> str:
        """Where the value at a dotted key (e.g. `r09.surge_ratio`) comes from, for a person."""
        rule = key.split(".", 1)[0]
        if rule not in self.given and self.fallback is not None:
            return self.fallback.source_of(key)
        return f"{self.id}: {self.provenance.origin_of('rules.' + key).describe()}"

    def in_force(self, on: date) -> bool:
        """valid_from ≤ on < valid_until."""
        return self.valid_from <= on and (self.valid_until is None or on < self.valid_until)


def defaults(region: str = NATIONAL) -> Thresholds:
    """Every rule at its built-in default (illustrative; used by tests and as a fallback)."""
    return Thresholds("builtin-defaults", region, date(2000, 1, 1), None, R01(), R02(), R03(),
                      R04(), R05(), R06(), R07(), R08(), R09(), R10(), R11(), R12(),
                      Provenance({"*": Origin("illustrative", note="MedSettle built-in default")}))


def parse_thresholds(doc: object, source: str) -> Thresholds:
    """Validate one thresholds document into Thresholds; every error names the file and key."""
    r = DocReader(source)
    top = r.mapping(doc, "(document)", {"id", "title", "region", "valid_from", "valid_until",
                                         "provenance", "rules", "description"},
                    {"id", "region", "valid_from", "rules"})
    region = r.text(top["region"], "region")
    if not (len(region) == 6 and region.isascii() and region.isdigit()):
        raise r.fail("region", f"must be a quoted 6-digit region code, not {region!r}")
    valid_from = read_date(r, top["valid_from"], "valid_from")
    until = top.get("valid_until")
    valid_until = None if until is None else read_date(r, until, "valid_until")
    if valid_until is not None and valid_until <= valid_from:
        raise r.fail("valid_until", "must be after valid_from")
    rules = r.mapping(top["rules"], "rules", set(RULE_KEYS))
    p = RulesReader(r, rules)
    base = defaults(region)
    return Thresholds(
        id=r.text(top["id"], "id"), region=region, valid_from=valid_from, valid_until=valid_until,
        r01=R01(only_kinds=p.kinds("r01", "only_kinds", base.r01.only_kinds),
                min_days=p.count("r01", "min_days", base.r01.min_days),
                census_days=p.count("r01", "census_days", base.r01.census_days),
                fence=p.number("r01", "fence", base.r01.fence),
                min_census_days=p.count("r01", "min_census_days", base.r01.min_census_days)),
        r02=R02(max_gap_days=p.count("r02", "max_gap_days", base.r02.max_gap_days),
                diagnosis_chars=p.count("r02", "diagnosis_chars", base.r02.diagnosis_chars)),
        r03=R03(daily_caps=p.int_map("r03", "daily_caps", base.r03.daily_caps),
                capped_codes=p.int_map("r03", "capped_codes", base.r03.capped_codes),
                bundles=p.code_lists("r03", "bundles")),
        r04=R04(pairs=tuple(SwapPair(*pair) for pair in p.pairs("r04"))),
        r05=R05(same_day_hard_stop=p.flag("r05", "same_day_hard_stop",
                                          base.r05.same_day_hard_stop),
                max_units_per_day=p.number("r05", "max_units_per_day",
                                           base.r05.max_units_per_day)),
        r06=R06(max_supply_days=p.count("r06", "max_supply_days", base.r06.max_supply_days),
                chronic_max_supply_days=p.count("r06", "chronic_max_supply_days",
                                                base.r06.chronic_max_supply_days),
                days_per_unit=p.count("r06", "days_per_unit", base.r06.days_per_unit),
                refill_used=p.fraction("r06", "refill_used", base.r06.refill_used),
                generic_chars=p.count("r06", "generic_chars", base.r06.generic_chars)),
        r07=R07(checks=p.words("r07", "checks", base.r07.checks,
                               {"sex", "age", "level", "visit_type"})),
        r08=R08(max_changes=p.count("r08", "max_changes", base.r08.max_changes),
                window_days=p.count("r08", "window_days", base.r08.window_days)),
        r09=R09(surge_ratio=p.number("r09", "surge_ratio", base.r09.surge_ratio),
                baseline_months=p.count("r09", "baseline_months", base.r09.baseline_months),
                min_baseline=p.count("r09", "min_baseline", base.r09.min_baseline)),
        r10=R10(fence=p.number("r10", "fence", base.r10.fence),
                min_peers=p.count("r10", "min_peers", base.r10.min_peers),
                min_claims=p.count("r10", "min_claims", base.r10.min_claims),
                min_excess=p.number("r10", "min_excess", base.r10.min_excess),
                shares=tuple(sorted(p.words("r10", "shares", frozenset(base.r10.shares),
                                            {"drug", "consumable", "exam"})))),
        r11=R11(standards={prefix: Standard(**limits)
                           for prefix, limits in p.standards("r11").items()}),
        r12=R12(tolerance=p.count("r12", "tolerance", base.r12.tolerance)),
        provenance=parse_provenance(r, top.get("provenance"), top), source=source,
        given=frozenset(rules))


class ThresholdBook:
    """Every thresholds document known; finds the one in force for a region on a date: the
    region's own, else its province's (XX0000), else the national one, each completed by the
    national document for the rules it does not state."""

    def __init__(self, documents: Iterable[Thresholds]) -> None:
        self._by_region: dict[str, list[Thresholds]] = {}
        for t in documents:
            group = self._by_region.setdefault(t.region, [])
            for other in group:
                if other.valid_from < (t.valid_until or date.max) and (
                        t.valid_from < (other.valid_until or date.max)):
                    raise PolicyFileError(t.source, "valid_from", f"range overlaps {other.id} "
                                                                  f"({other.source})")
            group.append(t)

    def _own(self, region: str, on: date) -> Thresholds | None:
        return next((t for t in self._by_region.get(region, []) if t.in_force(on)), None)

    def find(self, region: str, on: date) -> Thresholds:
        """The thresholds in force for `region` on `on` (PolicyNotInForce if none at all)."""
        national = self._own(NATIONAL, on)
        for candidate in (region, region[:2] + "0000"):
            own = self._own(candidate, on)
            if own is not None and own.region != NATIONAL:
                return _completed(own, national)
        if national is None:
            raise PolicyNotInForce(f"no supervision thresholds in force on {on.isoformat()} "
                                   f"for {region} or nationally")
        return national

    def regions(self) -> list[str]:
        """Every region with a document."""
        return sorted(self._by_region)


def _completed(own: Thresholds, national: Thresholds | None) -> Thresholds:
    """A regional document with the rules it does not state taken from the national one."""
    if national is None:
        return own
    taken = {key: getattr(national, key) for key in RULE_KEYS if key not in own.given}
    return replace(own, fallback=national, **taken)
