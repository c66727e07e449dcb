"""A parameter set as a flat list of readable items, each with where its value comes from; the
public policy-difference list (异地就医待遇差异清单): what differs in deductibles, ratios, caps and
tiers between two regions; and the notice every human-facing output shows for sample parameters.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from medsettle.core.bands import PoolRatio, as_bands
from medsettle.core.money import fen_to_yuan
from medsettle.core.policy import TIER_ORDER, BandTier, ParameterSet
from medsettle.core.provenance import STATUSES, Origin
from medsettle.core.tables import LEVELS, Table

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Item:
    """One parameter as a person reads it: a label, a value in yuan or percent, and the document
    key it comes from with that key's origin (provenance)."""

    key: str
    label: str
    value: str
    doc_key: str = ""
    origins: tuple[Origin, ...] = ()

    @property
    def origin(self) -> str:
        """Where the value comes from, in full."""
        return "; ".join(origin.describe() for origin in self.origins)


def describe(ps: ParameterSet) -> list[Item]:
    """Every parameter of a set that a patient or operator would compare, in a stable order."""
    items: list[Item] = []
    month, day = ps.year_start
    items.append(Item("year_start", "medical year starts", f"{month:02d}-{day:02d}",
                      "year_start"))
    for visit_type, benefit in ps.benefits.items():
        base = f"benefits.{visit_type}"
        mode = benefit.deductible.mode.replace("_", " ")
        factors = "/".join(str(f) for f in benefit.deductible.repeat_factors)
        items += _table(f"{visit_type}.deductible", f"{visit_type} deductible ({mode})",
                        benefit.deductible.amount, _yuan, f"{base}.deductible.amount")
        if benefit.deductible.mode == "per_visit" and factors != "1":
            items.append(Item(f"{visit_type}.deductible.repeat", f"{visit_type} deductible, "
                              "later stays × factor", factors,
                              f"{base}.deductible.repeat_factors"))
        items += _table(f"{visit_type}.ratio", f"{visit_type} pool ratio", benefit.ratio,
                        _pool_ratio, f"{base}.ratio")
        if benefit.banded:
            basis = ("per visit" if benefit.ratio_basis == "visit"
                     else "on the medical year's eligible amount")
            items.append(Item(f"{visit_type}.ratio_basis", f"{visit_type} ratio bands apply",
                              basis, f"{base}.ratio_basis"))
        items.append(Item(f"{visit_type}.cap_group", f"{visit_type} cap group",
                          benefit.cap_group or "none", f"{base}.cap_group"))
        for code, quota in sorted(benefit.diseases.items()):
            cap = "none" if quota.cap is None else f"{_yuan(quota.cap)} per {quota.period}"
            items.append(Item(f"{visit_type}.disease.{code}", f"{visit_type} {code} quota", cap,
                              f"{base}.diseases.{code}"))
    for group, cap_table in ps.caps.items():
        if cap_table is None:
            items.append(Item(f"cap.{group}", f"annual cap {group}", "none", f"caps.{group}"))
        else:
            items += _table(f"cap.{group}", f"annual cap {group}", cap_table, _yuan,
                            f"caps.{group}")
    reduction = ps.temp_reduction
    for cls in ("referral", "emergency", "other_temp", "unfiled", "long_term_return"):
        value = (f"−{reduction.points_for(cls)} points" if reduction.mode == "points"
                 else f"+{_percent(reduction.extra_for(cls))} 先行自付")
        key = "points" if reduction.mode == "points" else "extra_preselfpay"
        items.append(Item(f"reduction.{cls}", f"reduction for {cls}", value,
                          f"temp_reduction.{key}.{cls}"))
    for name in TIER_ORDER:
        if name in ps.tiers:
            items.append(Item(f"tier.{name}", f"tier {name}", _bands(ps.tiers[name]),
                              f"tiers.{name}"))
    for category, tier in sorted(ps.maf.items()):
        items.append(Item(f"tier.maf.{category}", f"tier maf {category}", _bands(tier),
                          f"tiers.maf.categories.{category}"))
    items.append(Item("account.scope", "personal account scope", ps.account_scope,
                      "account.scope"))
    return [_with_origin(ps, item) for item in items]


def _with_origin(ps: ParameterSet, item: Item) -> Item:
    return Item(item.key, item.label, item.value, item.doc_key,
                tuple(ps.provenance.origins_under(item.doc_key)))


