"""The value types of the SDK's models: amounts in yuan as exact decimals (never float), times in
the national text forms, flags "0"/"1", and the two base models.

On the wire the national interface writes amounts in yuan (`281.00`, or `"281.00"`); a model
holds them as `Decimal` quantized to the fen, and `fen()` turns one into integer fen for sums.
Requests are sent with amounts as decimal strings, which every deployment accepts.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, StringConstraints

WIRE_TIME = "%Y-%m-%d %H:%M:%S"
FEN = Decimal("0.01")


def _decimal(value: Any, places: int, what: str) -> Decimal:
    """A JSON number or decimal string as an exact Decimal with at most `places` decimals."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} must be a number, not {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int | float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{what} must be a decimal number, not {value!r}") from None
    else:
        raise ValueError(f"{what} must be a number, not {type(value).__name__}")
    if not number.is_finite():
        raise ValueError(f"{what} must be finite, not {value!r}")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        raise ValueError(f"{what} has more than {places} decimals: {value!r}")
    return number


def _yuan(value: Any) -> Decimal:
    return _decimal(value, 2, "an amount in yuan").quantize(FEN)


def _count(value: Any) -> Decimal:
    return _decimal(value, 4, "a quantity")


def _price(value: Any) -> Decimal:
    return _decimal(value, 6, "a price")


def _ratio(value: Any) -> Decimal:
    return _decimal(value, 4, "a ratio")


def _wire_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.strptime(value, WIRE_TIME)
        except ValueError:
            raise ValueError(f"expected yyyy-MM-dd HH:mm:ss, got {value!r}") from None
    raise ValueError(f"expected a time yyyy-MM-dd HH:mm:ss, got {value!r}")


def _wire_date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else _bad_date(value)
        except ValueError:
            return _bad_date(value)
    return _bad_date(value)


def _bad_date(value: Any) -> date:
    raise ValueError(f"expected a date yyyy-MM-dd, got {value!r}")


def _flag(value: Any) -> str:
    if value in ("0", "1"):
        return str(value)
    raise ValueError(f"expected the flag \"0\" or \"1\", got {value!r}")


def _text(value: Any) -> Any:
    """Blank optional text as real traffic sends it ("", null, "null") reads as ""."""
    return "" if value is None or value == "null" else value


#: An amount in yuan, exact to the fen; sent as a decimal string ("281.00").
Yuan = Annotated[Decimal, BeforeValidator(_yuan),
                 PlainSerializer(lambda d: f"{d:.2f}", return_type=str)]
#: A quantity (cnt), at most 4 decimals.
Count = Annotated[Decimal, BeforeValidator(_count),
                  PlainSerializer(lambda d: format(d, "f"), return_type=str)]
#: A unit price (pric), at most 6 decimals.
Price = Annotated[Decimal, BeforeValidator(_price),
                  PlainSerializer(lambda d: format(d, "f"), return_type=str)]
#: A ratio such as selfpay_prop (0.1000).
Ratio = Annotated[Decimal, BeforeValidator(_ratio),
                  PlainSerializer(lambda d: format(d, "f"), return_type=str)]
#: A date-time as the interface writes it: yyyy-MM-dd HH:mm:ss (Beijing time, no zone).
WireTime = Annotated[datetime, BeforeValidator(_wire_time),
                     PlainSerializer(lambda d: d.strftime(WIRE_TIME), return_type=str)]
#: A date: yyyy-MM-dd.
WireDate = Annotated[date, BeforeValidator(_wire_date),
                     PlainSerializer(lambda d: d.isoformat(), return_type=str)]
#: A flag: "0" or "1".
Flag = Annotated[str, BeforeValidator(_flag)]
#: Optional text; "", null and "null" all read as "".
OptText = Annotated[str, BeforeValidator(_text)]
#: An identifier (psn_no, mdtrt_id, setl_id…): 1–30 characters.
Id = Annotated[str, StringConstraints(min_length=1, max_length=30)]
#: An administrative division: 6 digits.
Admdvs = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]


def fen(amount: Decimal) -> int:
    """An amount in yuan as integer fen (分), half-up to the fen."""
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


def yuan_of(fen_amount: int) -> Decimal:
    """Integer fen as an exact yuan Decimal."""
    return (Decimal(fen_amount) / 100).quantize(FEN)


class Message(BaseModel):
    """A part of a request input: national field names; unknown keys are kept (local dialects)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    def wire(self) -> dict[str, Any]:
        """The JSON-ready form sent on the wire (amounts as decimal strings, times as text)."""
        return self.model_dump(mode="json", by_alias=True)


class Answer(BaseModel):
    """A part of a transaction output: the national keys it models, every other key kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)
