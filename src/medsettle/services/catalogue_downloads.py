"""Catalogue extracts for hospitals: the treating province's catalogue (就医地目录) as lists of
drugs, herbal pieces, service items and medical consumables, newer than the version a HIS already holds.

The catalogue is dated entries that are only ever added (a change is a new entry with its own
dates), so an entry's version is its row number: a HIS that holds version v asks for what came
after v and gets every entry added since, in order. A version is written as 20 digits, so that
comparing two versions as text or as numbers gives the same order.
"""

from __future__ import annotations

from dataclasses import dataclass

from medsettle.core.catalogue import CatalogueEntry, parse_entry
from medsettle.core.errors import InvalidInput
from medsettle.services.ports import UnitOfWork

#: The lists a HIS may download.
LISTS = ("drugs", "herbs", "services", "materials")
VERSION_DIGITS = 20

#: med_chrgitm_type → list: 09 西药 and 11 中成药 are drugs, 08 卫材 consumables, 10 饮片 herbs.
_LIST_OF_ITEM_TYPE = {"09": "drugs", "11": "drugs", "08": "materials", "10": "herbs"}
#: Without an item type, the national code's first letter: X 西药, Z 中成药, C 耗材, T 饮片.
_LIST_OF_PREFIX = {"X": "drugs", "Z": "drugs", "C": "materials", "T": "herbs"}


@dataclass(frozen=True, slots=True)
class VersionedEntry:
    """A catalogue entry and its version."""

    version: int
    entry: CatalogueEntry


def list_of(entry: CatalogueEntry) -> str:
    """Which list an entry is in: drugs, services, materials or herbs."""
    if entry.med_chrgitm_type:
        return _LIST_OF_ITEM_TYPE.get(entry.med_chrgitm_type, "services")
    return _LIST_OF_PREFIX.get(entry.code[:1].upper(), "services")


def version_text(version: int) -> str:
    """A version as the 20 digits a HIS holds."""
    return f"{version:0{VERSION_DIGITS}d}"


def read_version(text: str | None, field: str) -> int:
    """The version a HIS holds: blank or 0 for none, else up to 20 digits."""
    if text is None or not text.strip():
        return 0
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > VERSION_DIGITS:
        raise InvalidInput(field, f"expected a version of up to {VERSION_DIGITS} digits, "
                                  f"as an earlier download gave it, or 0; got {text!r}")
    return int(text)


def entries_after(tx: UnitOfWork, list_name: str, after: int) -> list[VersionedEntry]:
    """The entries of one list whose version is above `after`, oldest first."""
    if list_name not in LISTS:
        raise InvalidInput("list", f"expected one of {', '.join(LISTS)}, got {list_name!r}")
    found = []
    for row in tx.rows_after("catalogue", "id", after, limit=1_000_000):
        entry = parse_entry(dict(row._mapping), f"catalogue[{row.id}]")
        if list_of(entry) == list_name:
            found.append(VersionedEntry(row.id, entry))
    return found
