"""The 3202 detail file a HIS uploads with 9101, and the result file it downloads with 9102.

The detail file is UTF-8 (GB18030 is read too) text, alone or as the one text file in a zip:
one settlement per line, seven columns separated by tabs — setl_id, mdtrt_id, psn_no,
medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag — amounts in yuan. A first line that
names the columns, and blank lines, are skipped. The result file has one line per settlement
that does not match: those seven columns as the HIS sent them (empty for a settlement it did not
send), then stmt_rslt, the settlement's msgid at the node, and a memo.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Sequence

from medsettle.adapters.his.catalogue_files import text_lines, zipped
from medsettle.core.errors import InvalidInput

DETAIL_COLUMNS = ("setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt",
                  "acct_pay", "refd_setl_flag")
RESULT_COLUMNS = (*DETAIL_COLUMNS, "stmt_rslt", "msgid", "memo")
#: The most settlements one detail file may list (a day of a large hospital; read in about a
#: second per 10,000 lines).
FILE_DETAIL_MAX = 20_000
#: The most a zipped detail file may unpack to (20,000 lines of about 100 bytes, twice over).
UNPACKED_MAX_BYTES = 20_000_000
#: The compression methods a zip may use: stored and deflate (what every zip tool writes), which
#: unpack a chunk at a time. bzip2 and LZMA unpack a whole stream at once, so a few hundred bytes
#: could make hundreds of megabytes before any limit is checked.
ZIP_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_ENCRYPTED = 0x1  # bit 0 of a zip member's general-purpose flags
_CHUNK_BYTES = 64 * 1024
#: What zipfile raises for a zip it cannot read: corrupt, truncated or a bad CRC (BadZipFile,
#: zlib.error, EOFError), encrypted (RuntimeError), an unknown method (NotImplementedError), an
#: offset outside the file (ValueError, OSError).
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError,
               ValueError, OSError)


def _only_member(archive: zipfile.ZipFile, where: str) -> zipfile.ZipInfo:
    """The one file in the zip, if it is one this module can unpack within its limit."""
    members = [m for m in archive.infolist() if not m.filename.endswith("/")]  # not folders
    if len(members) != 1:
        raise InvalidInput(where, f"the zip holds {len(members)} files; send one text file")
    member = members[0]
    if member.flag_bits & _ENCRYPTED:
        raise InvalidInput(where, "the zip is encrypted; send it without a password")
    if member.compress_type not in ZIP_METHODS:
        raise InvalidInput(where, f"the zip uses compression method {member.compress_type}; "
                                  "send it stored or deflated, as zip tools do by default")
    if member.file_size > UNPACKED_MAX_BYTES:
        raise InvalidInput(where, f"unpacks to {member.file_size} bytes; at most "
                                  f"{UNPACKED_MAX_BYTES} allowed")
    return member


def _read_within_limit(archive: zipfile.ZipFile, member: zipfile.ZipInfo, where: str) -> bytes:
    """The member's bytes, read a chunk at a time and counted: past UNPACKED_MAX_BYTES it is
    refused before the rest is unpacked, whatever the header claimed (zipfile stops at the
    claimed size, checked already; the count does not rely on that)."""
    chunks, total = [], 0
    with archive.open(member) as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            total += len(chunk)
            if total > UNPACKED_MAX_BYTES:
                raise InvalidInput(where, f"unpacks to more than {UNPACKED_MAX_BYTES} bytes "
                                          f"(its header says {member.file_size})")
            chunks.append(chunk)
    return b"".join(chunks)


def unzip_one(content: bytes, where: str) -> bytes:
    """The one file of an uploaded zip, unpacked within UNPACKED_MAX_BYTES.

    Anything about the zip that cannot be read (corrupt, truncated, encrypted, an unsupported
    method) is InvalidInput naming `where`: the sender's file is at fault, not the node.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return _read_within_limit(archive, _only_member(archive, where), where)
    except _UNREADABLE as exc:
        raise InvalidInput(where, f"starts like a zip but is not a readable one: {exc}"
                           ) from None


def _text_of(content: bytes, where: str) -> str:
    """The text of a detail file: unzipped when it is a zip, decoded as UTF-8 or GB18030."""
    if content[:4] == b"PK\x03\x04":
        content = unzip_one(content, where)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(where, "is neither UTF-8 nor GB18030 text")  # pragma: no cover


def read_detail_file(content: bytes, where: str) -> list[tuple[str, dict[str, str]]]:
    """The rows of a detail file, each with the place to name in an error ("<where> line 3")."""
    rows = []
    for number, line in enumerate(_text_of(content, where).splitlines(), start=1):
        if not line.strip():
            continue
        values = [v.strip() for v in line.split("\t")]
        if number == 1 and values[0].lower() == "setl_id":
            continue  # a header line
        while len(values) > len(DETAIL_COLUMNS) and values[-1] == "":
            values.pop()
        if len(values) != len(DETAIL_COLUMNS):
            raise InvalidInput(f"{where} line {number}", f"has {len(values)} tab-separated "
                               f"columns; expected {len(DETAIL_COLUMNS)}: "
                               f"{', '.join(DETAIL_COLUMNS)}")
        rows.append((f"{where} line {number}", dict(zip(DETAIL_COLUMNS, values, strict=True))))
        if len(rows) > FILE_DETAIL_MAX:
            raise InvalidInput(where, f"lists more than {FILE_DETAIL_MAX} settlements")
    if not rows:
        raise InvalidInput(where, "lists no settlement")
    return rows


def result_file(stem: str, rows: Sequence[dict[str, str]]) -> bytes:
    """The result file: `stem`.txt in a zip, one line per settlement that does not match."""
    return zipped(f"{stem}.txt", text_lines(RESULT_COLUMNS, rows))
