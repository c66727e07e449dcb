"""Dated policy parameters of an insured place (参保地政策), domain.md §5.

One document per insured region × scheme × date range. `parse_parameter_set` turns the YAML
mapping into a validated, immutable `ParameterSet`; every load error names the file and the key.
`PolicyBook` holds many sets and finds the one in force.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Literal

from medsettle.core.errors import PolicyFileError, PolicyNotInForce
from medsettle.core.filing import FilingRules, parse_filing_rules
from medsettle.core.tables import CATEGORIES_OF_SCHEME, DocReader, Table

VisitType = Literal["inpatient", "outpatient", "chronic"]
VISIT_TYPES: tuple[VisitType, ...] = ("inpatient", "outpatient", "chronic")
SCHEMES = ("employee", "resident")
TIER_ORDER = ("hifmi", "hifob", "cvlserv", "maf")

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
    """The basic-pool rule for one visit type."""

    deductible: Deductible
    ratio: Table[Decimal]
    cap_group: str | None
    diseases: Mapping[str, DiseaseQuota] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Band:
    """One segment of a tier: cumulative base up to `upto` (None = ∞) is paid at `ratio`."""

    upto: int | None
    ratio: Decimal


@dataclass(frozen=True, slots=True)
class BandTier:
    """A tier paid in bands over a yearly cumulative base (大病, 大额, 公务员, one 救助 category)."""

    applies_to: frozenset[str]
    deductible: int
    bands: tuple[Band, ...]
    cap: int | None


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
class Provenance:
    """Where the figures come from: `reported` (secondary sources), `illustrative` or `mixed`."""

    status: Literal["reported", "illustrative", "mixed"]
    source: str
    illustrative: tuple[str, ...]
    reason: str


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


_TOP_KEYS = {"id", "title", "insu_admdvs", "scheme", "valid_from", "valid_until", "year_start",
             "provenance", "benefits", "caps", "temp_reduction", "tiers", "account", "filing",
             "manual", "description"}


def parse_parameter_set(doc: object, source: str) -> ParameterSet:
    """Validate one policy document (already read from YAML) into a ParameterSet."""
    r = DocReader(source)
    top = r.mapping(doc, "(document)", _TOP_KEYS,
                    {"id", "insu_admdvs", "scheme", "valid_from", "benefits"})
    scheme = top["scheme"]
    if scheme not in SCHEMES:
        raise r.fail("scheme", f"must be one of {list(SCHEMES)}, not {scheme!r}")
    admdvs = r.text(top["insu_admdvs"], "insu_admdvs")
    if not (len(admdvs) == 6 and admdvs.isdigit()):
        raise r.fail("insu_admdvs", f"must be a 6-digit region code (quoted), not {admdvs!r}")
    valid_from = _date(r, top["valid_from"], "valid_from")
    valid_until = None if top.get("valid_until") is None else _date(r, top["valid_until"],
                                                                     "valid_until")
    if valid_until is not None and valid_until <= valid_from:
        raise r.fail("valid_until", "must be after valid_from")
    benefits = _benefits(r, top["benefits"], scheme)
    caps = _caps(r, top.get("caps", {}), scheme)
    for visit_type, benefit in benefits.items():
        if benefit.cap_group is not None and benefit.cap_group not in caps:
            raise r.fail(f"benefits.{visit_type}.cap_group",
                         f"names cap group {benefit.cap_group!r}, which caps does not define")
    tiers, maf, maf_applies_to = _tiers(r, top.get("tiers", {}))
    account = r.mapping(top.get("account", {}), "account", {"scope"})
    scope = account.get("scope", "inscope_only")
    if scope not in ("inscope_only", "all"):
        raise r.fail("account.scope", f"must be inscope_only or all, not {scope!r}")
    manual = r.mapping(top.get("manual", {}), "manual", {"catalogue"})
    manual_catalogue = manual.get("catalogue", "treating")
    if manual_catalogue not in ("treating", "insured"):
        raise r.fail("manual.catalogue", f"must be treating or insured, not {manual_catalogue!r}")
    return ParameterSet(
        id=r.text(top["id"], "id"), insu_admdvs=admdvs, scheme=scheme,  # type: ignore[arg-type]
        valid_from=valid_from, valid_until=valid_until,
        year_start=_year_start(r, top.get("year_start", "01-01")),
        benefits=benefits, caps=caps,
        temp_reduction=_temp_reduction(r, top.get("temp_reduction")),
        tiers=tiers, maf=maf, maf_applies_to=maf_applies_to,
        account_scope=scope, filing=parse_filing_rules(top, source),
        manual_catalogue=manual_catalogue, provenance=_provenance(r, top.get("provenance")),
        source=source, document=top)


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
    return {visit_type: _benefit(r, body, f"benefits.{visit_type}", scheme)
            for visit_type, body in doc.items()}


def _benefit(r: DocReader, value: object, key: str, scheme: str) -> Benefit:
    doc = r.mapping(value, key, {"deductible", "ratio", "cap_group", "diseases"},
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
    return Benefit(
        deductible=Deductible(mode, r.table(dedc["amount"], f"{key}.deductible.amount", scheme,
                                            r.fen), factors),
        ratio=r.table(doc["ratio"], f"{key}.ratio", scheme, r.ratio),
        cap_group=cap_group, diseases=diseases)


def _quota(r: DocReader, value: object, key: str) -> DiseaseQuota:
    doc = r.mapping(value if value is not None else {}, key, {"cap", "cap_period"})
    cap = doc.get("cap")
    period = doc.get("cap_period", "year")
    if period not in ("year", "month"):
        raise r.fail(f"{key}.cap_period", f"must be year or month, not {period!r}")
    return DiseaseQuota(None if cap is None else r.fen(cap, f"{key}.cap"), period)


def _caps(r: DocReader, value: object, scheme: str) -> dict[str, Table[int] | None]:
    doc = r.mapping(value, "caps")
    return {group: None if cap is None else r.table(cap, f"caps.{group}", scheme, r.fen)
            for group, cap in doc.items()}


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


def _tiers(r: DocReader, value: object) -> tuple[dict[str, BandTier], dict[str, BandTier],
                                                 frozenset[str]]:
    doc = r.mapping(value, "tiers", set(TIER_ORDER))
    if "hifmi" in doc and "hifob" in doc:
        raise r.fail("tiers", "a parameter set has at most one of hifmi and hifob")
    tiers: dict[str, BandTier] = {}
    for name in ("hifmi", "cvlserv"):
        if name in doc:
            tiers[name] = _band_tier(r, doc[name], f"tiers.{name}", with_applies=True)
    if "hifob" in doc:
        hifob = r.mapping(doc["hifob"], "tiers.hifob", {"applies_to", "ratio", "cap"},
                          {"applies_to", "ratio"})
        tiers["hifob"] = BandTier(
            _applies_to(r, hifob["applies_to"], "tiers.hifob.applies_to"), 0,
            (Band(None, r.ratio(hifob["ratio"], "tiers.hifob.ratio")),),
            None if hifob.get("cap") is None else r.fen(hifob["cap"], "tiers.hifob.cap"))
    maf: dict[str, BandTier] = {}
    maf_applies: frozenset[str] = frozenset()
    if "maf" in doc:
        maf_doc = r.mapping(doc["maf"], "tiers.maf", {"applies_to", "categories"},
                            {"applies_to", "categories"})
        maf_applies = _applies_to(r, maf_doc["applies_to"], "tiers.maf.applies_to")
        for category, body in r.mapping(maf_doc["categories"], "tiers.maf.categories").items():
            maf[category] = _band_tier(r, body, f"tiers.maf.categories.{category}",
                                       with_applies=False, applies=maf_applies)
    return tiers, maf, maf_applies


def _applies_to(r: DocReader, value: object, key: str) -> frozenset[str]:
    if not isinstance(value, list) or not value or any(v not in VISIT_TYPES for v in value):
        raise r.fail(key, f"must be a non-empty list of {list(VISIT_TYPES)}, not {value!r}")
    return frozenset(value)


def _band_tier(r: DocReader, value: object, key: str, *, with_applies: bool,
               applies: frozenset[str] = frozenset()) -> BandTier:
    allowed = {"deductible", "bands", "cap"} | ({"applies_to"} if with_applies else set())
    required = {"bands"} | ({"applies_to"} if with_applies else set())
    doc = r.mapping(value, key, allowed, required)
    deductible = r.fen(doc.get("deductible", 0), f"{key}.deductible")
    bands_doc = doc["bands"]
    if not isinstance(bands_doc, list) or not bands_doc:
        raise r.fail(f"{key}.bands", "must be a non-empty list")
    bands: list[Band] = []
    floor = deductible
    for i, band_doc in enumerate(bands_doc):
        band_key = f"{key}.bands[{i}]"
        band = r.mapping(band_doc, band_key, {"upto", "ratio"}, {"upto", "ratio"})
        upto = None if band["upto"] is None else r.fen(band["upto"], f"{band_key}.upto")
        if upto is not None and upto <= floor:
            raise r.fail(f"{band_key}.upto", f"{upto} must be above {floor} (the deductible or "
                                             "the previous band)")
        if upto is None and i != len(bands_doc) - 1:
            raise r.fail(f"{band_key}.upto", "only the last band may be open (null)")
        bands.append(Band(upto, r.ratio(band["ratio"], f"{band_key}.ratio")))
        floor = upto if upto is not None else floor
    cap = doc.get("cap")
    return BandTier(_applies_to(r, doc["applies_to"], f"{key}.applies_to") if with_applies
                    else applies, deductible, tuple(bands),
                    None if cap is None else r.fen(cap, f"{key}.cap"))


def _provenance(r: DocReader, value: object) -> Provenance:
    if value is None:
        return Provenance("illustrative", "", (), "no provenance given")
    doc = r.mapping(value, "provenance", {"status", "source", "illustrative", "reason",
                                          "copied_from"}, {"status"})
    status = doc["status"]
    if status not in ("reported", "illustrative", "mixed"):
        raise r.fail("provenance.status", f"must be reported, illustrative or mixed, not {status!r}")
    keys = doc.get("illustrative", [])
    if not isinstance(keys, list) or any(not isinstance(k, str) for k in keys):
        raise r.fail("provenance.illustrative", "must be a list of keys")
    reason = doc.get("reason", "")
    if status != "reported" and not reason:
        raise r.fail("provenance.reason", f"a {status} parameter set must say why")
    return Provenance(status, str(doc.get("source", "")), tuple(keys), str(reason))


class PolicyBook:
    """All parameter sets known to a node; finds the one in force for a region, scheme and date."""

    def __init__(self, sets: Iterable[ParameterSet]) -> None:
        self._by_key: dict[tuple[str, str], list[ParameterSet]] = {}
        self._by_id: dict[str, ParameterSet] = {}
        for ps in sets:
            if ps.id in self._by_id:
                raise PolicyFileError(ps.source, "id", f"duplicate id {ps.id!r} (also in "
                                                       f"{self._by_id[ps.id].source})")
            self._by_id[ps.id] = ps
            self._by_key.setdefault((ps.insu_admdvs, ps.scheme), []).append(ps)
        for group in self._by_key.values():
            group.sort(key=lambda ps: ps.valid_from)
            for earlier, later in zip(group, group[1:], strict=False):
                if earlier.valid_until is None or earlier.valid_until > later.valid_from:
                    raise PolicyFileError(later.source, "valid_from",
                                          f"range overlaps {earlier.id} ({earlier.source})")

    def find(self, insu_admdvs: str, scheme: str, on: date) -> ParameterSet:
        """The set in force on `on`, or PolicyNotInForce."""
        for ps in self._by_key.get((insu_admdvs, scheme), ()):
            if ps.in_force(on):
                return ps
        raise PolicyNotInForce(f"no {scheme} policy of region {insu_admdvs} is in force on "
                               f"{on.isoformat()}")

    def by_id(self, set_id: str) -> ParameterSet:
        """The set with this id."""
        try:
            return self._by_id[set_id]
        except KeyError:
            raise PolicyNotInForce(f"no parameter set with id {set_id!r}") from None

    def regions(self) -> list[str]:
        """Every insured region with at least one set, sorted."""
        return sorted({admdvs for admdvs, _ in self._by_key})

    def sets(self) -> list[ParameterSet]:
        """Every set, by region, scheme and start date."""
        return sorted(self._by_id.values(), key=lambda ps: (ps.insu_admdvs, ps.scheme,
                                                            ps.valid_from))


def categories_of(scheme: str) -> tuple[str, ...]:
    """The person categories a scheme uses."""
    return CATEGORIES_OF_SCHEME[scheme]
