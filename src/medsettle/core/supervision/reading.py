"""Reading the values of a thresholds document's `rules` (core.supervision.thresholds), each
error naming the file and the key."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from medsettle.core.tables import DocReader


class RulesReader:
    """Reads the values of one document's `rules`, each with its key in the error."""

    def __init__(self, r: DocReader, rules: Mapping[str, object]) -> None:
        self.r = r
        self.rules = {k: self.r.mapping(v if v is not None else {}, f"rules.{k}")
                      for k, v in rules.items()}

    def _get(self, rule: str, name: str) -> Any:
        return self.rules.get(rule, {}).get(name)

    def count(self, rule: str, name: str, default: int) -> int:
        value = self._get(rule, name)
        if value is None:
            return default
        if type(value) is not int or value < 0:
            raise self.r.fail(f"rules.{rule}.{name}", f"must be a whole number ≥ 0, not {value!r}")
        return value

    def number(self, rule: str, name: str, default: Decimal) -> Decimal:
        value = self._get(rule, name)
        if value is None:
            return default
        return self._decimal(value, f"rules.{rule}.{name}")

    def _decimal(self, value: object, key: str) -> Decimal:
        if isinstance(value, float) or isinstance(value, bool):
            raise self.r.fail(key, f"must be a quoted decimal string, not {value!r}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.r.fail(key, f"must be a decimal number, not {value!r}") from None
        if not number.is_finite() or number < 0:
            raise self.r.fail(key, f"must be a finite number ≥ 0, not {value!r}")
        return number

    def fraction(self, rule: str, name: str, default: Fraction) -> Fraction:
        value = self._get(rule, name)
        if value is None:
            return default
        try:
            share = Fraction(str(value))
        except (ValueError, ZeroDivisionError):
            raise self.r.fail(f"rules.{rule}.{name}", f"must be a fraction such as \"2/3\", "
                                                      f"not {value!r}") from None
        if isinstance(value, float) or not 0 < share <= 1:
            raise self.r.fail(f"rules.{rule}.{name}", "must be a quoted fraction in (0, 1]")
        return share

    def flag(self, rule: str, name: str, default: bool) -> bool:
        value = self._get(rule, name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.r.fail(f"rules.{rule}.{name}", f"must be true or false, not {value!r}")
        return value

    def kinds(self, rule: str, name: str, default: frozenset[str]) -> frozenset[str]:
        value = self._get(rule, name)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) and len(v) == 2
                                                  and v.isdigit() for v in value):
            raise self.r.fail(f"rules.{rule}.{name}", "must be a list of quoted two-digit "
                                                      "med_chrgitm_type codes such as \"01\"")
        return frozenset(value)

    def words(self, rule: str, name: str, default: frozenset[str],
              allowed: set[str]) -> frozenset[str]:
        value = self._get(rule, name)
        if value is None:
            return default
        if not isinstance(value, list) or not set(value) <= allowed:
            raise self.r.fail(f"rules.{rule}.{name}", f"must be a list of {sorted(allowed)}")
        return frozenset(value)

    def int_map(self, rule: str, name: str, default: Mapping[str, int]) -> Mapping[str, int]:
        value = self._get(rule, name)
        if value is None:
            return default
        doc = self.r.mapping(value, f"rules.{rule}.{name}")
        for key, cap in doc.items():
            if type(cap) is not int or cap < 0:
                raise self.r.fail(f"rules.{rule}.{name}.{key}", "must be a whole number ≥ 0")
        return {str(k): int(v) for k, v in doc.items()}  # type: ignore[call-overload]

    def code_lists(self, rule: str, name: str) -> Mapping[str, tuple[str, ...]]:
        value = self._get(rule, name)
        doc = self.r.mapping(value if value is not None else {}, f"rules.{rule}.{name}")
        result = {}
        for code, parts in doc.items():
            if not isinstance(parts, list) or not parts or not all(isinstance(p, str)
                                                                    for p in parts):
                raise self.r.fail(f"rules.{rule}.{name}.{code}", "must list component codes")
            result[code] = tuple(parts)
        return result

    def pairs(self, rule: str) -> list[tuple[str, str, tuple[str, ...]]]:
        value = self._get(rule, "pairs")
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.r.fail(f"rules.{rule}.pairs", "must be a list of pairs")
        found = []
        for i, item in enumerate(value):
            key = f"rules.{rule}.pairs.{i}"
            doc = self.r.mapping(item, key, {"billed", "instead_of", "evidence"},
                                 {"billed", "instead_of", "evidence"})
            evidence = doc["evidence"]
            if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
                raise self.r.fail(f"{key}.evidence", "must be a list of codes")
            found.append((self.r.text(doc["billed"], f"{key}.billed"),
                          self.r.text(doc["instead_of"], f"{key}.instead_of"), tuple(evidence)))
        return found

    def standards(self, rule: str) -> dict[str, dict[str, Decimal]]:
        value = self._get(rule, "standards")
        doc = self.r.mapping(value if value is not None else {}, f"rules.{rule}.standards")
        result = {}
        for prefix, body in doc.items():
            key = f"rules.{rule}.standards.{prefix}"
            limits = self.r.mapping(body, key, {"per_visit", "per_day", "per_year"})
            if not limits:
                raise self.r.fail(key, "give per_visit, per_day or per_year")
            result[prefix] = {name: self._decimal(v, f"{key}.{name}")
                              for name, v in limits.items()}
        return result


def read_date(r: DocReader, value: object, key: str) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise r.fail(key, f"must be a date YYYY-MM-DD, not {value!r}")
