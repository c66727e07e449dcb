"""The limits on what a HIS's files may cost the node: a zipped 3202 detail file is unpacked
within its limit whatever its header claims, a zip the node cannot read is the sender's
`[invalid_input]`, and one institution holds a bounded number of files."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from medsettle.adapters.his.client import HisClient, HisError
from medsettle.adapters.his.detail_file import UNPACKED_MAX_BYTES
from medsettle.core.policy import PolicyBook
from medsettle.services import institution_files as files
from tests.api.conftest import OTHER_H, REGION, Province, his_rows, start_province
from tests.api.test_reconcile_his import by_file
from tests.e2e import fixtures as f

LINE = b"S1\tM1\tP1\t1.00\t1.00\t0.00\t0\n"
#: What a bomb unpacks to: five times the limit, in an upload of a few hundred kilobytes.
BOMB_BYTES = 5 * UNPACKED_MAX_BYTES
#: Reading a file the node refuses should cost far less than the limit, let alone the bomb.
REFUSAL_PEAK_MAX = UNPACKED_MAX_BYTES // 4


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[Province]:
    yield from start_province(tmp_path_factory.mktemp("limits"), his_rows(), book)


@pytest.fixture
def his(node: Province) -> HisClient:
    """深圳示例医院, holding no file yet."""
    with node.node.store.tx() as tx:
        for owner in (f.SHENZHEN_H, OTHER_H):
            tx.remove("his_files", owner=owner)
    return node.signed_in(f.SHENZHEN_H)


def zip_of(content: bytes, method: int = zipfile.ZIP_DEFLATED) -> bytearray:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr("detail.txt", content)
    return bytearray(buffer.getvalue())


def set_field(data: bytearray, local_at: int, central_at: int, fmt: str, value: int
              ) -> bytearray:
    """`data` with a field of the member's local header and the same field of its central
    directory entry set to `value` (at their offsets from each signature)."""
    struct.pack_into(fmt, data, data.find(b"PK\x03\x04") + local_at, value)
    struct.pack_into(fmt, data, data.find(b"PK\x01\x02") + central_at, value)
    return data


def bomb(method: int) -> bytes:
    """A zip of BOMB_BYTES of newlines whose headers claim 100 bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        with archive.open("detail.txt", "w") as member:
            for _ in range(BOMB_BYTES // 1_000_000):
                member.write(b"\n" * 1_000_000)
    return bytes(set_field(bytearray(buffer.getvalue()), 22, 24, "<I", 100))


def encrypted() -> bytes:
    """Bit 0 of the general-purpose flags set: zipfile wants a password."""
    data = zip_of(LINE * 50)
    flags = struct.unpack_from("<H", data, data.find(b"PK\x03\x04") + 6)[0] | 1
    return bytes(set_field(data, 6, 8, "<H", flags))


def deflate64() -> bytes:
    """Method 9, which zipfile does not implement."""
    return bytes(set_field(zip_of(LINE * 50, zipfile.ZIP_STORED), 8, 10, "<H", 9))


def corrupt_deflate() -> bytes:
    """A deflate stream whose first block has the invalid type 3."""
    data = zip_of(LINE * 50)
    start = data.find(b"PK\x03\x04") + 30 + len("detail.txt")
    data[start:start + 2] = b"\xff\xff"
    return bytes(data)


def cut_short() -> bytes:
    """A stored member whose headers claim more bytes than the zip holds (EOFError)."""
    data = zip_of(LINE * 50, zipfile.ZIP_STORED)
    claimed = 5 * len(LINE * 50)
    set_field(data, 18, 20, "<I", claimed)  # compressed size
    return bytes(set_field(data, 22, 24, "<I", claimed))  # uncompressed size


def refusal(node: Province, his: HisClient, infno: str, input: dict[str, object]) -> str:
    """The err_msg of a message the node refuses, having checked it wrote nothing."""
    before = node.snapshot()
    with pytest.raises(HisError) as refused:
        his.call(infno, input)
    assert node.snapshot() == before
    return str(refused.value)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_DEFLATED],
                         ids=["bzip2", "deflate"])
def test_a_zip_bomb_is_refused_naming_the_file_without_unpacking_it(
        node: Province, his: HisClient, method: int) -> None:
    uploaded = his.upload("detail.zip", bomb(method))["file_qury_no"]
    tracemalloc.start()
    try:
        err = refusal(node, his, "3202", by_file(uploaded))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "[invalid_input]" in err and f"file {uploaded}" in err
    assert peak < REFUSAL_PEAK_MAX, f"{peak} bytes allocated to refuse a {BOMB_BYTES}-byte bomb"


