"""Reading one JSON object of a HIS message: typed values, tolerant blanks, errors naming the path.

Real traffic sends an empty optional field as "", null or the string "null" (interface.md §2);
all three read as None. Strings are stripped, since fixed-width database columns pad them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal

from medsettle.core.errors import InvalidCode, InvalidInput
from medsettle.core.money import fen_to_yuan, parse_decimal, yuan_to_fen

Key = str | tuple[str, ...]
Validator = Callable[[object, str], str]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", re.ASCII)
_COUNT = re.compile(r"\d{1,12}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: Default limit for free text without a documented length.
TEXT_MAX = 100


def is_blank(value: object) -> bool:
    """True for the three spellings of an absent optional value: None, "" and "null"."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("", "null"))


def join(path: str, key: str) -> str:
    """The path of `key` inside the object at `path` ("input.data" + "psn_no")."""
    return f"{path}.{key}" if path else key


def _yuan_text(fen: int) -> str:
    return f"¥{fen_to_yuan(fen)}"


class Node:
    """One JSON object of a message and its path, e.g. `input.feedetail[3]`."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise InvalidInput(path, f"must be a JSON object, not {_kind(data)}")
        self.data: Mapping[str, object] = data
        self.path = path

    def at(self, key: str) -> str:
        """The full path of a key of this object."""
        return join(self.path, key)

    def _lookup(self, key: Key) -> tuple[str, object]:
        """The path and raw value of `key`; a tuple of aliases picks the first non-blank one."""
        keys = (key,) if isinstance(key, str) else key
        for name in keys:
            if not is_blank(self.data.get(name)):
                return self.at(name), self.data[name]
        return self.at(keys[0]), None

    def opt_text(self, key: Key, *, maxlen: int = TEXT_MAX) -> str | None:
        """A string of at most `maxlen` characters, or None when blank."""
        path, value = self._lookup(key)
        if is_blank(value):
            return None
        if not isinstance(value, str):
            raise InvalidInput(path, f"must be a JSON string, not {_kind(value)} {value!r}")
        text = value.strip()
        if len(text) > maxlen:
            raise InvalidInput(path, f"is {len(text)} characters long; at most {maxlen} allowed")
        if _CONTROL.search(text):
            raise InvalidInput(path, "contains a control character")
        return text

    def text(self, key: Key, *, maxlen: int = TEXT_MAX) -> str:
        """A required string of at most `maxlen` characters."""
        text = self.opt_text(key, maxlen=maxlen)
        if text is None:
            raise InvalidInput(self._lookup(key)[0], "is required")
        return text

    def opt_code(self, key: Key, validator: Validator) -> str | None:
        """A code checked by a `core.codes` validator, or None when blank."""
        path, value = self._lookup(key)
        if is_blank(value):
            return None
        if isinstance(value, str):
            value = value.strip()
        return validator(value, path)

    def code(self, key: Key, validator: Validator) -> str:
        """A required code checked by a `core.codes` validator."""
        code = self.opt_code(key, validator)
        if code is None:
            raise InvalidInput(self._lookup(key)[0], "is required")
        return code

    def opt_choice(self, key: Key, allowed: Mapping[str, str] | frozenset[str]) -> str | None:
        """One of the `allowed` dictionary values, or None when blank."""
        text = self.opt_text(key, maxlen=10)
        if text is not None and text not in allowed:
            expected = ", ".join(sorted(allowed))
            raise InvalidCode(self._lookup(key)[0], f"expected one of {expected}, got {text!r}")
        return text

    def choice(self, key: Key, allowed: Mapping[str, str] | frozenset[str]) -> str:
        """A required value from a small dictionary."""
        text = self.opt_choice(key, allowed)
        if text is None:
            raise InvalidInput(self._lookup(key)[0], "is required")
        return text

    def opt_flag(self, key: Key) -> bool | None:
        """A "1"/"0" flag as a bool, or None when blank."""
        value = self.opt_choice(key, frozenset({"0", "1"}))
        return None if value is None else value == "1"

    def flag(self, key: Key) -> bool:
        """A required "1"/"0" flag as a bool."""
        return self.choice(key, frozenset({"0", "1"})) == "1"

    def opt_fen(self, key: Key, *, limit: int) -> int | None:
        """An amount in yuan (number or decimal string) as fen, 0 ≤ fen ≤ limit; None when blank."""
        path, value = self._lookup(key)
        if is_blank(value):
            return None
        fen = yuan_to_fen(value, path)
        if fen < 0:
            raise InvalidInput(path, f"must not be negative, got {_yuan_text(fen)}")
        if fen > limit:
            raise InvalidInput(path, f"{_yuan_text(fen)} is absurd: above {_yuan_text(limit)}")
        return fen

    def fen(self, key: Key, *, limit: int) -> int:
        """A required amount in yuan as fen, 0 ≤ fen ≤ limit."""
        fen = self.opt_fen(key, limit=limit)
        if fen is None:
            raise InvalidInput(self._lookup(key)[0], "is required")
        return fen

    def decimal(self, key: Key, *, places: int, maximum: Decimal) -> Decimal:
        """A required non-negative decimal (quantity, price) with at most `places` decimals."""
        path, value = self._lookup(key)
        if is_blank(value):
            raise InvalidInput(path, "is required")
        if isinstance(value, float):
            value = repr(value)  # a JSON number: its shortest repr is the decimal the sender wrote
        number = parse_decimal(value, path, places=places)
        if number < 0:
            raise InvalidInput(path, f"must not be negative, got {number}")
        if number > maximum:
            raise InvalidInput(path, f"{number} is absurd: above {maximum}")
        return number

    def count(self, key: Key) -> int:
        """A required non-negative whole number (JSON integer or digit string)."""
        path, value = self._lookup(key)
        if is_blank(value):
            raise InvalidInput(path, "is required")
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidInput(path, f"must be a whole number, not {_kind(value)} {value!r}")
        if isinstance(value, int):
            if value < 0:
                raise InvalidInput(path, f"must not be negative, got {value}")
            return value
        if _COUNT.fullmatch(value.strip()) is None:
            raise InvalidInput(path, f"must be a whole number, got {value!r}")
        return int(value.strip())

    def opt_day(self, key: Key) -> date | None:
        """A `yyyy-MM-dd` date (a `yyyy-MM-dd HH:mm:ss` time is cut to its date); None when blank."""
        path, value = self._lookup(key)
        if is_blank(value):
            return None
        text = self.text(key, maxlen=19)
        if _DATETIME.fullmatch(text):
            return parse_datetime(text, path).date()  # some HIS send a date as a time
        if _DATE.fullmatch(text) is None:
            raise InvalidInput(path, f"expected a date yyyy-MM-dd, got {text!r}")
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(path, f"{text!r} is not a calendar date") from None

    def day(self, key: Key) -> date:
        """A required `yyyy-MM-dd` date."""
        day = self.opt_day(key)
        if day is None:
            raise InvalidInput(self._lookup(key)[0], "is required")
        return day

    def opt_moment(self, key: Key) -> datetime | None:
        """A `yyyy-MM-dd HH:mm:ss` local time (naive, Asia/Shanghai), or None when blank."""
        path, value = self._lookup(key)
        if is_blank(value):
            return None
        return parse_datetime(self.text(key, maxlen=19), path)

    def moment(self, key: Key) -> datetime:
        """A required `yyyy-MM-dd HH:mm:ss` local time."""
        moment = self.opt_moment(key)
        if moment is None:
            raise InvalidInput(self._lookup(key)[0], "is required")
        return moment

    def opt_child(self, key: Key) -> Node | None:
        """A nested object, or None when blank."""
        path, value = self._lookup(key)
        return None if is_blank(value) else Node(value, path)

    def child(self, key: Key) -> Node:
        """A required nested object."""
        node = self.opt_child(key)
        if node is None:
            raise InvalidInput(self._lookup(key)[0], "is required")
        return node

    def items(self, key: str, *, required: bool, max_items: int) -> list[Node]:
        """The objects of a list; an empty or absent list is an error when `required`."""
        path, value = self._lookup(key)
        if is_blank(value):
            value = []
        if not isinstance(value, list):
            raise InvalidInput(path, f"must be a JSON array, not {_kind(value)}")
        if required and not value:
            raise InvalidInput(path, "must hold at least one entry")
        if len(value) > max_items:
            raise InvalidInput(path, f"has {len(value)} entries; at most {max_items} allowed")
        return [Node(item, f"{path}[{i}]") for i, item in enumerate(value)]


def parse_datetime(text: str, path: str) -> datetime:
    """Read `yyyy-MM-dd HH:mm:ss` exactly (strptime alone would accept single digits)."""
    if _DATETIME.fullmatch(text) is None:
        raise InvalidInput(path, f"expected a time yyyy-MM-dd HH:mm:ss, got {text!r}")
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise InvalidInput(path, f"{text!r} is not a valid time") from None


def _kind(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    names = {bool: "boolean", int: "number", float: "number", str: "string", list: "array",
             dict: "object", type(None): "null"}
    return names.get(type(value), type(value).__name__)
