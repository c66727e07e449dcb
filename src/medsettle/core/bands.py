"""Band lists (分段) and their exact arithmetic.

Two rules cut an amount into bands and pay each part at its own ratio:

- a yearly tier (大病, 大额, 公务员, one 救助 category; domain.md §4 S6 "Band") cuts the person's
  cumulative base of the medical year, from the tier's deductible;
- an amount-banded pool ratio (分段报销; §5 "Real policy shapes") cuts the eligible amount E of a
  visit, placed from 0 (`ratio_basis: visit`) or from the eligible amount of the cap group so far
  in the medical year (`ratio_basis: year`, the `pool_base` accumulator).

Both are exact: each part is a rational number and rule R rounds only the sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from medsettle.core.money import round_half_up
from medsettle.core.tables import DocReader


@dataclass(frozen=True, slots=True)
class Band:
    """One band: the amount up to `upto` fen (None = ∞), from the previous band's end, at `ratio`."""

    upto: int | None
    ratio: Decimal


#: A pool ratio is one ratio or a band list (分段报销); one ratio is one band up to ∞.
PoolRatio = Decimal | tuple[Band, ...]


@dataclass(frozen=True, slots=True)
class Segment:
    """The part [start, end) of an amount that falls in one band, paid at `ratio`."""

    start: int
    end: int
    ratio: Decimal

    @property
    def width(self) -> int:
        """end − start (0 when the amount does not reach the band)."""
        return self.end - self.start

    @property
    def exact(self) -> Fraction:
        """ratio × width, exactly."""
        return Fraction(self.ratio) * self.width


def as_bands(ratio: PoolRatio) -> tuple[Band, ...]:
    """A pool ratio as a band list: one ratio is the single band up to ∞."""
    return ratio if isinstance(ratio, tuple) else (Band(None, ratio),)


def reduced(bands: Sequence[Band], points: int) -> tuple[Band, ...]:
    """Each band's ratio less the temporary-traveller points, never below 0 (S4)."""
    cut = Decimal(points) / 100
    return tuple(Band(b.upto, max(Decimal(0), b.ratio - cut)) for b in bands)


def ratio_at(bands: Sequence[Band], position: int) -> Decimal:
    """The ratio of the band that holds `position` (bands start at 0)."""
    for band in bands:
        if band.upto is None or position < band.upto:
            return band.ratio
    return bands[-1].ratio


def segments(bands: Sequence[Band], floor: int, start: int, amount: int) -> list[Segment]:
    """[start, start + amount) cut by the bands [floor, upto₁), [upto₁, upto₂), …: one segment per
    band, in order, of width 0 where the amount does not reach (or has passed) the band."""
    out: list[Segment] = []
    low = floor
    end = start + amount
    for band in bands:
        high = end if band.upto is None else min(end, band.upto)
        lo = max(start, low)
        out.append(Segment(lo, max(lo, high), band.ratio))
        if band.upto is None:
            break
        low = band.upto
    return out


def exact_sum(parts: Sequence[Segment]) -> Fraction:
    """Σ ratioₖ × widthₖ, exactly."""
    return sum((p.exact for p in parts), Fraction(0))


def rounded(value: Fraction) -> int:
    """Rule R on an exact value."""
    return round_half_up(value.numerator, value.denominator)


def eligible_within_cap(parts: Sequence[Segment], cap_left: int) -> int | None:
    """E*, the part of the eligible amount the pool pays on before `cap_left` runs out (§5 "Real
    policy shapes", S5 with bands): walk the bands in order, m = cap_left; stop in the first band
    whose room r′ₖ × wₖ holds m (r′ₖ > 0) at Σ earlier w + R(m / r′ₖ); else m −= room. None when
    the bands hold more than m nowhere (the cap does not bind)."""
    m = Fraction(cap_left)
    before = 0
    for part in parts:
        room = part.exact
        if m <= room and part.ratio > 0:
            return before + rounded(m / Fraction(part.ratio))
        m -= room
        before += part.width
    return None


def parse_pool_bands(r: DocReader, value: object, key: str) -> tuple[Band, ...]:
    """A pool ratio band list: `upto` in fen of the eligible amount, strictly increasing from 0,
    the last one null; ratios in [0, 1]."""
    if not isinstance(value, list) or not value:
        raise r.fail(key, "a band list must be a non-empty list of {upto, ratio}")
    bands: list[Band] = []
    floor = 0
    for i, band_doc in enumerate(value):
        band_key = f"{key}[{i}]"
        band = r.mapping(band_doc, band_key, {"upto", "ratio"}, {"upto", "ratio"})
        last = i == len(value) - 1
        if band["upto"] is None and not last:
            raise r.fail(f"{band_key}.upto", "only the last band may be open (null)")
        if band["upto"] is not None and last:
            raise r.fail(f"{band_key}.upto", "a band list must end with upto: null (the band "
                                             "that has no end)")
        upto = None if band["upto"] is None else r.fen(band["upto"], f"{band_key}.upto")
        if upto is not None and upto <= floor:
            raise r.fail(f"{band_key}.upto", f"{upto} must be above {floor} (band edges "
                                             "increase strictly)")
        bands.append(Band(upto, r.ratio(band["ratio"], f"{band_key}.ratio")))
        floor = upto if upto is not None else floor
    return tuple(bands)


def parse_pool_ratio(r: DocReader, value: object, key: str) -> PoolRatio:
    """A TABLE cell of a pool ratio: a quoted ratio, or a band list."""
    if isinstance(value, list):
        return parse_pool_bands(r, value, key)
    return r.ratio(value, key)