@pytest.mark.parametrize("content, says", [
    (encrypted(), "encrypted"), (deflate64(), "compression method 9"),
    (corrupt_deflate(), "not a readable one"), (cut_short(), "not a readable one")],
    ids=["encrypted", "deflate64", "corrupt-deflate", "cut-short"])
def test_a_zip_the_node_cannot_read_is_invalid_input_naming_the_file(
        node: Province, his: HisClient, content: bytes, says: str) -> None:
    uploaded = his.upload("detail.zip", content)["file_qury_no"]
    err = refusal(node, his, "3202", by_file(uploaded))
    assert "[invalid_input]" in err and f"file {uploaded}" in err and says in err


def test_a_stored_or_deflated_detail_zip_is_still_read(his: HisClient) -> None:
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        uploaded = his.upload("detail.zip", bytes(zip_of(LINE, method)))["file_qury_no"]
        out = his.call("3202", by_file(uploaded))
        assert out["stmt_rslt_dscr"].startswith("对账不平：机构 1 笔"), method


def keep_uploads(node: Province, count: int, now: datetime, content: bytes = LINE) -> None:
    """`count` uploads of 深圳示例医院, kept at `now`."""
    with node.node.store.tx() as tx:
        for i in range(count):
            files.keep(tx, region=REGION, owner=f.SHENZHEN_H, name=f"d{i}.txt", kind="upload",
                       content=content, msgid=f"M{i}", now=now)


@pytest.fixture
def small_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    """Quotas of a few one-line files, so a test fills them quickly (the real ones are MBs)."""
    monkeypatch.setattr(files, "UPLOAD_BYTES_MAX", 40 * len(LINE))
    monkeypatch.setattr(files, "HELD_BYTES_MAX", 50 * len(LINE) + 10_000_000)
    monkeypatch.setattr(files, "FILES_HELD_MAX", 60)


def test_an_upload_past_the_quota_is_refused_and_an_expired_file_no_longer_counts(
        node: Province, his: HisClient, small_quota: None) -> None:
    now = datetime.now(UTC)
    keep_uploads(node, 10, now - files.FILE_TTL)  # expired by now
    keep_uploads(node, 39, now)
    assert his.upload("last.txt", LINE)["file_qury_no"]  # the 40th upload it holds
    err = refusal(node, his, "9101", {"fsUploadIn": {"in": list(LINE), "filename": "x.txt"}})
    assert "[invalid_input]" in err and "input.fsUploadIn.in" in err
    assert f"at most {40 * len(LINE):,}" in err
    assert node.signed_in(OTHER_H).upload("other.txt", LINE)  # another institution is apart


def test_the_node_keeps_its_own_files_past_the_upload_quota_up_to_the_file_quota(
        node: Province, his: HisClient, small_quota: None) -> None:
    keep_uploads(node, 40, datetime.now(UTC))
    for _ in range(files.FILES_HELD_MAX - 40):
        assert his.call("1301", {"data": {"ver": "0"}})["file_qury_no"]
    err = refusal(node, his, "1301", {"data": {"ver": "0"}})
    assert "[invalid_input]" in err and "fixmedins_code" in err
    assert f"at most {files.FILES_HELD_MAX} files" in err


def test_a_busy_hospitals_week_fits_the_real_quota(node: Province, his: HisClient) -> None:
    """Six insurance types, each a detail upload and a 3202 result a day, and four catalogue
    extracts: 16 files of up to 1 MB a day, kept three days. A count of 50 files refused the
    fourth day."""
    now = datetime.now(UTC)
    with node.node.store.tx() as tx:
        for day in range(3):
            for n in range(16):
                files.keep(tx, region=REGION, owner=f.SHENZHEN_H, name=f"d{day}-{n}.txt",
                           kind="upload" if n < 6 else "reconciliation",
                           content=b"x" * files.FILE_MAX_BYTES, msgid=f"D{day}{n}",
                           now=now - timedelta(days=day))
    for insurance in range(6):
        uploaded = his.upload(f"detail{insurance}.txt", LINE)["file_qury_no"]
        assert his.call("3202", by_file(uploaded))["stmt_rslt_dscr"]
    for _ in range(4):
        assert his.call("1301", {"data": {"ver": "0"}})["file_qury_no"]
