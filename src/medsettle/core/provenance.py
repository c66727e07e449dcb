"""Where each value of a parameter set comes from: provenance per key (docs/policies.md).

A policy document's `provenance` maps dotted keys (e.g. `benefits.inpatient.deductible`,
`caps.main`, or `tiers.hifmi.bands.0.upto` for an item of a list) to an origin; the longest key that covers a value
gives the value's origin, and `"*"` covers every value not listed. An origin has one of four
statuses:

- `official`: taken from an official document, named by its number (文号) or title and its date;
- `secondary`: from a secondary source (press, a hobby repository, a summary page), unverified;
- `copied`: another region's value, used here because nothing was found for this region;
- `illustrative`: invented to make the set complete; not anyone's policy.

A set all of whose values are official is official policy; any other set is *sample
parameters*, and every place a person sees it says so (`policy_view.provenance_notice`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Literal

from medsettle.core.tables import DocReader

Status = Literal["official", "secondary", "copied", "illustrative"]
STATUSES: tuple[Status, ...] = ("official", "secondary", "copied", "illustrative")
#: The fields an origin of each status must give, and those it may give.
_REQUIRED: dict[str, set[str]] = {"official": {"document", "date"}, "secondary": {"source"},
                                  "copied": {"from"}, "illustrative": {"note"}}
_OPTIONAL = {"article", "url", "note", "source"}
#: Document keys that identify a set rather than state a parameter: they carry no provenance.
METADATA_KEYS = frozenset({"id", "title", "insu_admdvs", "scheme", "provenance", "description"})
WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class Origin:
    """Where one value comes from."""

    status: Status
    document: str = ""
    date: str = ""
    article: str = ""
    source: str = ""
    copied_from: str = ""
    url: str = ""
    note: str = ""

    def label(self) -> str:
        """A few words: "official", "secondary source", "copied from 460100", "illustrative"."""
        return {"official": "official", "secondary": "secondary source, unverified",
                "copied": f"copied from {self.copied_from}",
                "illustrative": "illustrative"}[self.status]

    def describe(self) -> str:
        """A phrase for a person, e.g. "copied from 460100 (…)" or "official: 沪医保规〔…〕"."""
        if self.status == "official":
            text = f"official: {self.document}, {self.date}"
            text += f", {self.article}" if self.article else ""
        elif self.status == "secondary":
            text = f"secondary source, unverified: {self.source}"
        elif self.status == "copied":
            text = f"copied from {self.copied_from}"
            text += f" ({self.source})" if self.source else ""
        else:
            text = "illustrative"
        return text + (f"; {self.note}" if self.note else "")


@dataclass(frozen=True, slots=True)
class Provenance:
    """The origins of a document's values, by dotted key; `"*"` covers the rest."""

    origins: Mapping[str, Origin]

    def origin_of(self, key: str) -> Origin:
        """The origin of the value (or group of values) at a dotted key: the longest listed key
        that is the key itself or one of its parents, else `"*"`."""
        parts = key.split(".")
        for n in range(len(parts), 0, -1):
            found = self.origins.get(".".join(parts[:n]))
            if found is not None:
                return found
        return self.origins[WILDCARD]

    def origins_under(self, key: str) -> list[Origin]:
        """The distinct origins of the values at or below a key, the key's own first."""
        found = [self.origin_of(key)]
        prefix = key + "."
        for listed, origin in self.origins.items():
            if listed.startswith(prefix) and origin not in found:
                found.append(origin)
        return found


def parse_provenance(r: DocReader, value: object, doc: Mapping[str, object]) -> Provenance:
    """Read `provenance`, checking that every key names a value of `doc` and every origin gives
    what its status needs. A document without provenance is illustrative throughout."""
    if value is None:
        return Provenance({WILDCARD: Origin("illustrative", note="no provenance given")})
    entries = r.mapping(value, "provenance")
    if WILDCARD not in entries:
        r.attempt(partial(_missing_wildcard, r), None)
    origins: dict[str, Origin] = {}
    for key, body in entries.items():
        origin = r.attempt(partial(_entry, r, doc, key, body), None)
        if origin is not None:
            origins[key] = origin
    r.raise_first_of("provenance")
    return Provenance(origins)


def _missing_wildcard(r: DocReader) -> None:
    raise r.fail("provenance.*", "missing: say where the values not listed come from")


def _entry(r: DocReader, doc: Mapping[str, object], key: str, body: object) -> Origin:
    where = f"provenance.{key}"
    if key != WILDCARD and not _names_a_value(doc, key):
        raise r.fail(where, "names no parameter of this document")
    return _origin(r, body, where)


def _names_a_value(doc: Mapping[str, object], key: str) -> bool:
    parts = key.split(".")
    if parts[0] in METADATA_KEYS:
        return False
    node: object = doc
    for part in parts:
        if isinstance(node, list) and part.isascii() and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return False
    return True


def _origin(r: DocReader, value: object, where: str) -> Origin:
    doc = r.mapping(value, where)
    status = doc.get("status")
    if status not in STATUSES:
        raise r.fail(f"{where}.status", f"must be one of {list(STATUSES)}, not {status!r}")
    allowed = _REQUIRED[status] | _OPTIONAL | {"status"}
    r.mapping(doc, where, allowed, _REQUIRED[status])
    fields = {name: _text(r, doc[name], f"{where}.{name}") for name in doc if name != "status"}
    if "date" in fields:
        try:
            date.fromisoformat(fields["date"])
        except ValueError:
            raise r.fail(f"{where}.date", f"must be a date YYYY-MM-DD, not {fields['date']!r}"
                         ) from None
    copied_from = fields.pop("from", "")
    if status == "copied" and not (len(copied_from) == 6 and copied_from.isdigit()):
        raise r.fail(f"{where}.from", f"must be a quoted 6-digit region code, not {copied_from!r}")
    return Origin(status=status, copied_from=copied_from, **fields)


def _text(r: DocReader, value: object, key: str) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return r.text(value, key)


def leaves(doc: Mapping[str, object], prefix: str = "") -> Iterator[str]:
    """The dotted keys of every parameter value of a document (list items count as one value
    each, `key.0`, `key.1`, …); the identifying keys (`METADATA_KEYS`) are left out."""
    for name, value in doc.items():
        if not prefix and name in METADATA_KEYS:
            continue
        key = f"{prefix}{name}"
        if isinstance(value, Mapping) and value:
            yield from leaves(value, key + ".")
        elif isinstance(value, list) and value:
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield from leaves(item, f"{key}.{i}.")
                else:
                    yield f"{key}.{i}"
        else:
            yield key
