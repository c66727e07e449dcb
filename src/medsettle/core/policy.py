"""Dated policy parameters of an insured place (参保地政策), domain.md §5.

One document per insured region × scheme × date range. `parse_parameter_set` turns the YAML
mapping into a validated, immutable `ParameterSet`; every load error names the file and the key.
Each set is identified by its `id` and by `content_hash`, the SHA-256 of its document in a
canonical form, so a settlement can name exactly the parameters it used. `PolicyBook` holds many
sets, read lazily region by region from a `PolicySource`, and finds the one in force.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Literal, Protocol, TypeVar

from medsettle.core.bands import Band, PoolRatio, parse_pool_ratio
from medsettle.core.errors import PolicyFileError, PolicyNotInForce
from medsettle.core.filing import FilingRules, parse_filing_rules
from medsettle.core.provenance import Origin, Provenance, leaves, parse_provenance
from medsettle.core.tables import CATEGORIES_OF_SCHEME, DOCUMENT, DocReader, Table
from medsettle.core.tiers import TIER_ORDER, BandTier, parse_tiers

__all__ = ["TIER_ORDER", "VISIT_TYPES", "Band", "BandTier", "Benefit", "Deductible",
           "DiseaseQuota", "Origin", "ParameterSet", "PolicyBook", "PolicySource", "Provenance",
           "TempReduction", "check_parameter_set", "check_year_start_change", "content_hash",
           "parse_parameter_set"]

T = TypeVar("T")
VisitType = Literal["inpatient", "outpatient", "chronic"]
VISIT_TYPES: tuple[VisitType, ...] = ("inpatient", "outpatient", "chronic")
SCHEMES = ("employee", "resident")
#: Longest set id: a settlement keeps the id of its set in 60 characters (settlements.policy_id).
MAX_ID_LENGTH = 60

#: Largest ratio cut (points) or extra 先行自付 the national rules allow per benefit class (§4).
REDUCTION_LIMITS: dict[str, tuple[int, Decimal]] = {
    "referral": (10, Decimal("0.10")),
    "emergency": (10, Decimal("0.10")),
    "other_temp": (20, Decimal("0.20")),
    "unfiled": (20, Decimal("0.20")),
    "long_term_return": (10, Decimal("0.10")),
}


@dataclass(frozen=True, slots=True)
class Deductible:
    """起付线: `per_visit` with repeat factors for later stays, or `annual`."""

    mode: Literal["per_visit", "annual"]
    amount: Table[int]
    repeat_factors: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class DiseaseQuota:
    """A chronic disease's own cap (限额), per medical year or per month; cap None = no quota."""

    cap: int | None
    period: Literal["year", "month"]


@dataclass(frozen=True, slots=True)
class Benefit:
    """The basic-pool rule for one visit type. A ratio cell is one ratio or a band list
    (分段报销) placed per visit or, with `ratio_basis` year, on the medical year's eligible amount
    of the cap group so far (the `pool_base` accumulator)."""

    deductible: Deductible
    ratio: Table[PoolRatio]
    cap_group: str | None
    diseases: Mapping[str, DiseaseQuota] = field(default_factory=dict)
    ratio_basis: Literal["visit", "year"] = "visit"

    @property
    def banded(self) -> bool:
        """True when some ratio cell is a band list."""
        return any(isinstance(cell, tuple) for cell in self.ratio.cells.values())


@dataclass(frozen=True, slots=True)
class TempReduction:
    """How temporary travellers' benefits are reduced: ratio points, or extra 先行自付."""

    mode: Literal["points", "extra_preselfpay"]
    points: Mapping[str, int]
    extra: Mapping[str, Decimal]

    def points_for(self, benefit_class: str) -> int:
        """Ratio points cut for the class (0 for long_term and in extra mode)."""
        return self.points.get(benefit_class, 0) if self.mode == "points" else 0

    def extra_for(self, benefit_class: str) -> Decimal:
        """Extra self-pay share for the class (0 for long_term and in points mode)."""
        if self.mode != "extra_preselfpay":
            return Decimal(0)
        return self.extra.get(benefit_class, Decimal(0))


