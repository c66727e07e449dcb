"""A parameter set as a flat list of readable items, and the public policy-difference list
(异地就医待遇差异清单): what differs in deductibles, ratios, caps and tiers between two regions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from medsettle.core.money import fen_to_yuan
from medsettle.core.policy import TIER_ORDER, BandTier, ParameterSet
from medsettle.core.tables import CATEGORIES_OF_SCHEME, LEVELS, Table

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Item:
    """One parameter as a person reads it: a label and a value in yuan or percent."""

    key: str
    label: str
    value: str


def describe(ps: ParameterSet) -> list[Item]:
    """Every parameter of a set that a patient or operator would compare, in a stable order."""
    items: list[Item] = []
    categories = CATEGORIES_OF_SCHEME[ps.scheme]
    for visit_type, benefit in ps.benefits.items():
        mode = benefit.deductible.mode.replace("_", " ")
        factors = "/".join(str(f) for f in benefit.deductible.repeat_factors)
        items += _table(f"{visit_type}.deductible", f"{visit_type} deductible ({mode})",
                        benefit.deductible.amount, categories, _yuan)
        if benefit.deductible.mode == "per_visit" and factors != "1":
            items.append(Item(f"{visit_type}.deductible.repeat", f"{visit_type} deductible, "
                              "later stays × factor", factors))
        items += _table(f"{visit_type}.ratio", f"{visit_type} pool ratio", benefit.ratio,
                        categories, _percent)
        items.append(Item(f"{visit_type}.cap_group", f"{visit_type} cap group",
                          benefit.cap_group or "none"))
        for code, quota in sorted(benefit.diseases.items()):
            cap = "none" if quota.cap is None else f"{_yuan(quota.cap)} per {quota.period}"
            items.append(Item(f"{visit_type}.disease.{code}", f"{visit_type} {code} quota", cap))
    for group, cap_table in ps.caps.items():
        if cap_table is None:
            items.append(Item(f"cap.{group}", f"annual cap {group}", "none"))
        else:
            items += _table(f"cap.{group}", f"annual cap {group}", cap_table, categories, _yuan)
    reduction = ps.temp_reduction
    for cls in ("referral", "emergency", "other_temp", "unfiled", "long_term_return"):
        value = (f"−{reduction.points_for(cls)} points" if reduction.mode == "points"
                 else f"+{_percent(reduction.extra_for(cls))} 先行自付")
        items.append(Item(f"reduction.{cls}", f"reduction for {cls}", value))
    for name in TIER_ORDER:
        if name in ps.tiers:
            items.append(Item(f"tier.{name}", f"tier {name}", _bands(ps.tiers[name])))
    for category, tier in sorted(ps.maf.items()):
        items.append(Item(f"tier.maf.{category}", f"tier maf {category}", _bands(tier)))
    items.append(Item("account.scope", "personal account scope", ps.account_scope))
    return items


def diff(a: ParameterSet, b: ParameterSet, *, everything: bool = False) -> list[tuple[Item, str]]:
    """Items of `a` with `b`'s value beside them; only those that differ unless `everything`."""
    b_values = {item.key: item.value for item in describe(b)}
    rows = [(item, b_values.pop(item.key, "—")) for item in describe(a)]
    rows += [(Item(key, key.replace(".", " "), "—"), value) for key, value in b_values.items()]
    return [row for row in rows if everything or row[0].value != row[1]]


def _table(key: str, label: str, table: Table[T], categories: tuple[str, ...],
           render: Callable[[T], str]) -> list[Item]:
    if table.distinct():
        return [Item(key, label, render(table.lookup(categories[0], "L1")))]
    items = []
    for category in categories:
        values = "/".join(render(table.lookup(category, level)) for level in LEVELS)
        items.append(Item(f"{key}.{category}", f"{label}, {category} L0/L1/L2/L3", values))
    return items


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
