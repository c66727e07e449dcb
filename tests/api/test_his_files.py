"""9101 upload, 9102 download and the catalogue downloads 1301/1305/1306, through the gateway."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from medsettle.adapters.api.province import ProvinceConfig, ProvinceNode, create_province_app
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.his.catalogue_files import (
    DRUG_COLUMNS,
    HERB_COLUMNS,
    MATERIAL_COLUMNS,
    SERVICE_COLUMNS,
)
from medsettle.adapters.his.client import HisClient, HisError
from medsettle.adapters.his.detail_file import FILE_DETAIL_MAX, read_detail_file
from medsettle.adapters.his.files import parse_upload
from medsettle.core.calendar import business_time
from medsettle.core.errors import InvalidInput, NotFound
from medsettle.core.policy import PolicyBook
from medsettle.services import institution_files as files
from tests.api.conftest import OTHER_H, REGION, Province, TestClient, his_rows, start_province
from tests.conftest import fresh_database
from tests.e2e import fixtures as f

DETAIL = b"setl_id\tmdtrt_id\n4400001\t4400002\n"


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[Province]:
    """A fresh node (its catalogue grows in these tests)."""
    yield from start_province(tmp_path_factory.mktemp("files"), his_rows(), book)


@pytest.fixture(scope="module")
def his(node: Province) -> HisClient:
    return node.signed_in(f.SHENZHEN_H)


@pytest.fixture(scope="module")
def other(node: Province) -> HisClient:
    return node.signed_in(OTHER_H)


def refused(call: Any, *args: Any) -> str:
    """The err_msg of a call the gateway refuses."""
    with pytest.raises(HisError) as failed:
        call(*args)
    return str(failed.value)


def unzip(content: bytes) -> list[list[str]]:
    """The lines of the one text file in a zip, split at tabs."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode("utf-8")
    return [line.split("\t") for line in text.splitlines()]


def test_an_uploaded_file_comes_back_byte_for_byte(his: HisClient) -> None:
    content = bytes(range(256)) * 3
    out = his.upload("对账明细.txt", content)
    assert out["filename"] == "对账明细.txt" and out["fixmedins_code"] == f.SHENZHEN_H
    assert len(out["file_qury_no"]) <= 30 and out["dld_endtime"]
    assert his.download(out["file_qury_no"], "对账明细.txt") == content


def test_signed_byte_values_are_read_as_bytes(his: HisClient) -> None:
    """Java and C# HIS code send sbyte values: -1 is 0xFF."""
    out = his.call("9101", {"fsUploadIn": {"in": [-1, -128, 0, 127], "filename": "s.bin",
                                           "fixmedins_code": f.SHENZHEN_H}})
    assert his.download(out["file_qury_no"], "s.bin") == b"\xff\x80\x00\x7f"


def test_a_file_may_come_as_base64(his: HisClient) -> None:
    """C# and Java JSON writers send a byte array as a base64 string."""
    out = his.call("9101", {"fsUploadIn": {"in": "AAEC/w==", "filename": "b.bin"}})
    assert his.download(out["file_qury_no"], "b.bin") == b"\x00\x01\x02\xff"


def test_another_institution_may_not_fetch_the_file(his: HisClient, other: HisClient) -> None:
    out = his.upload("detail.txt", DETAIL)
    err = refused(other.download, out["file_qury_no"], "detail.txt")
    assert "[forbidden]" in err and "another institution" in err
    assert his.download(out["file_qury_no"], "detail.txt") == DETAIL


def test_a_file_may_not_be_uploaded_in_another_institutions_name(node: Province,
                                                                 his: HisClient) -> None:
    before = node.snapshot()
    err = refused(his.call, "9101", {"fsUploadIn": {"in": [1, 2], "filename": "x.txt",
                                                    "fixmedins_code": OTHER_H}})
    assert "[forbidden]" in err and "input.fsUploadIn.fixmedins_code" in err
    assert node.snapshot() == before


def test_a_retried_upload_gets_the_same_file_number(node: Province, his: HisClient) -> None:
    msgid = his.msgid()
    first = his.upload("again.txt", DETAIL, msgid=msgid)
    with node.node.store.tx() as tx:
        count = tx.count("his_files")
    assert his.upload("again.txt", DETAIL, msgid=msgid) == first
    with node.node.store.tx() as tx:
        assert tx.count("his_files") == count


@pytest.mark.parametrize(("fs", "field"), [
    ({"in": [], "filename": "a.txt"}, "input.fsUploadIn.in"),
    ({"in": "AA@C", "filename": "a.txt"}, "input.fsUploadIn.in"),
    ({"in": {"0": 1}, "filename": "a.txt"}, "input.fsUploadIn.in"),
    ({"in": [1, 256], "filename": "a.txt"}, "input.fsUploadIn.in[1]"),
    ({"in": [1, 2.5], "filename": "a.txt"}, "input.fsUploadIn.in[1]"),
    ({"in": [1, True], "filename": "a.txt"}, "input.fsUploadIn.in[1]"),
    ({"in": [1]}, "input.fsUploadIn.filename"),
    ({"in": [1], "filename": "../etc/passwd"}, "input.fsUploadIn.filename"),
])
def test_a_bad_upload_is_refused_naming_the_field(node: Province, his: HisClient,
                                                  fs: dict[str, Any], field: str) -> None:
    before = node.snapshot()
    err = refused(his.call, "9101", {"fsUploadIn": fs})
    assert field in err
    assert node.snapshot() == before


