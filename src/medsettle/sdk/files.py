"""Files and catalogues: 9101 upload, 9102 download, catalogue downloads 1301, 1302, 1305, 1306.

9101 sends a file as base64 (`in`); 9102's answer is the file itself, not an envelope, so it is
read by `Client.download`. A catalogue download answers the `file_qury_no` of a zipped extract
newer than `ver`, fetched with 9102.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_serializer, field_validator

from medsettle.sdk.base import Request
from medsettle.sdk.types import Answer, Message, OptText

FileName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Upload(Message):
    """9101 `fsUploadIn`: the file (bytes; sent as base64), its name, the sender."""

    content: bytes = Field(alias="in")
    filename: FileName
    fixmedins_code: OptText = ""

    @field_validator("content", mode="before")
    @classmethod
    def _bytes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return base64.b64decode(value, validate=True)
        if isinstance(value, list):
            return bytes(b & 0xFF for b in value)
        return value

    @field_serializer("content")
    def _base64(self, content: bytes) -> str:
        return base64.b64encode(content).decode("ascii")


class FileKept(Answer):
    """9101 and 13xx output: the number to fetch the file with (9102), until `dld_endtime`."""

    file_qury_no: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    filename: str = ""
    dld_endtime: str = ""
    data_cnt: int | None = None


class UploadRequest(Request[FileKept]):
    """9101 file upload (文件上传)."""

    INFNO = "9101"
    PERSON = False
    fsUploadIn: Upload


class Download(Message):
    """9102 `fsDownloadIn`: which file (a catalogue file's name may be given as "plc")."""

    file_qury_no: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    filename: FileName
    fixmedins_code: OptText = ""


class DownloadRequest(Request[Answer]):
    """9102 file download (文件下载): the answer is the file's bytes (`Client.download`)."""

    INFNO = "9102"
    READ_ONLY = True
    PERSON = False
    fsDownloadIn: Download


class CatalogueVersion(Message):
    """`data` of 1301–1306: the version the HIS has ("" or "0": everything)."""

    ver: OptText = ""


class DrugCatalogueRequest(Request[FileKept]):
    """1301 western and patent Chinese drugs (西药中成药目录下载)."""

    INFNO = "1301"
    READ_ONLY = True
    PERSON = False
    data: CatalogueVersion


class HerbalCatalogueRequest(DrugCatalogueRequest):
    """1302 Chinese herbal pieces (中药饮片目录下载)."""

    INFNO = "1302"


class ServiceCatalogueRequest(DrugCatalogueRequest):
    """1305 medical service items (医疗服务项目目录下载)."""

    INFNO = "1305"


class MaterialCatalogueRequest(DrugCatalogueRequest):
    """1306 medical consumables (医用耗材目录下载)."""

    INFNO = "1306"
