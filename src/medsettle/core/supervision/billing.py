"""R03 分解/重复收费, R04 串换 and R12 price above cap billed in scope: the lines of one claim.

Law: 国务院令第735号 Arts. 15/38 (重复/分解收费, 串换): refund + 1–2× fine.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from medsettle.core.money import fen_to_yuan, price_times_count
from medsettle.core.supervision.facts import Claim, Line
from medsettle.core.supervision.hits import Hit
from medsettle.core.supervision.thresholds import Thresholds


def repeated_charges(claim: Claim, t: Thresholds) -> Hit | None:
    """R03: more units of a daily item (bed, examination, nursing; or a listed code) than its
    cap per day, counted per day when the lines carry days, else over the stay's days; or a
    bundle billed together with one of its components."""
    over: list[Line] = []
    measured: dict[str, str] = {}
    for name, caps, key_of in (("kind", t.r03.daily_caps, _kind_of),
                               ("code", t.r03.capped_codes, _code_of)):
        if not caps:
            continue
        units: dict[tuple[str, date | None], Decimal] = {}
        for line in claim.lines:
            key = key_of(line)
            if key in caps and line.count > 0:
                units[(key, line.day)] = units.get((key, line.day), Decimal(0)) + line.count
        for (key, day), count in sorted(units.items(), key=str):
            allowed = caps[key] * (1 if day is not None else claim.days)
            if count > allowed:
                over.extend(ln for ln in claim.lines if key_of(ln) == key and ln.day == day)
                measured[f"{name} {key}" + (f" on {day}" if day else "")] = \
                    f"{count} units, cap {allowed}"
    codes = {line.code for line in claim.lines}
    for bundle, parts in sorted(t.r03.bundles.items()):
        both = [p for p in parts if p in codes]
        if bundle in codes and both:
            over.extend(ln for ln in claim.lines if ln.code in (bundle, *both))
            measured[f"bundle {bundle}"] = "billed with " + ", ".join(both)
    if not over:
        return None
    first = next(iter(measured))
    return Hit("R03", "settlement", claim.settlement_id,
               f"{first}: {measured[first]}" + (f" (+{len(measured) - 1} more)"
                                                 if len(measured) > 1 else ""),
               "r03.daily_caps = " + ", ".join(f"{k}:{v}" for k, v in
                                               sorted(t.r03.daily_caps.items())),
               t.source_of("r03.daily_caps"), measured, (claim.settlement_id,),
               _refs(claim, over), claim.institution, claim.person_id,
               sum(line.amount for line in over))


def swapped_items(claim: Claim, t: Thresholds) -> Hit | None:
    """R04: a dearer look-alike of a rule pair billed without any item that genuine use of it
    comes with (大清创 billed without the anaesthesia a large debridement needs)."""
    codes = {line.code for line in claim.lines}
    for pair in t.r04.pairs:
        if pair.billed in codes and not codes.intersection(pair.evidence):
            lines = [line for line in claim.lines if line.code == pair.billed]
            return Hit("R04", "settlement", claim.settlement_id,
                       f"{pair.billed} billed without any of {', '.join(pair.evidence)}: "
                       f"likely {pair.instead_of} swapped up",
                       f"r04.pairs: {pair.billed} for {pair.instead_of}",
                       t.source_of("r04.pairs"),
                       {"billed": pair.billed, "instead_of": pair.instead_of,
                        "evidence_found": "none"}, (claim.settlement_id,),
                       _refs(claim, lines), claim.institution, claim.person_id,
                       sum(line.amount for line in lines))
    return None


def over_cap_in_scope(claim: Claim, t: Thresholds) -> Hit | None:
    """R12: a 甲/乙 line priced above its cap whose excess was not set apart as 超限价."""
    bad: list[Line] = []
    excess = 0
    for line in claim.lines:
        if (line.cap_price is None or line.price <= line.cap_price or line.cls not in ("A", "B")
                or not line.restricted_ok):
            continue
        due = price_times_count(line.price, line.count) - price_times_count(line.cap_price,
                                                                            line.count)
        if due - line.over_cap > t.r12.tolerance:
            bad.append(line)
            excess += due - line.over_cap
    if not bad:
        return None
    return Hit("R12", "settlement", claim.settlement_id,
               f"{len(bad)} line(s) above the price cap billed in scope: ¥{fen_to_yuan(excess)} "
               "not set apart", f"r12.tolerance = {t.r12.tolerance}", t.source_of("r12.tolerance"),
               {"lines": str(len(bad)), "excess_fen": str(excess)}, (claim.settlement_id,),
               _refs(claim, bad), claim.institution, claim.person_id, excess)


def _kind_of(line: Line) -> str:
    return line.kind


def _code_of(line: Line) -> str:
    return line.code


def _refs(claim: Claim, lines: list[Line]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f"{claim.settlement_id}/{line.serial}" for line in lines))
