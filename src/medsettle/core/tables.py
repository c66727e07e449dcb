"""Parameter TABLEs (domain.md §5): a value that may vary by person category and hospital level.

A TABLE is a scalar, a map by category (`active`, `retired`, `resident`), a map by level
(`L0` 基层, `L1`, `L2`, `L3`) or a category map of level maps. It is expanded once, at load time,
into every (category, level) pair the scheme uses, so a lookup on the settlement path is one dict
access. A level map without `L0` resolves `L0` to `L1`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Literal, TypeVar

from medsettle.core.errors import InvalidInput, PolicyFileError
from medsettle.core.money import parse_fen, parse_ratio

Category = Literal["active", "retired", "resident"]
Level = Literal["L0", "L1", "L2", "L3"]
CATEGORIES: tuple[Category, ...] = ("active", "retired", "resident")
LEVELS: tuple[Level, ...] = ("L0", "L1", "L2", "L3")
CATEGORIES_OF_SCHEME: dict[str, tuple[Category, ...]] = {
    "employee": ("active", "retired"),
    "resident": ("resident",),
}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Table(Generic[T]):
    """A parameter value for each (category, level) of a scheme; `source` keeps the YAML form."""

    cells: Mapping[tuple[str, str], T]
    source: object

    def lookup(self, category: str, level: str) -> T:
        """The value for a person category at a hospital level tier."""
        try:
            return self.cells[(category, level)]
        except KeyError:
            raise InvalidInput("level" if category in CATEGORIES else "category",
                               f"no value for category {category!r} at level {level!r}") from None

    def distinct(self) -> bool:
        """True when the value does not depend on category or level."""
        return len(set(self.cells.values())) == 1


class DocReader:
    """Reads typed values out of one policy document, naming the file and key in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> PolicyFileError:
        """The error to raise for `key`."""
        return PolicyFileError(self.source, key, message)

    def fen(self, value: object, key: str) -> int:
        """A non-negative integer amount in fen."""
        try:
            return parse_fen(value, key)
        except InvalidInput as exc:
            raise self.fail(key, exc.message) from None

    def ratio(self, value: object, key: str) -> Decimal:
        """A quoted decimal ratio in [0, 1]."""
        try:
            return parse_ratio(value, key)
        except InvalidInput as exc:
            raise self.fail(key, exc.message) from None

    def mapping(self, value: object, key: str, allowed: set[str] | None = None,
                required: set[str] | None = None) -> Mapping[str, object]:
        """A mapping with string keys, optionally restricted to `allowed` and needing `required`."""
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a mapping, not {type(value).__name__}")
        for name in value:
            if not isinstance(name, str):
                raise self.fail(key, f"key {name!r} must be a string (quote it in YAML)")
            if allowed is not None and name not in allowed:
                raise self.fail(f"{key}.{name}", f"unknown key; expected one of {sorted(allowed)}")
        for name in sorted(required or ()):
            if name not in value:
                raise self.fail(f"{key}.{name}", "missing")
        return value

    def text(self, value: object, key: str) -> str:
        """A non-empty string."""
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"must be a non-empty string, not {value!r}")
        return value

    def table(self, value: object, key: str, scheme: str, cell: Callable[[object, str], T]) -> Table[T]:
        """Expand a TABLE for every category of `scheme` and every level."""
        categories = CATEGORIES_OF_SCHEME[scheme]
        cells: dict[tuple[str, str], T] = {}
        if isinstance(value, Mapping) and value and set(value) <= set(CATEGORIES):
            for category in categories:
                if category not in value:
                    raise self.fail(f"{key}.{category}", "missing entry for a category in use")
                levels = self._levels(value[category], f"{key}.{category}", cell)
                cells.update({(category, level): v for level, v in levels.items()})
        else:
            levels = self._levels(value, key, cell)
            for category in categories:
                cells.update({(category, level): v for level, v in levels.items()})
        return Table(cells, value)

    def _levels(self, value: object, key: str, cell: Callable[[object, str], T]) -> dict[str, T]:
        if not isinstance(value, Mapping):
            scalar = cell(value, key)
            return {level: scalar for level in LEVELS}
        unknown = set(value) - set(LEVELS)
        if unknown:
            raise self.fail(f"{key}.{sorted(map(str, unknown))[0]}",
                            f"unknown key; a TABLE is keyed by {list(CATEGORIES)} or {list(LEVELS)}")
        result: dict[str, T] = {}
        for level in ("L1", "L2", "L3"):
            if level not in value:
                raise self.fail(f"{key}.{level}", "missing entry for a level in use")
            result[level] = cell(value[level], f"{key}.{level}")
        result["L0"] = cell(value["L0"], f"{key}.L0") if "L0" in value else result["L1"]
        return result