def provenance_counts(ps: ParameterSet) -> Counter[str]:
    """How many of the set's values have each provenance status."""
    return Counter(origin.status for origin in ps.value_origins().values())


#: How each provenance status reads in a notice, in English and in Chinese.
STATUS_WORDS = {
    "en": {"official": "from official documents",
           "secondary": "from secondary sources (unverified)",
           "copied": "copied from another region", "illustrative": "illustrative (invented)"},
    "zh": {"official": "来自正式文件", "secondary": "来自二手资料（未核实）",
           "copied": "复制自其他地区", "illustrative": "为示意值（虚构）"},
}


def provenance_notice(ps: ParameterSet, lang: str = "en") -> str:
    """One sentence for every human-facing output that uses the set: official policy, or sample
    parameters (示例参数) with how many values come from where and which regions' values were
    copied; in English, or in Chinese with `lang="zh"`."""
    zh = lang == "zh"
    if ps.official:
        return (f"正式参数：{ps.id} 的每个取值均来自正式文件。" if zh else
                f"Official parameters: every value of {ps.id} is from an official document.")
    counts = provenance_counts(ps)
    total = sum(counts.values())
    words = STATUS_WORDS["zh" if zh else "en"]
    copied = sorted({o.copied_from for o in ps.value_origins().values() if o.copied_from})
    if zh:
        parts = [f"{counts[s]} 个{words[s]}" for s in STATUSES if counts[s]]
        text = (f"示例参数，非正式政策：{ps.id} 并非全部来自正式文件。其 {total} 个取值中，"
                f"{'，'.join(parts)}。")
        return text + (f"复制自地区 {'、'.join(copied)}。" if copied else "")
    parts = [f"{counts[s]} {words[s]}" for s in STATUSES if counts[s]]
    text = (f"SAMPLE PARAMETERS, not official policy: {ps.id} is not wholly from an official "
            f"document. Of its {total} values, {', '.join(parts)}.")
    return text + (f" Copied from region {', '.join(copied)}." if copied else "")


def notices(ps: ParameterSet) -> dict[str, str]:
    """The notice in each language a page may show, keyed by language."""
    return {lang: provenance_notice(ps, lang) for lang in STATUS_WORDS}


def diff(a: ParameterSet, b: ParameterSet, *, everything: bool = False) -> list[tuple[Item, str]]:
    """Items of `a` with `b`'s value beside them; only those that differ unless `everything`."""
    b_values = {item.key: item.value for item in describe(b)}
    rows = [(item, b_values.pop(item.key, "—")) for item in describe(a)]
    rows += [(Item(key, key.replace(".", " "), "—"), value) for key, value in b_values.items()]
    return [row for row in rows if everything or row[0].value != row[1]]


def _table(key: str, label: str, table: Table[T], render: Callable[[T], str],
           doc_key: str) -> list[Item]:
    categories = table.keys()
    if table.distinct():
        return [Item(key, label, render(table.lookup(categories[0], "L1")), doc_key)]
    items = []
    for category in categories:
        cells = [render(table.cells[(category, level)]) for level in LEVELS]
        values = cells[0] if len(set(cells)) == 1 else " / ".join(cells)
        where = f"{doc_key}.{category}" if _keyed_by_category(table) else doc_key
        items.append(Item(f"{key}.{category}", f"{label}, {category}"
                          + ("" if len(set(cells)) == 1 else " L0/L1/L2/L3"), values, where))
    return items


def _keyed_by_category(table: Table[T]) -> bool:
    source = table.source
    return isinstance(source, dict) and all(isinstance(k, str) and not k.startswith("L")
                                            for k in source)


def _pool_ratio(ratio: PoolRatio) -> str:
    bands = as_bands(ratio)
    if len(bands) == 1:
        return _percent(bands[0].ratio)
    return ", ".join(f"{_percent(b.ratio)} " + ("above" if b.upto is None else
                                                f"to {_yuan(b.upto)}") for b in bands)


def _bands(tier: BandTier) -> str:
    parts = [f"from {_yuan(tier.deductible)}"]
    for band in tier.bands:
        parts.append(f"{_percent(band.ratio)} to {'∞' if band.upto is None else _yuan(band.upto)}")
    if tier.cap is not None:
        parts.append(f"cap {_yuan(tier.cap)}")
    return ", ".join(parts)


def _yuan(fen: int) -> str:
    return f"¥{fen_to_yuan(fen)}"


def _percent(ratio: Decimal) -> str:
    return f"{(ratio * 100).normalize():f}%"
