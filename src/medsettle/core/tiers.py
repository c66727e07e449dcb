"""The further tiers of a parameter set (domain.md §4 S6): 大病 hifmi, 大额 hifob, 公务员 cvlserv
and 医疗救助 maf, each paid in bands over a yearly cumulative base."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from medsettle.core.bands import Band
from medsettle.core.tables import DocReader

VISIT_TYPES = ("inpatient", "outpatient", "chronic")
TIER_ORDER = ("hifmi", "hifob", "cvlserv", "maf")


@dataclass(frozen=True, slots=True)
class BandTier:
    """A tier paid in bands over a yearly cumulative base (大病, 大额, 公务员, one 救助 category)."""

    applies_to: frozenset[str]
    deductible: int
    bands: tuple[Band, ...]
    cap: int | None


def parse_tiers(r: DocReader, value: object) -> tuple[dict[str, BandTier], dict[str, BandTier],
                                                     frozenset[str]]:
    """`tiers`: hifmi, hifob (at most one of the two), cvlserv, and maf by category."""
    doc = r.mapping(value, "tiers", set(TIER_ORDER))
    if "hifmi" in doc and "hifob" in doc:
        raise r.fail("tiers", "a parameter set has at most one of hifmi and hifob")
    tiers: dict[str, BandTier] = {}
    for name in ("hifmi", "cvlserv"):
        if name in doc:
            tier = r.attempt(partial(_band_tier, r, doc[name], f"tiers.{name}",
                                     with_applies=True), None)
            if tier is not None:
                tiers[name] = tier
    if "hifob" in doc:
        hifob = r.attempt(partial(_hifob, r, doc["hifob"]), None)
        if hifob is not None:
            tiers["hifob"] = hifob
    maf: dict[str, BandTier] = {}
    maf_applies: frozenset[str] = frozenset()
    if "maf" in doc:
        maf_doc = r.mapping(doc["maf"], "tiers.maf", {"applies_to", "categories"},
                            {"applies_to", "categories"})
        maf_applies = _applies_to(r, maf_doc["applies_to"], "tiers.maf.applies_to")
        categories: Mapping[str, object] = r.mapping(maf_doc["categories"],
                                                     "tiers.maf.categories")
        for category, body in categories.items():
            found = r.attempt(partial(_band_tier, r, body, f"tiers.maf.categories.{category}",
                                      with_applies=False, applies=maf_applies), None)
            if found is not None:
                maf[category] = found
    r.raise_first_of("tiers")
    return tiers, maf, maf_applies


def _hifob(r: DocReader, value: object) -> BandTier:
    hifob = r.mapping(value, "tiers.hifob", {"applies_to", "ratio", "cap"},
                      {"applies_to", "ratio"})
    return BandTier(
        _applies_to(r, hifob["applies_to"], "tiers.hifob.applies_to"), 0,
        (Band(None, r.ratio(hifob["ratio"], "tiers.hifob.ratio")),),
        None if hifob.get("cap") is None else r.fen(hifob["cap"], "tiers.hifob.cap"))


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
