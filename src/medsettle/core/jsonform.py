"""Typed values as JSON values and back: the one codec of the node-to-node exchange
(services/exchange) and of the answers a node keeps in its message log.

`encode` turns a dataclass (and what it holds: dates, times, decimals, amounts, tuples) into
JSON values; `decode` reads them back by the dataclass's type hints, checking every field, so a
payload from another node is either the exact typed request or InvalidInput naming the field
(`payload.lines[2].price`). Strings are non-empty unless their field's default is "" (an
optional one may be "" or null: None),
decimals are decimal strings, finite and not negative; floats are refused everywhere.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from medsettle.core.errors import InvalidInput

T = TypeVar("T")
MAX_TEXT = 200
MAX_ITEMS = 10000


_PLAIN = (str, int, float, bool, type(None))


def encode(value: Any) -> Any:
    """A JSON-ready form of `value` (dataclasses as objects of their init fields)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _init_fields(kind) if dataclasses.is_dataclass(kind) else None
    if names is not None:
        return {name: encode(getattr(value, name)) for name in names}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    if hasattr(value, "value") and isinstance(value.value, str):  # a StrEnum
        return value.value
    return value


@cache
def _init_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def decode(cls: type[T], doc: object, field: str = "payload") -> T:
    """The `cls` that `doc` describes, or InvalidInput naming the first bad field."""
    return _read(cls, doc, field)  # type: ignore[no-any-return]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _read(kind: Any, value: object, field: str) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        if value is None or value == "":
            if len(options) < len(get_args(kind)):
                return None
            raise InvalidInput(field, "is required")
        return _read(options[0], value, field)
    if origin is Literal:
        if value not in get_args(kind):
            raise InvalidInput(field, f"must be one of {', '.join(map(str, get_args(kind)))}")
        return value
    if origin is tuple:
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise InvalidInput(field, "must be a list")
        return tuple(_read(get_args(kind)[0], v, f"{field}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping) or kind is dict:
        if not isinstance(value, dict):
            raise InvalidInput(field, "must be a JSON object")
        return value
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _object(kind, value, field)
    reader = _SCALARS.get(kind)
    if reader is None:
        raise TypeError(f"no JSON form for {kind!r}")
    return reader(value, field)


def _object(cls: type, value: object, field: str) -> Any:
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be a JSON object")
    hints = _hints(cls)
    given = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        if f.name not in value:
            if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING:
                continue
            raise InvalidInput(f"{field}.{f.name}", "is required")
        if f.default is not dataclasses.MISSING and value[f.name] == f.default:
            given[f.name] = f.default  # an empty text, false, zero or null: as declared
            continue
        given[f.name] = _read(hints[f.name], value[f.name], f"{field}.{f.name}")
    try:
        return cls(**given)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(field, str(exc)) from None


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise InvalidInput(field, f"must be a non-empty string of at most {MAX_TEXT} characters")
    return value


def _integer(value: object, field: str) -> int:
    if type(value) is not int:
        raise InvalidInput(field, "must be an integer")
    return value


def _flag(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, "must be true or false")
    return value


def _decimal(value: object, field: str) -> Decimal:
    try:
        number = Decimal(_text(value, field))
    except InvalidOperation:
        raise InvalidInput(field, f"must be a decimal string, got {value!r}") from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(field, "must be a finite, non-negative decimal")
    return number


def _moment(value: object, field: str) -> datetime:
    try:
        return datetime.fromisoformat(_text(value, field))
    except ValueError:
        raise InvalidInput(field, f"must be an ISO date-time, got {value!r}") from None


def _day(value: object, field: str) -> date:
    try:
        return date.fromisoformat(_text(value, field))
    except ValueError:
        raise InvalidInput(field, f"must be an ISO date, got {value!r}") from None


_SCALARS: dict[Any, Any] = {str: _text, int: _integer, bool: _flag, Decimal: _decimal,
                            datetime: _moment, date: _day, Any: lambda value, field: value}