@dataclass(frozen=True, slots=True)
class ParameterSet:
    """The policy of one insured region and scheme over [valid_from, valid_until)."""

    id: str
    insu_admdvs: str
    scheme: Literal["employee", "resident"]
    valid_from: date
    valid_until: date | None
    year_start: tuple[int, int]
    benefits: Mapping[str, Benefit]
    caps: Mapping[str, Table[int] | None]
    temp_reduction: TempReduction
    tiers: Mapping[str, BandTier]
    maf: Mapping[str, BandTier]
    maf_applies_to: frozenset[str]
    account_scope: Literal["inscope_only", "all"]
    filing: FilingRules
    manual_catalogue: Literal["treating", "insured"]
    provenance: Provenance
    source: str
    document: Mapping[str, object]
    title: str = ""
    content_hash: str = ""

    @property
    def official(self) -> bool:
        """True only when every value comes from an official document."""
        return all(origin.status == "official" for origin in self.value_origins().values())

    def value_origins(self) -> dict[str, Origin]:
        """Every parameter value's dotted key and where it comes from."""
        return {key: self.provenance.origin_of(key) for key in leaves(self.document)}

    def in_force(self, on: date) -> bool:
        """valid_from ≤ on < valid_until."""
        return self.valid_from <= on and (self.valid_until is None or on < self.valid_until)

    def benefit(self, visit_type: str) -> Benefit:
        """The rule for a visit type, or PolicyNotInForce if the region has none."""
        try:
            return self.benefits[visit_type]
        except KeyError:
            raise PolicyNotInForce(f"{self.id} has no {visit_type} benefit") from None

    def medical_year(self, on: date) -> str:
        """The medical (accumulation) year containing `on`, labelled by its starting year."""
        month, day = self.year_start
        return str(on.year if (on.month, on.day) >= (month, day) else on.year - 1)


def check_year_start_change(earlier: ParameterSet, later: ParameterSet, on: date,
                            loaded: ParameterSet) -> None:
    """Refuse (PolicyFileError naming `year_start` of `loaded`, one of the two) a change from
    `earlier` to `later` on `on` that moves the start of the medical year so that `later`'s
    first medical year has a label `earlier` has used already: accumulators are kept by that
    label (`medical_year`), so the months of both would count as one year (a 01-01 year followed
    by a 07-01 one from 2026-07-01: January to June 2026 and July 2026 to June 2027 are both
    "2026"). Moving the start earlier in the calendar (07-01 to 01-01) is a short year, not a
    clash. A change of the medical year's start is otherwise not supported."""
    if earlier.year_start == later.year_start:
        return
    last = earlier.medical_year(on - timedelta(days=1))
    first = later.medical_year(on)
    if int(first) > int(last):
        return
    other = earlier if loaded is later else later
    raise PolicyFileError(
        loaded.source, "year_start",
        f"{_month_day(loaded.year_start)} differs from the medical year of {other.id} "
        f"({_month_day(other.year_start)}), which {loaded.id} "
        f"{'follows' if loaded is later else 'is followed by'} on {on.isoformat()}: "
        f"{earlier.id} counts up to {(on - timedelta(days=1)).isoformat()} in medical year {last}"
        f" and {later.id} would count from {on.isoformat()} in medical year {first}, so their "
        "accumulators (pool paid, deductible met, visits) would add up across both. A change of "
        f"the medical year's start is not supported: keep year_start "
        f"{_month_day(other.year_start)}")


def _month_day(year_start: tuple[int, int]) -> str:
    return f"{year_start[0]:02d}-{year_start[1]:02d}"


_TOP_KEYS = {"id", "title", "insu_admdvs", "scheme", "valid_from", "valid_until", "year_start",
             "provenance", "benefits", "caps", "temp_reduction", "tiers", "account", "filing",
             "manual", "description"}


def parse_parameter_set(doc: object, source: str) -> ParameterSet:
    """Validate one policy document (already read from YAML) into a ParameterSet; the first
    error found is raised (PolicyFileError naming the file and key)."""
    return _parse(DocReader(source), doc)


def check_parameter_set(doc: object, source: str) -> list[PolicyFileError]:
    """Every load error of one policy document, each naming its key (empty: the document is a
    valid parameter set). Independent parts are each checked, so one bad value does not hide
    the next; an error that makes a part unreadable hides what lies inside that part."""
    r = DocReader(source, collect=True)
    r.attempt(lambda: _parse(r, doc), None)
    return list(r.errors or ())


