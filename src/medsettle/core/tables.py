"""Parameter TABLEs (domain.md §5): a value that may vary by person category and hospital level.

A TABLE is a scalar, a map by category (`active`, `retired`, `resident`), a map by level
(`L0` 基层, `L1`, `L2`, `L3`) or a category map of level maps. It is expanded once, at load time,
into every (category, level) pair the scheme uses, so a lookup on the settlement path is one dict
access. A level map without `L0` resolves `L0` to `L1`.

A category map may also carry contribution tiers (档次, domain.md §5 "Real policy shapes"):
`resident@high` is the value for residents who chose the high contribution tier. A lookup tries
`category@tier` first, then `category`, so a person with a tier in a region without tiered keys
uses the plain key, and the plain key must always be there. A category the scheme does not use
(`resident` in an employee set) is an error naming its key, not a value that is never read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
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

_TIER_NAME = re.compile(r"[a-z0-9_]+")

#: The key naming a whole policy document in errors.
DOCUMENT = "(document)"

#: Joins a category and a contribution tier in a TABLE key: `resident@high`.
TIER_SEPARATOR = "@"


@dataclass(frozen=True, slots=True)
class Table(Generic[T]):
    """A parameter value for each (category, level) of a scheme; `source` keeps the YAML form."""

    cells: Mapping[tuple[str, str], T]
    source: object

    def lookup(self, category: str, level: str, tier: str | None = None) -> T:
        """The value for a person category (and contribution tier, if any) at a level tier."""
        if tier is not None:
            tiered = self.cells.get((f"{category}{TIER_SEPARATOR}{tier}", level))
            if tiered is not None:
                return tiered
        try:
            return self.cells[(category, level)]
        except KeyError:
            raise InvalidInput("level" if category in CATEGORIES else "category",
                               f"no value for category {category!r} at level {level!r}") from None

    def distinct(self) -> bool:
        """True when the value does not depend on category, contribution tier or level."""
        return len(set(self.cells.values())) == 1

    def keys(self) -> list[str]:
        """The category keys with values: the plain categories, then any `category@tier`."""
        seen = dict.fromkeys(category for category, _ in self.cells)
        return sorted(seen, key=lambda k: (TIER_SEPARATOR in k, k))


class DocReader:
    """Reads typed values out of one policy document, naming the file and key in every error.

    A reader that `collects` keeps going after an error: each independent part of the document
    is read in `attempt`, which notes the part's error and goes on with the next part, so a
    check names every error of a document rather than the first (`medsettle policy validate`).
    """

    def __init__(self, source: str, *, collect: bool = False) -> None:
        self.source = source
        self.errors: list[PolicyFileError] | None = [] if collect else None

    def fail(self, key: str, message: str) -> PolicyFileError:
        """The error to raise for `key`."""
        return PolicyFileError(self.source, key, message)

    def attempt(self, work: Callable[[], T], fallback: T) -> T:
        """`work()`: raising its error, or, when collecting, noting it and returning
        `fallback` so that the next part is read."""
        if self.errors is None:
            return work()
        try:
            return work()
        except PolicyFileError as exc:
            self.note(exc)
            return fallback

    def note(self, exc: PolicyFileError) -> None:
        """Keep an error (once) when collecting."""
        if self.errors is not None and not any(
                (e.key, e.message) == (exc.key, exc.message) for e in self.errors):
            self.errors.append(exc)

    def raise_first(self) -> None:
        """When collecting and something was noted, stop here with the first error."""
        if self.errors:
            raise self.errors[0]

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
        at = f"{key}."
        problems = []
        for name in value:
            if not isinstance(name, str):
                problems.append(self.fail(key, f"key {name!r} must be a string (quote it in "
                                               "YAML)"))
            elif allowed is not None and name not in allowed:
                problems.append(self.fail(f"{at}{name}",
                                          f"unknown key; expected one of {sorted(allowed)}"))
        problems += [self.fail(f"{at}{name}", "missing") for name in sorted(required or ())
                     if name not in value]
        if problems:
            for problem in problems:
                self.note(problem)
            raise problems[0]
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
        if isinstance(value, Mapping) and value and all(
                isinstance(k, str) and k.split(TIER_SEPARATOR, 1)[0] in CATEGORIES for k in value):
            for name in [*categories, *(k for k in value if k not in categories)]:
                empty: dict[str, T] = {}
                levels = self.attempt(partial(self._category, value, name, key, scheme, cell),
                                      empty)
                cells.update({(name, level): v for level, v in levels.items()})
        else:
            levels = self._levels(value, key, cell)
            for category in categories:
                cells.update({(category, level): v for level, v in levels.items()})
        return Table(cells, value)

    def _category(self, value: Mapping[str, object], name: str, key: str, scheme: str,
                  cell: Callable[[object, str], T]) -> dict[str, T]:
        """One category's (or `category@tier`'s) values of a TABLE keyed by category."""
        if TIER_SEPARATOR not in name:
            if name not in CATEGORIES_OF_SCHEME[scheme]:
                raise self.fail(f"{key}.{name}", f"{name} is not a category of the {scheme} "
                                                 "scheme")
            if name not in value:
                raise self.fail(f"{key}.{name}", "missing entry for a category in use")
            return self._levels(value[name], f"{key}.{name}", cell)
        category, tier = name.split(TIER_SEPARATOR, 1)
        if category not in CATEGORIES_OF_SCHEME[scheme]:
            raise self.fail(f"{key}.{name}", f"{category} is not a category of the "
                                             f"{scheme} scheme")
        if not _TIER_NAME.fullmatch(tier):
            raise self.fail(f"{key}.{name}", "a contribution tier is lower-case letters, "
                                             "digits or _ after the @, e.g. resident@high")
        return self._levels(value[name], f"{key}.{name}", cell)

    def _levels(self, value: object, key: str, cell: Callable[[object, str], T]) -> dict[str, T]:
        if not isinstance(value, Mapping):
            scalar = cell(value, key)
            return {level: scalar for level in LEVELS}
        unknown = set(value) - set(LEVELS)
        if unknown:
            raise self.fail(f"{key}.{sorted(map(str, unknown))[0]}",
                            f"unknown key; a TABLE is keyed by {list(CATEGORIES)} or {list(LEVELS)}")
        missing = [self.fail(f"{key}.{level}", "missing entry for a level in use")
                   for level in ("L1", "L2", "L3") if level not in value]
        for problem in missing:
            self.note(problem)
        result: dict[str, T] = {}
        for level in ("L1", "L2", "L3", "L0"):
            if level in value:
                found = self.attempt(partial(_one, cell, value[level], f"{key}.{level}"), None)
                if found is not None:
                    result[level] = found[0]
        if missing:
            raise missing[0]
        self.raise_first_of(key)
        result.setdefault("L0", result["L1"])
        return result

    def raise_first_of(self, key: str) -> None:
        """When collecting: stop if an error was noted under `key` (a part of it failed)."""
        if self.errors:
            for error in self.errors:
                if error.key == key or error.key.startswith(f"{key}."):
                    raise error


def _one(cell: Callable[[object, str], T], value: object, key: str) -> tuple[T]:
    """A cell's value, boxed (so that a cell whose value is None stays distinct from none)."""
    return (cell(value, key),)
