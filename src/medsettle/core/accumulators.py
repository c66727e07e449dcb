"""Yearly accumulators of one person at the insured place (domain.md §5 "Accumulators").

They are kept flat: each value sits under a path such as ("pool_paid", "main") or
("chronic_paid", "M07803", "2025-03"). A settlement stores its deltas in the same shape, so a
cancel or reversal subtracts exactly what was added and recomputes nothing (§4 "Reversal").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from medsettle.core.errors import InvalidInput, ReversalError

Path = tuple[str, ...]
Delta = Mapping[Path, int]

#: The families of accumulator and how many names follow the family in a path.
_DEPTH = {"visits": 1, "dedc_paid": 1, "pool_paid": 1, "pool_base": 1, "chronic_paid": 2,
          "tiers": 2, "acct_balance": 0}
_TIER_FIELDS = ("base", "paid")


@dataclass(frozen=True, slots=True)
class Accumulators:
    """A person's accumulators; a missing path is 0. Immutable: changes make a new value."""

    values: Mapping[Path, int] = field(default_factory=dict)

    def get(self, *path: str) -> int:
        """The value at `path`, 0 when never touched."""
        return self.values.get(path, 0)

    def applied(self, delta: Delta, sign: int = 1) -> Accumulators:
        """These accumulators with `delta` added (sign +1) or subtracted (sign −1)."""
        values = dict(self.values)
        for path, amount in delta.items():
            values[path] = values.get(path, 0) + sign * amount
        return Accumulators(values)

    def reversed(self, delta: Delta) -> Accumulators:
        """Undo a settlement's delta; refuse if any accumulator would go negative."""
        result = self.applied(delta, -1)
        negative = [path for path, value in result.values.items() if value < 0]
        if negative:
            raise ReversalError(f"reversal would make {'.'.join(negative[0])} negative: the "
                                "settlement is not reflected in these accumulators")
        return result

    def to_nested(self, *, drop_zero: bool = True) -> dict[str, object]:
        """The nested form of domain.md §5, e.g. {"visits": {"inpatient": 1}, "acct_balance": 0}."""
        nested: dict[str, object] = {}
        for path, value in sorted(self.values.items()):
            if drop_zero and value == 0 and path[0] != "tiers":
                continue
            if len(path) == 1:
                nested[path[0]] = value
                continue
            node = cast(dict[str, object], nested.setdefault(path[0], {}))
            for name in path[1:-1]:
                node = cast(dict[str, object], node.setdefault(name, {}))
            node[path[-1]] = value
        return nested

    @classmethod
    def from_nested(cls, doc: object, field_name: str = "acc_before") -> Accumulators:
        """Read the nested form, checking every key and that every amount is an int ≥ 0."""
        if doc is None:
            return cls()
        if not isinstance(doc, Mapping):
            raise InvalidInput(field_name, "must be a mapping")
        values: dict[Path, int] = {}
        for family, body in doc.items():
            if family not in _DEPTH:
                raise InvalidInput(f"{field_name}.{family}",
                                   f"unknown accumulator; expected one of {sorted(_DEPTH)}")
            _flatten(body, (str(family),), _DEPTH[family], f"{field_name}.{family}", values)
        return cls(values)


def _flatten(body: object, path: Path, depth: int, field_name: str, out: dict[Path, int]) -> None:
    if depth == 0:
        if type(body) is not int or body < 0:
            raise InvalidInput(field_name, f"must be an integer ≥ 0 (fen or count), not {body!r}")
        out[path] = body
        return
    if not isinstance(body, Mapping):
        raise InvalidInput(field_name, "must be a mapping")
    for name, value in body.items():
        if path[0] == "tiers" and depth == 1 and name not in _TIER_FIELDS:
            raise InvalidInput(f"{field_name}.{name}", "a tier accumulator has base and paid")
        _flatten(value, (*path, str(name)), depth - 1, f"{field_name}.{name}", out)


def without_zeros(delta: Delta) -> dict[Path, int]:
    """The delta with zero entries removed (for comparisons)."""
    return {path: value for path, value in delta.items() if value != 0}
