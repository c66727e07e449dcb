"""9101 file upload, 9102 file download and the catalogue downloads 1301, 1302, 1305 and 1306.

9101 `{"fsUploadIn": {"in": [bytes…], "filename", "fixmedins_code"}}` keeps a file for the
sending institution and answers its `file_qury_no`; 9102 `{"fsDownloadIn": {"file_qury_no",
"filename", "fixmedins_code"}}` answers the file itself (the bytes, not an envelope), to its
owner only. 13xx `{"data": {"ver"}}` makes a catalogue extract newer than `ver` and answers the
`file_qury_no` to fetch it with; its filename may then be given as "plc", as HIS code does.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from medsettle.adapters.his.catalogue_files import CATALOGUES, catalogue_file
from medsettle.adapters.his.envelope import Envelope, FileAnswer
from medsettle.adapters.his.reader import Node
from medsettle.core.calendar import business_date, business_time
from medsettle.core.errors import Forbidden, InvalidInput, NotFound
from medsettle.services import catalogue_downloads as cd
from medsettle.services import institution_files as files
from medsettle.services import treating as tr
from medsettle.services.ports import Reply

#: The filename HIS code sends to fetch a catalogue file, whatever it is called.
ANY_CATALOGUE_NAME = "plc"
_UNSAFE_NAME = ("/", "\\", "..")


@dataclass(frozen=True, slots=True)
class Upload:
    """9101: a file and its name."""

    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Download:
    """9102: which file."""

    file_no: str
    filename: str


@dataclass(frozen=True, slots=True)
class CatalogueQuery:
    """1301/1302/1305/1306: the version the HIS holds (0: none)."""

    version: int


def _file_node(input: dict[str, object], key: str) -> Node:
    return Node(input, "input").child((key, "data"))


def _own_code(node: Node, env: Envelope) -> None:
    """fixmedins_code inside the input, when given, is the sender's own (or "plc")."""
    named = node.opt_text("fixmedins_code", maxlen=30)
    if named not in (None, ANY_CATALOGUE_NAME, env.fixmedins_code):
        raise Forbidden(f"{node.at('fixmedins_code')} names {named}; a HIS may upload and "
                        f"fetch only the files of its own institution, {env.fixmedins_code}")


def _content(node: Node) -> bytes:
    """`in`: the file as a JSON array of byte values, 0…255 or signed −128…127, or as a base64
    string (which is how C# and Java JSON writers send a byte array)."""
    path, value = node.at("in"), node.data.get("in")
    if isinstance(value, str) and value.strip():
        try:
            content = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput(path, "is a string but not base64; send the file as a JSON "
                                     "array of byte values or as base64") from None
        if len(content) > files.FILE_MAX_BYTES:
            raise InvalidInput(path, f"the file is {len(content)} bytes; at most "
                                     f"{files.FILE_MAX_BYTES} allowed")
        return content
    if not isinstance(value, list) or not value:
        raise InvalidInput(path, "must be a non-empty JSON array of byte values (or base64)")
    if len(value) > files.FILE_MAX_BYTES:
        raise InvalidInput(path, f"the file is {len(value)} bytes; at most "
                                 f"{files.FILE_MAX_BYTES} allowed")
    if set(map(type, value)) != {int} or min(value) < -128 or max(value) > 255:
        i, byte = next((i, b) for i, b in enumerate(value)
                       if type(b) is not int or not -128 <= b <= 255)
        raise InvalidInput(f"{path}[{i}]", f"expected a byte value -128…255, got {byte!r}")
    return bytes(value) if min(value) >= 0 else bytes([byte & 0xFF for byte in value])


def parse_upload(input: dict[str, object]) -> Upload:
    """9101 `{"fsUploadIn": {in, filename, fixmedins_code}}` (or under `data`)."""
    node = _file_node(input, "fsUploadIn")
    filename = node.text("filename", maxlen=200)
    if any(part in filename for part in _UNSAFE_NAME):
        raise InvalidInput(node.at("filename"), f"a file name without folders, got {filename!r}")
    return Upload(filename, _content(node))


def parse_download(input: dict[str, object]) -> Download:
    """9102 `{"fsDownloadIn": {file_qury_no, filename, fixmedins_code}}` (or under `data`)."""
    node = _file_node(input, "fsDownloadIn")
    return Download(node.text("file_qury_no", maxlen=40), node.text("filename", maxlen=200))


def parse_catalogue_query(input: dict[str, object]) -> CatalogueQuery:
    """1301/1302/1305/1306 `{"data": {ver}}`."""
    node = Node(input, "input").child("data")
    path, value = node.at("ver"), node.data.get("ver")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(path, f"must be a JSON string, not {value!r}")
    return CatalogueQuery(cd.read_version(value, path))


def _file_info(stored: files.StoredFile) -> dict[str, Any]:
    return {"file_qury_no": stored.file_no, "filename": stored.name,
            "dld_endtime": f"{business_time(stored.expires_at):%Y-%m-%d %H:%M:%S}"}


def upload(t: tr.Treating, env: Envelope, cmd: Upload, now: datetime, reply: Reply
           ) -> dict[str, Any]:
    """9101: keep the file for the sending institution."""
    _own_code(_file_node(env.input, "fsUploadIn"), env)
    with t.db.tx() as tx:
        stored = files.keep(tx, region=t.region, owner=env.fixmedins_code, name=cmd.filename,
                            kind="upload", content=cmd.content, msgid=env.msgid, now=now)
        result = _file_info(stored) | {"fixmedins_code": env.fixmedins_code}
        reply.record(tx, result)
    return result


def download(t: tr.Treating, env: Envelope, cmd: Download, now: datetime, reply: Reply
             ) -> FileAnswer:
    """9102: the file, to its owner; a catalogue file may be named "plc"."""
    _own_code(_file_node(env.input, "fsDownloadIn"), env)
    with t.db.tx() as tx:
        stored, content = files.fetch(tx, env.fixmedins_code, cmd.file_no, None, now)
    any_name = cmd.filename == ANY_CATALOGUE_NAME and stored.kind != "upload"
    if cmd.filename != stored.name and not any_name:
        raise NotFound(f"file {cmd.file_no} is named {stored.name!r}, not {cmd.filename!r}",
                       field="file_name")
    return FileAnswer(stored.name, content)


def catalogue(infno: str) -> Any:
    """The use case of catalogue download `infno`: make the extract, keep it as a file."""
    list_name = CATALOGUES[infno][0]

    def run(t: tr.Treating, env: Envelope, cmd: CatalogueQuery, now: datetime, reply: Reply
            ) -> dict[str, Any]:
        stem = f"{infno}_{business_time(now):%Y%m%d%H%M%S}"
        with t.db.tx() as tx:
            items = cd.entries_after(tx, list_name, cmd.version)
            content = catalogue_file(infno, items, t.region, business_date(now), stem)
            stored = files.keep(tx, region=t.region, owner=env.fixmedins_code,
                                name=f"{stem}.zip", kind=list_name, content=content,
                                msgid=env.msgid, now=now)
            result = _file_info(stored) | {"data_cnt": len(items)}
            reply.record(tx, result)
        return result
    return run