_REQUIRED_TOP = {"id", "insu_admdvs", "scheme", "valid_from", "benefits"}


def _parse(r: DocReader, doc: object) -> ParameterSet:
    top = r.attempt(lambda: r.mapping(doc, DOCUMENT, _TOP_KEYS, _REQUIRED_TOP),
                    doc if isinstance(doc, Mapping) else None)
    if top is None:
        raise r.fail(DOCUMENT, f"must be a mapping, not {type(doc).__name__}")

    def part(key: str, work: Callable[[object], T], fallback: T, default: object = None) -> T:
        if key not in top and default is None:
            return fallback  # a missing required key is noted by r.mapping
        return r.attempt(lambda: work(top.get(key, default)), fallback)

    scheme: str | None = part("scheme", lambda v: _scheme(r, v), None)
    admdvs = part("insu_admdvs", lambda v: _admdvs(r, v), "")
    set_id = part("id", lambda v: _set_id(r, v), "")
    title = part("title", lambda v: _words(r, v, "title"), "")
    part("description", lambda v: _words(r, v, "description"), "")
    valid_from: date | None = part("valid_from", lambda v: _date(r, v, "valid_from"), None)
    valid_until = part("valid_until", lambda v: _valid_until(r, v, valid_from), None)
    year_start = part("year_start", lambda v: _year_start(r, v), (1, 1), "01-01")
    benefits: dict[str, Benefit] | None = None
    caps: dict[str, Table[int] | None] | None = None
    if scheme is not None:  # a TABLE is read for the categories of its scheme
        benefits = part("benefits", lambda v: _benefits(r, v, scheme), None)
        caps = part("caps", lambda v: _caps(r, v, scheme), None, {})
    for visit_type, benefit in (benefits or {}).items():
        if caps is not None:
            r.attempt(partial(_cap_group_defined, r, visit_type, benefit, caps), None)
    no_tiers: tuple[dict[str, BandTier], dict[str, BandTier], frozenset[str]] = (
        {}, {}, frozenset())
    tiers, maf, maf_applies_to = part("tiers", lambda v: parse_tiers(r, v), no_tiers, {})
    scope = part("account", lambda v: _account_scope(r, v), "inscope_only", {})
    manual_catalogue = part("manual", lambda v: _manual_catalogue(r, v), "treating", {})
    temp_reduction = r.attempt(lambda: _temp_reduction(r, top.get("temp_reduction")), None)
    filing = r.attempt(lambda: parse_filing_rules(top, r.source), None)
    provenance = r.attempt(lambda: parse_provenance(r, top.get("provenance"), top), None)
    r.raise_first()
    hashed = r.attempt(lambda: _content_hash(r, top), "")  # a load error, never a TypeError
    r.raise_first()
    if (scheme is None or valid_from is None or benefits is None or caps is None
            or temp_reduction is None or filing is None or provenance is None):
        raise r.fail(DOCUMENT, "is not a parameter set")  # not reached: an error was raised
    return ParameterSet(
        id=set_id, insu_admdvs=admdvs, scheme=scheme,  # type: ignore[arg-type]
        valid_from=valid_from, valid_until=valid_until, year_start=year_start,
        benefits=benefits, caps=caps, temp_reduction=temp_reduction,
        tiers=tiers, maf=maf, maf_applies_to=maf_applies_to,
        account_scope=scope, filing=filing,  # type: ignore[arg-type]
        manual_catalogue=manual_catalogue,  # type: ignore[arg-type]
        provenance=provenance, source=r.source, document=top, title=title,
        content_hash=hashed)


def _cap_group_defined(r: DocReader, visit_type: str, benefit: Benefit,
                       caps: Mapping[str, object]) -> None:
    if benefit.cap_group is not None and benefit.cap_group not in caps:
        raise r.fail(f"benefits.{visit_type}.cap_group",
                     f"names cap group {benefit.cap_group!r}, which caps does not define")


def _scheme(r: DocReader, value: object) -> str:
    if value not in SCHEMES:
        raise r.fail("scheme", f"must be one of {list(SCHEMES)}, not {value!r}")
    return str(value)