def test_a_wrong_name_or_number_is_not_found(his: HisClient) -> None:
    out = his.upload("named.txt", DETAIL)
    err = refused(his.download, out["file_qury_no"], "other.txt")
    assert "[not_found]" in err and "input.fsDownloadIn.filename" in err
    err = refused(his.download, "F440000209901010000000000000", "named.txt")
    assert "[not_found]" in err and "input.fsDownloadIn.file_qury_no" in err
    err = refused(his.download, out["file_qury_no"], "plc")  # "plc" is for catalogue files
    assert "[not_found]" in err


def test_a_file_expires(node: Province, his: HisClient) -> None:
    out = his.upload("old.txt", DETAIL)
    with node.node.store.tx() as tx:
        row = tx.one("his_files", file_no=out["file_qury_no"])
        later = row.created_at + files.FILE_TTL + timedelta(seconds=1)
        with pytest.raises(NotFound, match="expired"):
            files.fetch(tx, f.SHENZHEN_H, out["file_qury_no"], None, later)
    assert f"{business_time(row.expires_at):%Y-%m-%d %H:%M:%S}" == out["dld_endtime"]
    with node.node.store.tx() as tx:  # the next file kept after that deletes it
        files.keep(tx, region="440000", owner=OTHER_H, name="n.txt", kind="upload",
                   content=b"1", msgid="M1", now=later)
        assert tx.one("his_files", file_no=out["file_qury_no"]) is None


def catalogue(his: HisClient, infno: str, ver: str = "0") -> tuple[dict[str, Any],
                                                                  list[list[str]]]:
    out = his.call(infno, {"data": {"ver": ver}})
    return out, unzip(his.download(out["file_qury_no"], "plc"))


def test_1301_lists_the_drugs_in_the_national_columns(his: HisClient) -> None:
    out, lines = catalogue(his, "1301")
    assert out["data_cnt"] == 3 and out["filename"].startswith("1301_")
    assert all(len(line) == len(DRUG_COLUMNS) for line in lines)
    rows = [dict(zip(DRUG_COLUMNS, line, strict=True)) for line in lines]
    assert [r["med_list_codg"] for r in rows] == [f.DRUG_A, f.DRUG_B, f.DRUG_B_CAPPED]
    first = rows[0]
    assert first["drug_genname"] == "氨氯地平片" and first["vali_flag"] == "1"
    assert first["begndate"] == "2024-01-01" and first["nat_hi_druglist_chrgitm_lv"] == "01"
    assert [r["ver"] for r in rows] == sorted(r["ver"] for r in rows)
    assert all(len(r["ver"]) == 20 for r in rows)


def test_1305_and_1306_list_service_items_and_consumables(his: HisClient) -> None:
    out, lines = catalogue(his, "1305")
    rows = [dict(zip(SERVICE_COLUMNS, line, strict=True)) for line in lines]
    assert {r["med_list_codg"]: r["servitem_name"] for r in rows} == {
        f.SERVICE_BED: "住院诊查费", f.SERVICE_C: "特需服务"}
    out, lines = catalogue(his, "1306")
    assert out["data_cnt"] == 0 and lines == []
    assert catalogue(his, "1302")[0]["data_cnt"] == 0
    assert (len(DRUG_COLUMNS), len(HERB_COLUMNS), len(SERVICE_COLUMNS),
            len(MATERIAL_COLUMNS)) == (93, 29, 16, 71)


def test_a_catalogue_download_gives_only_what_came_after_the_version_held(
        node: Province, his: HisClient) -> None:
    _, lines = catalogue(his, "1301")
    held = max(dict(zip(DRUG_COLUMNS, line, strict=True))["ver"] for line in lines)
    assert catalogue(his, "1301", held)[0]["data_cnt"] == 0
    with node.node.store.tx() as tx:
        tx.add("catalogue", {"code": "XN02BEA012A001010101234", "name": "布洛芬片",
                             "chrgitm_lv": "01", "selfpay_prop": "0", "lmt_pric": None,
                             "valid_from": date(2024, 6, 1), "valid_until": None,
                             "med_chrgitm_type": "09", "restriction": {"visit_types": [
                                 "inpatient"]}})
        tx.add("catalogue", {"code": "T000100101", "name": "黄芪", "chrgitm_lv": "02",
                             "selfpay_prop": "0", "lmt_pric": None,
                             "valid_from": date(2024, 6, 1), "valid_until": None,
                             "med_chrgitm_type": "", "restriction": None})
        tx.add("catalogue", {"code": "C1234567890123456789", "name": "一次性输液器",
                             "chrgitm_lv": "02", "selfpay_prop": "0.1", "lmt_pric": None,
                             "valid_from": date(2024, 6, 1), "valid_until": date(2024, 7, 1),
                             "med_chrgitm_type": "08", "restriction": None})
    out, lines = catalogue(his, "1301", held)
    assert out["data_cnt"] == 1
    row = dict(zip(DRUG_COLUMNS, lines[0], strict=True))
    assert row["med_list_codg"] == "XN02BEA012A001010101234" and row["ver"] > held
    assert row["lmt_used_flag"] == "1" and row["lmt_usescp"] == "限住院"
    out, lines = catalogue(his, "1306", held)
    material = dict(zip(MATERIAL_COLUMNS, lines[0], strict=True))
    assert material["mcs_name"] == "一次性输液器" and material["vali_flag"] == "0"
    assert material["enddate"] == "2024-07-01"
    out, lines = catalogue(his, "1302", held)
    herb = dict(zip(HERB_COLUMNS, lines[0], strict=True))
    assert (out["data_cnt"], herb["med_list_codg"], herb["tcmherb_name"]) == (
        1, "T000100101", "黄芪")


