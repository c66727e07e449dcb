"""Files between an institution and its treating node: what its HIS uploads (detail sets for
reconciliation) and what the node makes for it (catalogue extracts, reconciliation results).

A file belongs to one institution, the one that uploaded it or for which it was made; only
that institution may fetch it, and only until it expires (expired files are deleted whenever
a new file is kept). An institution holds at most HELD_BYTES_MAX bytes of files,
UPLOAD_BYTES_MAX of them uploaded, in at most FILES_HELD_MAX files: one sending file after file
fills its own place, not the node's database.
A file is kept whole, with its size
and SHA-256, in the node's database (`his_files`). Numbers are the node's region, the time and
eight random hex digits: 30 characters, unguessable, and never reused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from medsettle.core.calendar import business_time
from medsettle.core.errors import Forbidden, InvalidInput, NotFound
from medsettle.services.ports import UnitOfWork

#: How long a file may be fetched after it was kept.
FILE_TTL = timedelta(days=3)
#: The largest file an institution may upload (or the node make for it).
FILE_MAX_BYTES = 1_000_000
#: The most bytes of files one institution may hold at once, of every kind: what one institution
#: can put into the node's database, however many messages it sends. A busy hospital's day
#: (a detail upload and a 3202 result per insurance type, the four catalogue extracts: about
#: 16 files, each at most FILE_MAX_BYTES) is at most 16 MB, 48 MB over the three days a file
#: lives, so this leaves room for a heavy week. (A count of 50 files was tried first: a busy
#: hospital's normal three days filled it and its 3202 reconciliation was refused.)
HELD_BYTES_MAX = 200_000_000
#: Of those, the most bytes of uploads: fewer, so uploads alone never take the room the node's
#: own files for the institution need (a 3202 result for those uploads, a catalogue extract).
UPLOAD_BYTES_MAX = 150_000_000
#: And at most this many files, however small (each is a row of the node's database).
FILES_HELD_MAX = 2_000
#: What a file is: uploaded by the institution, or made for it by the node.
KINDS = frozenset({"upload", "drugs", "herbs", "services", "materials", "reconciliation"})


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A kept file, without its content."""

    file_no: str
    owner: str
    name: str
    kind: str
    size: int
    sha256: str
    expires_at: datetime


def file_number(region: str, now: datetime) -> str:
    """A new file number: F + region (6) + business time yyyyMMddHHmmss (14) + 8 hex digits."""
    return f"F{region}{business_time(now):%Y%m%d%H%M%S}{secrets.token_hex(4)}"


def keep(tx: UnitOfWork, *, region: str, owner: str, name: str, kind: str, content: bytes,
         msgid: str, now: datetime) -> StoredFile:
    """Keep a file for `owner` in the caller's transaction; what it is, without the content."""
    if kind not in KINDS:
        raise InvalidInput("kind", f"expected one of {', '.join(sorted(KINDS))}, got {kind!r}")
    if not content:
        raise InvalidInput("content", "the file is empty")
    if len(content) > FILE_MAX_BYTES:
        raise InvalidInput("content", f"the file is {len(content)} bytes; at most "
                                      f"{FILE_MAX_BYTES} allowed")
    tx.purge_files(now)  # files past their time go, with their content, and no longer count
    _within_quota(tx, owner, kind, len(content))
    stored = StoredFile(file_number(region, now), owner, name, kind, len(content),
                        hashlib.sha256(content).hexdigest(), now + FILE_TTL)
    tx.add("his_files", {"file_no": stored.file_no, "owner": owner, "name": name, "kind": kind,
                         "content": content, "size": stored.size, "sha256": stored.sha256,
                         "msgid": msgid, "created_at": now, "expires_at": stored.expires_at})
    return stored


def _within_quota(tx: UnitOfWork, owner: str, kind: str, size: int) -> None:
    """Refuse a file of `size` bytes past what `owner` may hold (counted after expired files
    went; the database sums the sizes). The institution's row is held first, so two of its
    messages at once cannot both take the last room."""
    tx.hold("institutions", fixmedins_code=owner)
    field = "content" if kind == "upload" else "fixmedins_code"  # an upload is refused for
    held, held_bytes = tx.files_held(owner)                       # its content, a node's file
    if held >= FILES_HELD_MAX or held_bytes + size > HELD_BYTES_MAX:  # for its owner
        raise InvalidInput(field, f"institution {owner} already holds {held} files of "
                                  f"{held_bytes:,} bytes; at most {FILES_HELD_MAX} files of "
                                  f"{HELD_BYTES_MAX:,} bytes, each for {FILE_TTL.days} days "
                                  "after it was kept")
    if kind == "upload":
        _, uploaded = tx.files_held(owner, "upload")
        if uploaded + size > UPLOAD_BYTES_MAX:
            raise InvalidInput(field, f"institution {owner} already holds {uploaded:,} bytes "
                                      f"of uploads; at most {UPLOAD_BYTES_MAX:,}, each for "
                                      f"{FILE_TTL.days} days after it was uploaded")


def fetch(tx: UnitOfWork, owner: str, file_no: str, name: str | None, now: datetime
          ) -> tuple[StoredFile, bytes]:
    """The file `file_no` of `owner` and its content.

    `name`, when given, must be the file's name. NotFound for a number no file has, a wrong
    name or an expired file; Forbidden for a file of another institution.
    """
    row = tx.one("his_files", file_no=file_no)
    if row is None:
        raise NotFound(f"no file {file_no}", field="file_no")
    if row.owner != owner:
        raise Forbidden(f"file {file_no} belongs to another institution; only its owner may "
                        "fetch it")
    if name is not None and name != row.name:
        raise NotFound(f"file {file_no} is named {row.name!r}, not {name!r}", field="file_name")
    if now >= row.expires_at:
        ended = f"{business_time(row.expires_at):%Y-%m-%d %H:%M:%S}"
        raise NotFound(f"file {file_no} expired at {ended}; upload or ask for it again",
                       field="file_no")
    stored = StoredFile(row.file_no, row.owner, row.name, row.kind, row.size, row.sha256,
                        row.expires_at)
    return stored, bytes(row.content)
