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
from collections.abc import Sequence

from medsettle.adapters.his.catalogue_files import text_lines, zipped
from medsettle.core.errors import InvalidInput

DETAIL_COLUMNS = ("setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt",
                  "acct_pay", "refd_setl_flag")
RESULT_COLUMNS = (*DETAIL_COLUMNS, "stmt_rslt", "msgid", "memo")
#: The most settlements one detail file may list (a day of a large hospital; read in about a
#: second per 10,000 lines).
FILE_DETAIL_MAX = 20_000
#: The most a zipped detail file may unpack to.
UNPACKED_MAX_BYTES = 20_000_000


def _text_of(content: bytes, where: str) -> str:
    """The text of a detail file: unzipped when it is a zip, decoded as UTF-8 or GB18030."""
    if content[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if len(members) != 1:
                    raise InvalidInput(where, f"the zip holds {len(members)} files; send one "
                                              "text file")
                if members[0].file_size > UNPACKED_MAX_BYTES:
                    raise InvalidInput(where, f"unpacks to {members[0].file_size} bytes; at "
                                              f"most {UNPACKED_MAX_BYTES} allowed")
                content = archive.read(members[0])
        except zipfile.BadZipFile:
            raise InvalidInput(where, "starts like a zip but is not a readable one") from None
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