def _set_id(r: DocReader, value: object) -> str:
    set_id = r.text(value, "id")
    if len(set_id) > MAX_ID_LENGTH:
        raise r.fail("id", f"must be at most {MAX_ID_LENGTH} characters (a settlement keeps the "
                           f"id of its set), not {len(set_id)}")
    if not set_id.isprintable() or any(char.isspace() for char in set_id):
        raise r.fail("id", f"must not hold spaces or control characters, not {set_id!r}")
    return set_id


def _words(r: DocReader, value: object, key: str) -> str:
    """An optional text (title, description): a string, not a number, list or mapping."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise r.fail(key, f"must be text (a string), not {type(value).__name__}")
    return value


def _content_hash(r: DocReader, top: Mapping[str, object]) -> str:
    try:
        return content_hash(top)
    except (TypeError, ValueError) as exc:  # a value YAML has but JSON has not (a set, bytes)
        raise r.fail(DOCUMENT, f"cannot be hashed: {exc}") from None


def _admdvs(r: DocReader, value: object) -> str:
    admdvs = r.text(value, "insu_admdvs")
    if not (len(admdvs) == 6 and admdvs.isascii() and admdvs.isdigit()):
        raise r.fail("insu_admdvs", f"must be a 6-digit region code (quoted), not {admdvs!r}")
    return admdvs


def _valid_until(r: DocReader, value: object, valid_from: date | None) -> date | None:
    if value is None:
        return None
    until = _date(r, value, "valid_until")
    if valid_from is not None and until <= valid_from:
        raise r.fail("valid_until", "must be after valid_from")
    return until


def _account_scope(r: DocReader, value: object) -> str:
    scope = r.mapping(value, "account", {"scope"}).get("scope", "inscope_only")
    if scope not in ("inscope_only", "all"):
        raise r.fail("account.scope", f"must be inscope_only or all, not {scope!r}")
    return str(scope)


def _manual_catalogue(r: DocReader, value: object) -> str:
    catalogue = r.mapping(value, "manual", {"catalogue"}).get("catalogue", "treating")
    if catalogue not in ("treating", "insured"):
        raise r.fail("manual.catalogue", f"must be treating or insured, not {catalogue!r}")
    return str(catalogue)


def content_hash(doc: Mapping[str, object]) -> str:
    """SHA-256 (hex) of a policy document in canonical JSON: keys sorted, dates as ISO strings,
    no spaces. Comments and layout of the YAML file do not change it; any value, date or
    provenance entry does."""
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=_canonical)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} has no canonical form")


def _date(r: DocReader, value: object, key: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise r.fail(key, f"must be a date YYYY-MM-DD, not {value!r}")


def _year_start(r: DocReader, value: object) -> tuple[int, int]:
    try:
        month, day = (int(part) for part in str(value).split("-"))
        date(2001, month, day)
    except ValueError:
        raise r.fail("year_start", f"must be MM-DD, not {value!r}") from None
    return month, day


def _benefits(r: DocReader, value: object, scheme: str) -> dict[str, Benefit]:
    doc = r.mapping(value, "benefits", set(VISIT_TYPES))
    if not doc:
        raise r.fail("benefits", "needs at least one visit type")
    read = {visit_type: r.attempt(partial(_benefit, r, body, f"benefits.{visit_type}", scheme),
                                  None) for visit_type, body in doc.items()}
    r.raise_first_of("benefits")
    return {visit_type: benefit for visit_type, benefit in read.items() if benefit is not None}


def _benefit(r: DocReader, value: object, key: str, scheme: str) -> Benefit:
    doc = r.mapping(value, key, {"deductible", "ratio", "ratio_basis", "cap_group", "diseases"},
                    {"deductible", "ratio"})
    dedc = r.mapping(doc["deductible"], f"{key}.deductible", {"mode", "amount", "repeat_factors"},
                     {"mode", "amount"})
    mode = dedc["mode"]
    if mode not in ("per_visit", "annual"):
        raise r.fail(f"{key}.deductible.mode", f"must be per_visit or annual, not {mode!r}")
    factors_doc = dedc.get("repeat_factors", ["1"])
    if not isinstance(factors_doc, list) or not factors_doc:
        raise r.fail(f"{key}.deductible.repeat_factors", "must be a non-empty list of ratios")
    factors = tuple(r.ratio(f, f"{key}.deductible.repeat_factors[{i}]")
                    for i, f in enumerate(factors_doc))
    cap_group = doc.get("cap_group")
    if cap_group is not None and not isinstance(cap_group, str):
        raise r.fail(f"{key}.cap_group", "must be a string")
    diseases = {code: _quota(r, quota, f"{key}.diseases.{code}")
                for code, quota in r.mapping(doc.get("diseases", {}), f"{key}.diseases").items()}
    if key.endswith("chronic") and not diseases:
        raise r.fail(f"{key}.diseases", "a chronic benefit must list its diseases")
    for code in diseases:
        if not (len(code) == 6 and code[0] == "M" and code[1:].isdigit()):
            raise r.fail(f"{key}.diseases.{code}", "must be a chronic disease code M + 5 digits")
    basis = doc.get("ratio_basis", "visit")
    if basis not in ("visit", "year"):
        raise r.fail(f"{key}.ratio_basis", f"must be visit or year, not {basis!r}")
    if basis == "year" and cap_group is None:
        raise r.fail(f"{key}.ratio_basis", "ratio_basis year places the eligible amount on its "
                                           "cap group's yearly base: name a cap_group")
    return Benefit(
        deductible=Deductible(mode, r.table(dedc["amount"], f"{key}.deductible.amount", scheme,
                                            r.fen), factors),
        ratio=r.table(doc["ratio"], f"{key}.ratio", scheme,
                      lambda v, k: parse_pool_ratio(r, v, k)),
        cap_group=cap_group, diseases=diseases, ratio_basis=basis)


def _quota(r: DocReader, value: object, key: str) -> DiseaseQuota:
    doc = r.mapping(value if value is not None else {}, key, {"cap", "cap_period"})
    cap = doc.get("cap")
    period = doc.get("cap_period", "year")
    if period not in ("year", "month"):
        raise r.fail(f"{key}.cap_period", f"must be year or month, not {period!r}")
    return DiseaseQuota(None if cap is None else r.fen(cap, f"{key}.cap"), period)


def _caps(r: DocReader, value: object, scheme: str) -> dict[str, Table[int] | None]:
    doc = r.mapping(value, "caps")
    caps: dict[str, Table[int] | None] = {
        group: None if cap is None else r.attempt(partial(r.table, cap, f"caps.{group}", scheme,
                                                          r.fen), None)
        for group, cap in doc.items()}
    r.raise_first_of("caps")
    return caps


def _temp_reduction(r: DocReader, value: object) -> TempReduction:
    doc = r.mapping(value if value is not None else {"mode": "points"}, "temp_reduction",
                    {"mode", "points", "extra_preselfpay"}, {"mode"})
    mode = doc["mode"]
    if mode not in ("points", "extra_preselfpay"):
        raise r.fail("temp_reduction.mode", f"must be points or extra_preselfpay, not {mode!r}")
    points: dict[str, int] = {}
    for cls, pts in r.mapping(doc.get("points", {}), "temp_reduction.points",
                              set(REDUCTION_LIMITS)).items():
        key = f"temp_reduction.points.{cls}"
        if type(pts) is not int or pts < 0:
            raise r.fail(key, f"must be a whole number of points ≥ 0, not {pts!r}")
        if pts > REDUCTION_LIMITS[cls][0]:
            raise r.fail(key, f"{pts} points exceeds the national limit of "
                              f"{REDUCTION_LIMITS[cls][0]} for {cls}")
        points[cls] = pts
    extra: dict[str, Decimal] = {}
    for cls, share in r.mapping(doc.get("extra_preselfpay", {}), "temp_reduction.extra_preselfpay",
                                set(REDUCTION_LIMITS)).items():
        key = f"temp_reduction.extra_preselfpay.{cls}"
        extra[cls] = r.ratio(share, key)
        if extra[cls] > REDUCTION_LIMITS[cls][1]:
            raise r.fail(key, f"{share} exceeds the national limit of {REDUCTION_LIMITS[cls][1]}"
                              f" for {cls}")
    if mode == "extra_preselfpay" and not extra:
        raise r.fail("temp_reduction.extra_preselfpay", "missing for mode extra_preselfpay")
    return TempReduction(mode, points, extra)


class PolicySource(Protocol):
    """Where a book reads its sets, one insured region and scheme at a time (adapters/files)."""

    def groups(self) -> Iterable[tuple[str, str]]:
        """Every (insured region, scheme) the source holds sets for, without reading them."""

    def load(self, insu_admdvs: str, scheme: str) -> list[ParameterSet]:
        """The validated sets of one region and scheme."""


class PolicyBook:
    """All parameter sets known to a node; finds the one in force for a region, scheme and date.

    Given a `source`, a region's sets are read and validated the first time they are asked for,
    so a node starts without reading every region's files; given `sets`, it holds just those.
    Thread-safe: nodes serve requests from several threads."""

    def __init__(self, sets: Iterable[ParameterSet] = (),
                 source: PolicySource | None = None) -> None:
        self._by_key: dict[tuple[str, str], list[ParameterSet]] = {}
        self._by_id: dict[str, ParameterSet] = {}
        self._source = source
        self._pending: set[tuple[str, str]] = set(source.groups()) if source else set()
        self._lock = threading.Lock()
        self._add(list(sets))

    def _add(self, sets: list[ParameterSet]) -> None:
        for ps in sets:
            if ps.id in self._by_id:
                raise PolicyFileError(ps.source, "id", f"duplicate id {ps.id!r} (also in "
                                                       f"{self._by_id[ps.id].source})")
            self._by_id[ps.id] = ps
            self._by_key.setdefault((ps.insu_admdvs, ps.scheme), []).append(ps)
        for key in {(ps.insu_admdvs, ps.scheme) for ps in sets}:
            group = self._by_key[key]
            group.sort(key=lambda ps: ps.valid_from)
            for earlier, later in zip(group, group[1:], strict=False):
                if earlier.valid_until is None or earlier.valid_until > later.valid_from:
                    raise PolicyFileError(later.source, "valid_from",
                                          f"range overlaps {earlier.id} ({earlier.source})")

    def _load(self, keys: Iterable[tuple[str, str]]) -> None:
        wanted = [key for key in keys if key in self._pending]
        if not wanted or self._source is None:
            return
        with self._lock:
            for key in wanted:
                if key in self._pending:
                    self._add(self._source.load(*key))
                    self._pending.discard(key)

    def sets_of(self, insu_admdvs: str, scheme: str) -> list[ParameterSet]:
        """The sets of one region and scheme, by start date (read now if not yet read)."""
        self._load([(insu_admdvs, scheme)])
        return list(self._by_key.get((insu_admdvs, scheme), ()))

    def find(self, insu_admdvs: str, scheme: str, on: date) -> ParameterSet:
        """The set in force on `on`, or PolicyNotInForce."""
        for ps in self.sets_of(insu_admdvs, scheme):
            if ps.in_force(on):
                return ps
        raise PolicyNotInForce(f"no {scheme} policy of region {insu_admdvs} is in force on "
                               f"{on.isoformat()}")

    def by_id(self, set_id: str) -> ParameterSet:
        """The set with this id (an id `<region>-<scheme>-…` reads only that region's files)."""
        if set_id not in self._by_id:
            region, _, rest = set_id.partition("-")
            scheme = rest.partition("-")[0]
            self._load([(region, scheme)])
        if set_id not in self._by_id:
            self._load(sorted(self._pending))
        try:
            return self._by_id[set_id]
        except KeyError:
            raise PolicyNotInForce(f"no parameter set with id {set_id!r}") from None

    def regions(self) -> list[str]:
        """Every insured region with at least one set, sorted."""
        return sorted(a for a in {a for a, _ in self._by_key} | {a for a, _ in self._pending} if a)

    def sets(self) -> list[ParameterSet]:
        """Every set, by region, scheme and start date (reads every region not read yet)."""
        self._load(sorted(self._pending))
        return sorted(self._by_id.values(), key=lambda ps: (ps.insu_admdvs, ps.scheme,
                                                            ps.valid_from))


def categories_of(scheme: str) -> tuple[str, ...]:
    """The person categories a scheme uses."""
    return CATEGORIES_OF_SCHEME[scheme]
