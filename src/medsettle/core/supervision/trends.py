"""R09 cost surge and R10 structure outliers: institutions over a month (domain.md §9).

R09 opens a 双地联查 (joint audit of the insured and the treating place) [S ">20%"].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from medsettle.core.supervision.facts import CONSUMABLE_KINDS, EXAM_KINDS, Claim
from medsettle.core.supervision.hits import Hit
from medsettle.core.supervision.stats import show, upper_fence
from medsettle.core.supervision.thresholds import Thresholds


def cost_surge(monthly: Mapping[str, Sequence[int]], month: str,
               t: Thresholds) -> list[Hit]:
    """R09: each institution's fund payments of `month` (the last value of its sequence) above
    `surge_ratio` × the mean of the `baseline_months` before it (missing months count 0), when
    that baseline is at least `min_baseline`. `monthly` maps an institution to its months,
    oldest first, ending with `month`."""
    hits = []
    n = t.r09.baseline_months
    for institution, values in sorted(monthly.items()):
        if len(values) < 1:
            continue
        current = values[-1]
        before = list(values[:-1])[-n:]
        before = [0] * (n - len(before)) + before
        baseline = Fraction(sum(before), n)
        if baseline < t.r09.min_baseline:
            continue
        ratio = Fraction(current) / baseline
        if ratio > Fraction(t.r09.surge_ratio):
            hits.append(Hit(
                "R09", "institution", institution,
                f"fund payments of {month} are {show(ratio, 2)}× the mean of the previous "
                f"{n} months", f"r09.surge_ratio = {t.r09.surge_ratio}",
                t.source_of("r09.surge_ratio"),
                {"month": month, "fund": str(current), "baseline": show(baseline, 0),
                 "ratio": show(ratio, 4), "previous": ", ".join(map(str, before))},
                institution=institution, amount=current - int(baseline)))
    return hits


@dataclass(frozen=True, slots=True)
class Structure:
    """An institution's month: claims, medical fees and the amounts of each share."""

    institution: str
    province: str
    level: str
    claims: int
    medfee: int
    parts: Mapping[str, int]

    def share(self, name: str) -> Fraction:
        """A part's share of the medical fees."""
        return Fraction(self.parts.get(name, 0), self.medfee) if self.medfee else Fraction(0)


def structures(claims: Sequence[Claim]) -> list[Structure]:
    """Each institution's drug, consumable and exam amounts over the claims."""
    acc: dict[str, dict[str, object]] = {}
    for claim in claims:
        entry = acc.setdefault(claim.institution, {"province": claim.treating_region[:2],
                                                   "level": claim.level, "claims": 0,
                                                   "medfee": 0, "drug": 0, "consumable": 0,
                                                   "exam": 0})
        entry["claims"] = int(str(entry["claims"])) + 1
        for line in claim.lines:
            entry["medfee"] = int(str(entry["medfee"])) + line.amount
            part = ("drug" if line.drug else "consumable" if line.kind in CONSUMABLE_KINDS
                    else "exam" if line.kind in EXAM_KINDS else None)
            if part:
                entry[part] = int(str(entry[part])) + line.amount
    return [Structure(code, str(e["province"]), str(e["level"]), int(str(e["claims"])),
                      int(str(e["medfee"])), {k: int(str(e[k])) for k in
                                              ("drug", "consumable", "exam")})
            for code, e in sorted(acc.items())]


def structure_outliers(items: Sequence[Structure], t: Thresholds) -> list[Hit]:
    """R10: an institution whose drug, consumable or exam share is above the Tukey fence of its
    peers (same province and level, enough claims)."""
    groups: dict[tuple[str, str], list[Structure]] = {}
    for s in items:
        if s.claims >= t.r10.min_claims and s.medfee > 0:
            groups.setdefault((s.province, s.level), []).append(s)
    hits = []
    for peers in groups.values():
        if len(peers) < t.r10.min_peers:
            continue
        for name in t.r10.shares:
            for s in peers:
                others = [p.share(name) for p in peers if p is not s]
                fence = upper_fence(others, t.r10.fence)
                if s.share(name) > fence + Fraction(t.r10.min_excess):
                    hits.append(Hit(
                        "R10", "institution", s.institution,
                        f"{name} share {show(s.share(name) * 100, 1)}% above the fence "
                        f"{show(fence * 100, 1)}% of its {len(others)} peers at {s.level}",
                        f"r10.fence = {t.r10.fence}", t.source_of("r10.fence"),
                        {"share": name, "value": show(s.share(name)), "fence": show(fence),
                         "peers": str(len(others))}, institution=s.institution,
                        amount=s.parts.get(name, 0)))
    unique: dict[str, Hit] = {}
    for hit in hits:
        unique.setdefault(hit.key, hit)
    return sorted(unique.values(), key=lambda h: h.key)
