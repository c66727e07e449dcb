"""Money is integer fen (分); ratios are `Decimal`. Rule R, the project's only rounding, lives here.

Every amount in MedSettle is an `int` number of fen. Arithmetic on ratios and prices is exact
(integer numerator/denominator), and the one place where an exact value becomes whole fen is
`round_half_up` (domain.md §4 "Rule R").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from medsettle.core.errors import InvalidInput, MoneyTypeError

#: Upper bound for one amount: 10^12 fen (¥10 bn) is far above any bill; beyond it input is absurd.
MAX_FEN = 10**12


def round_half_up(numerator: int, denominator: int) -> int:
    """Rule R: the nearest whole fen to numerator/denominator, halves away from zero.

    domain.md applies R only to values ≥ 0; for negatives the result mirrors the positive case,
    so that R(−x) = −R(x).
    """
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator < 0:
        return -round_half_up(-numerator, denominator)
    return (2 * numerator + denominator) // (2 * denominator)


@lru_cache(maxsize=4096)
def _fraction(value: Decimal) -> tuple[int, int]:
    return value.as_integer_ratio()


def apply_ratio(fen: int, ratio: Decimal) -> int:
    """R(fen × ratio): an amount times a ratio, rounded once by rule R."""
    num, den = _fraction(ratio)
    return round_half_up(fen * num, den)


def divide_by_ratio(fen: int, ratio: Decimal) -> int:
    """R(fen ÷ ratio), e.g. the in-scope amount a capped pool payment corresponds to (S5)."""
    num, den = _fraction(ratio)
    if num == 0:
        raise ZeroDivisionError("ratio is zero")
    return round_half_up(fen * den, num)


def price_times_count(price: Decimal, count: Decimal) -> int:
    """R(price × 100 × count): a fee line's amount in fen from a yuan price and a quantity."""
    pn, pd = _fraction(price)
    cn, cd = _fraction(count)
    return round_half_up(pn * cn * 100, pd * cd)


def parse_decimal(value: object, field: str, *, places: int = 6, minimum: Decimal | None = None,
                  maximum: Decimal | None = None) -> Decimal:
    """Read an exact decimal from a string or int (never a float); `field` names it in errors."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyTypeError(field, f"must be a quoted decimal string, not {type(value).__name__}"
                             f" {value!r}")
    if isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise MoneyTypeError(field, f"{value!r} is not a decimal number") from None
    else:
        raise MoneyTypeError(field, f"must be a decimal string, not {type(value).__name__}")
    if not result.is_finite():
        raise MoneyTypeError(field, f"{value!r} is not a finite number")
    exponent = result.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise MoneyTypeError(field, f"{value!r} has more than {places} decimal places")
    if minimum is not None and result < minimum:
        raise MoneyTypeError(field, f"{value!r} is below {minimum}")
    if maximum is not None and result > maximum:
        raise MoneyTypeError(field, f"{value!r} is above {maximum}")
    return result


def parse_ratio(value: object, field: str) -> Decimal:
    """A ratio in [0, 1] from a quoted decimal string, e.g. "0.85"."""
    return parse_decimal(value, field, places=6, minimum=Decimal(0), maximum=Decimal(1))


def parse_fen(value: object, field: str) -> int:
    """A non-negative integer amount in fen (floats and bools are refused)."""
    if type(value) is not int:
        raise MoneyTypeError(field, f"must be an integer number of fen, not {type(value).__name__}"
                             f" {value!r}")
    if value < 0:
        raise MoneyTypeError(field, f"{value} is negative")
    if value > MAX_FEN:
        raise MoneyTypeError(field, f"{value} is absurdly large (limit {MAX_FEN} fen)")
    return value


def yuan_to_fen(value: object, field: str) -> int:
    """An amount in yuan (JSON number or decimal string, as HIS systems send) to fen, by rule R."""
    if isinstance(value, float):
        value = repr(value)  # a JSON number: its shortest repr is the decimal the sender wrote
    amount = parse_decimal(value, field, places=6)
    num, den = amount.as_integer_ratio()
    fen = round_half_up(num * 100, den)
    if abs(fen) > MAX_FEN:
        raise MoneyTypeError(field, f"{value!r} is absurdly large")
    return fen


def fen_to_yuan(fen: int) -> str:
    """Fen as a yuan string with two decimals: 123456 → "1234.56", −5 → "-0.05"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def split(total: int, weights: list[int]) -> list[int]:
    """Split `total` fen in proportion to `weights`, exactly: the parts always sum to `total`.

    Each part is floored, then the fen left over go to the largest remainders (ties to the
    earliest weight), so the split is deterministic.
    """
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise InvalidInput("weights", "need at least one positive weight and none negative")
    weight_sum = sum(weights)
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    left = magnitude - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * part for part in floors]


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in integer fen (分). Never float. Used where an amount crosses a boundary."""

    fen: int

    def __post_init__(self) -> None:
        if type(self.fen) is not int:  # rejects float and bool
            raise MoneyTypeError("fen", f"must be int, not {type(self.fen).__name__}")

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    @property
    def yuan(self) -> str:
        """The amount as a yuan string with two decimals."""
        return fen_to_yuan(self.fen)

    def __str__(self) -> str:
        return f"¥{self.yuan}"