def test_a_catalogue_file_is_its_institutions_only(his: HisClient, other: HisClient) -> None:
    out = his.call("1305", {"data": {"ver": "0"}})
    assert "[forbidden]" in refused(other.download, out["file_qury_no"], "plc")


@pytest.mark.parametrize("ver", ["abc", "1" * 21, "-1", True])
def test_a_bad_version_is_refused_naming_it(node: Province, his: HisClient, ver: Any) -> None:
    before = node.snapshot()
    assert "input.data.ver" in refused(his.call, "1301", {"data": {"ver": ver}})
    assert node.snapshot() == before


@pytest.fixture(scope="module")
def pg_node(pg_url: str, book: PolicyBook) -> Iterator[Province]:
    """The same node on PostgreSQL, with one institution of the tolerant dialect."""
    rows = his_rows()
    rows["institutions"] = [{"dialect": None} | r for r in rows["institutions"]] + [
        f.institution(TOLERANT_H, "方言医院", "02", "L3", dialect="tolerant")]
    with fresh_database(pg_url) as url:
        load_rows(url, rows)
        node = ProvinceNode(ProvinceConfig(region=REGION, db_url=url, key="k", hub_url=None),
                            book=book)
        with TestClient(create_province_app(node, background=False)) as http:
            yield Province(node, http)
        node.store.engine.dispose()


TOLERANT_H = "H44030400497"


def test_files_catalogues_and_dialects_on_postgresql(pg_node: Province) -> None:
    his, other = pg_node.signed_in(f.SHENZHEN_H), pg_node.signed_in(OTHER_H)
    content = bytes(range(256))
    out = his.upload("二进制.bin", content)
    assert his.download(out["file_qury_no"], "二进制.bin") == content
    assert "[forbidden]" in refused(other.download, out["file_qury_no"], "二进制.bin")
    drugs, lines = catalogue(his, "1301")
    assert drugs["data_cnt"] == 3 and len(lines) == 3
    tolerant = pg_node.signed_in(TOLERANT_H)
    found = tolerant.call("1101", {"mdtrt_cert_no": f.CHEN["evoucher"]})  # unwrapped, no type
    assert found["baseinfo"]["psn_no"] == f.CHEN["psn_no"]


def test_the_openapi_document_says_9102_answers_a_file(node: Province) -> None:
    doc = node.http.get("/openapi.json").json()
    answers = doc["paths"]["/his"]["post"]["responses"]["200"]["content"]
    assert set(answers) == {"application/json", "application/octet-stream"}


def test_the_largest_file_passes_every_limit_and_one_byte_more_is_refused(
        node: Province, his: HisClient) -> None:
    """1 MB of 0xFF, the longest JSON a file can be, written with ", " between the values."""
    content = b"\xff" * files.FILE_MAX_BYTES
    envelope = his.envelope("9101", {"fsUploadIn": {"in": list(content), "filename": "max.bin"}})
    body = json.dumps(envelope).encode()
    answer = node.post(body).json()
    assert answer["infcode"] == 0, answer["err_msg"]
    assert his.download(answer["output"]["file_qury_no"], "max.bin") == content
    with pytest.raises(InvalidInput, match="at most 1000000 allowed") as refused:
        parse_upload({"fsUploadIn": {"in": [1] * (files.FILE_MAX_BYTES + 1), "filename": "x"}})
    assert refused.value.field == "input.fsUploadIn.in"


def test_a_detail_file_of_too_many_settlements_is_refused() -> None:
    line = b"S1\tM1\tP1\t1.00\t1.00\t0.00\t0\n"
    assert len(read_detail_file(line * FILE_DETAIL_MAX, "file F1")) == FILE_DETAIL_MAX
    with pytest.raises(InvalidInput, match=f"more than {FILE_DETAIL_MAX}"):
        read_detail_file(line * (FILE_DETAIL_MAX + 1), "file F1")
