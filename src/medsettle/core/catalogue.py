"""The treating place's catalogue (就医地目录): what class each drug, service and consumable is in.

Entries carry class 甲/乙/丙 (chrgitm_lv 01/02/03; 04 可报丙类 is 03, or 02 when the entry gives
a self-pay ratio — domain.md §7), the 乙类 self-pay ratio (先行自付), a price cap (限价), payment
restrictions (限定支付) and validity dates. A code that is not listed is class `none`: the line is
fully self-paid, which is not an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from medsettle.core.errors import InvalidInput
from medsettle.core.lines import FeeLine, LineClass
from medsettle.core.money import parse_decimal, parse_ratio
from medsettle.core.tables import LEVELS

_CLASS_OF_LEVEL: dict[str, LineClass] = {"01": "A", "02": "B", "03": "C"}


@dataclass(frozen=True, slots=True)
class Restriction:
    """限定支付: conditions under which the entry is paid; a line that fails one is self-paid."""

    visit_types: frozenset[str] | None = None
    min_level: str | None = None
    sex: str | None = None
    min_age: int | None = None
    max_age: int | None = None

    def allows(self, ctx: LineContext) -> bool:
        """True when the visit and patient meet every condition."""
        if self.visit_types is not None and ctx.visit_type not in self.visit_types:
            return False
        if self.min_level is not None and LEVELS.index(ctx.level) < LEVELS.index(self.min_level):
            return False
        if self.sex is not None and ctx.sex != self.sex:
            return False
        if self.min_age is not None and ctx.age < self.min_age:
            return False
        return self.max_age is None or ctx.age <= self.max_age


@dataclass(frozen=True, slots=True)
class LineContext:
    """What a restriction may look at: the visit and the patient."""

    visit_type: str
    level: str
    sex: str = ""
    age: int = 0


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One dated catalogue entry of the treating place."""

    code: str
    name: str
    chrgitm_lv: str
    selfpay_prop: Decimal
    cap_price: Decimal | None
    valid_from: date
    valid_until: date | None
    med_chrgitm_type: str = ""
    restriction: Restriction | None = None

    @property
    def line_class(self) -> LineClass:
        """甲 A, 乙 B or 丙 C; 04 可报丙类 is B when it has a self-pay ratio, else C."""
        if self.chrgitm_lv == "04":
            return "B" if self.selfpay_prop > 0 else "C"
        return _CLASS_OF_LEVEL[self.chrgitm_lv]

    def valid_on(self, on: date) -> bool:
        """valid_from ≤ on < valid_until."""
        return self.valid_from <= on and (self.valid_until is None or on < self.valid_until)


class Catalogue:
    """A treating region's catalogue: dated entries by national code."""

    def __init__(self, admdvs: str, entries: Iterable[CatalogueEntry]) -> None:
        self.admdvs = admdvs
        self._by_code: dict[str, list[CatalogueEntry]] = {}
        for entry in entries:
            self._by_code.setdefault(entry.code, []).append(entry)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_code.values())

    def entry(self, code: str, on: date) -> CatalogueEntry | None:
        """The entry in force for `code` on `on`, or None when the code is not listed."""
        for entry in self._by_code.get(code, ()):
            if entry.valid_on(on):
                return entry
        return None

    def classify(self, code: str, price: Decimal, count: Decimal, on: date,
                 ctx: LineContext, name: str = "") -> FeeLine:
        """A fee line as the settlement engine needs it: class, 乙 ratio, cap, restriction met."""
        entry = self.entry(code, on)
        if entry is None:
            return FeeLine(cls="none", price=price, count=count, code=code, name=name)
        return FeeLine(cls=entry.line_class, price=price, count=count,
                       selfpay_prop=entry.selfpay_prop, cap_price=entry.cap_price,
                       restricted_ok=entry.restriction is None or entry.restriction.allows(ctx),
                       code=code, name=name or entry.name)


def parse_entry(doc: object, field: str) -> CatalogueEntry:
    """One entry from a mapping (a catalogue file row); errors name the field."""
    if not isinstance(doc, Mapping):
        raise InvalidInput(field, "must be a mapping")
    code = doc.get("code")
    if not isinstance(code, str) or not code:
        raise InvalidInput(f"{field}.code", "missing")
    level = doc.get("chrgitm_lv")
    if level not in ("01", "02", "03", "04"):
        raise InvalidInput(f"{field}.chrgitm_lv", f"must be 01 甲, 02 乙, 03 丙 or 04, not {level!r}")
    selfpay = parse_ratio(doc.get("selfpay_prop", "0"), f"{field}.selfpay_prop")
    cap = doc.get("lmt_pric")
    valid_from = _date(doc.get("valid_from", "2000-01-01"), f"{field}.valid_from")
    until = doc.get("valid_until")
    return CatalogueEntry(
        code=code, name=str(doc.get("name", "")), chrgitm_lv=level, selfpay_prop=selfpay,
        cap_price=None if cap is None else parse_decimal(cap, f"{field}.lmt_pric",
                                                         minimum=Decimal(0)),
        valid_from=valid_from, valid_until=None if until is None else _date(until,
                                                                            f"{field}.valid_until"),
        med_chrgitm_type=str(doc.get("med_chrgitm_type", "")),
        restriction=_restriction(doc.get("restriction"), f"{field}.restriction"))


def _restriction(doc: object, field: str) -> Restriction | None:
    if doc is None:
        return None
    if not isinstance(doc, Mapping):
        raise InvalidInput(field, "must be a mapping")
    visit_types = doc.get("visit_types")
    if visit_types is not None and (not isinstance(visit_types, list)
                                    or any(not isinstance(v, str) for v in visit_types)):
        raise InvalidInput(f"{field}.visit_types", "must be a list of visit types")
    min_level = doc.get("min_level")
    if min_level is not None and min_level not in LEVELS:
        raise InvalidInput(f"{field}.min_level", f"must be one of {list(LEVELS)}")
    return Restriction(
        visit_types=None if visit_types is None else frozenset(visit_types),
        min_level=min_level, sex=None if doc.get("sex") is None else str(doc["sex"]),
        min_age=_int_or_none(doc.get("min_age"), f"{field}.min_age"),
        max_age=_int_or_none(doc.get("max_age"), f"{field}.max_age"))


def _int_or_none(value: object, field: str) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise InvalidInput(field, f"must be a whole number ≥ 0, not {value!r}")
    return value


def _date(value: object, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(field, f"must be a date YYYY-MM-DD, not {value!r}") from None
