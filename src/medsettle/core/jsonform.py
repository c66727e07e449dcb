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
from collections.abc import Callable, Mapping
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
    kind: Any = cls
    return _reader(kind)(doc, field)  # type: ignore[no-any-return]


#: Reads one JSON value as a type: (value, the field's name for errors) → the typed value.
Reader = Callable[[object, str], Any]


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


@cache
def _reader(kind: Any) -> Reader:
    """The reader of a type, built once from its hints: decoding a payload then costs no
    reflection (decode runs on every node-to-node message, at the hub for every forward)."""
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        return _optional_reader(kind)
    if origin is Literal:
        return _literal_reader(get_args(kind))
    if origin is tuple:
        return _tuple_reader(get_args(kind)[0])
    if origin in (dict, Mapping) or kind is dict:
        return _read_mapping
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _object_reader(kind)
    reader: Reader | None = _SCALARS.get(kind)
    if reader is None:
        def unknown(value: object, field: str) -> Any:
            raise TypeError(f"no JSON form for {kind!r}")
        return unknown
    return reader


def _optional_reader(kind: Any) -> Reader:
    """A union: its first type that is not None; "" or null is None when None is allowed."""
    args = get_args(kind)
    options = [a for a in args if a is not type(None)]
    nullable = len(options) < len(args)

    def read_optional(value: object, field: str) -> Any:
        if value is None or value == "":
            if nullable:
                return None
            raise InvalidInput(field, "is required")
        return _reader(options[0])(value, field)
    return read_optional


def _literal_reader(allowed: tuple[Any, ...]) -> Reader:
    message = f"must be one of {', '.join(map(str, allowed))}"

    def read_literal(value: object, field: str) -> Any:
        if value not in allowed:
            raise InvalidInput(field, message)
        return value
    return read_literal


def _tuple_reader(item: Any) -> Reader:
    def read_tuple(value: object, field: str) -> Any:
        if not isinstance(value, list) or len(value) > MAX_ITEMS:
            raise InvalidInput(field, "must be a list")
        read_item = _reader(item)
        return tuple(read_item(v, f"{field}[{i}]") for i, v in enumerate(value))
    return read_tuple


def _read_mapping(value: object, field: str) -> Any:
    if not isinstance(value, dict):
        raise InvalidInput(field, "must be a JSON object")
    return value


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    """One init field of a dataclass as the object reader needs it."""

    name: str
    hint: Any
    optional: bool  # it has a default or a default factory: it may be left out
    default: Any  # dataclasses.MISSING when it has none


def _object_reader(cls: type) -> Reader:
    """A dataclass from a JSON object: every init field read by its hint (its readers are
    looked up on use, so a dataclass may refer to itself)."""
    fields: tuple[_Field, ...] | None = None

    def read_object(value: object, field: str) -> Any:
        nonlocal fields
        if not isinstance(value, dict):
            raise InvalidInput(field, "must be a JSON object")
        if fields is None:
            fields = _fields_of(cls)
        given = {}
        for f in fields:
            if f.name not in value:
                if f.optional:
                    continue
                raise InvalidInput(f"{field}.{f.name}", "is required")
            raw = value[f.name]
            if f.default is not dataclasses.MISSING and raw == f.default:
                given[f.name] = f.default  # an empty text, false, zero or null: as declared
                continue
            given[f.name] = _reader(f.hint)(raw, f"{field}.{f.name}")
        try:
            return cls(**given)
        except (ValueError, TypeError) as exc:
            raise InvalidInput(field, str(exc)) from None
    return read_object


def _fields_of(cls: type) -> tuple[_Field, ...]:
    hints = _hints(cls)
    return tuple(_Field(f.name, hints[f.name], f.default is not dataclasses.MISSING
                        or f.default_factory is not dataclasses.MISSING, f.default)
                 for f in dataclasses.fields(cls) if f.init)


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
