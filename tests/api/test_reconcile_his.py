"""3201 totals and 3202 detail reconciliation between 深圳示例医院 and its node (in-process)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from medsettle.adapters.his.client import HisClient, HisError, Patient
from medsettle.adapters.his.transactions import TRANSACTIONS
from medsettle.core.policy import PolicyBook
from tests.api.conftest import OTHER_H, Province, his_rows, new_visit, start_province
from tests.e2e import fixtures as f

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, book: PolicyBook) -> Iterator[Province]:
    """A fresh node whose gateway offers 3201 and 3202."""
    assert {"3201", "3202"} <= set(TRANSACTIONS)
    yield from start_province(tmp_path_factory.mktemp("reconcile"), his_rows(), book)


@pytest.fixture(scope="module")
def day(node: Province) -> dict[str, Any]:
    """Two outpatient settlements, one settled then cancelled, one inpatient stay; the setlinfo
    of each settle (yuan) and the id of the cancel."""
    his = node.signed_in(f.SHENZHEN_H)
    chen = Patient.from_1101(his.person("01", f.CHEN["evoucher"]), "01", f.CHEN["evoucher"])
    kept = []
    for _ in range(2):
        visit = new_visit(node, chen)
        kept.append(visit.flow.settle(visit.total, acct=True)["setlinfo"])
    undone = new_visit(node, chen)
    cancelled = undone.flow.settle(undone.total)["setlinfo"]
    cancel = undone.flow.cancel(cancelled["setl_id"])["setlinfo"]
    stay = new_visit(node, chen, inpatient=True)
    stay.flow.discharge()
    inpatient = stay.flow.settle(stay.total, inpatient=True)["setlinfo"]
    return {"kept": kept, "cancelled": cancelled, "cancel": cancel, "inpatient": inpatient,
            "his": his}


def _sum(rows: list[dict[str, Any]], key: str) -> str:
    return str(sum((Decimal(repr(r[key])) for r in rows), Decimal("0.00")))


def totals_input(day: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The institution's correct 3201 totals of today's outpatient settlements."""
    kept = day["kept"]
    data = {"insutype": "310", "clr_type": "11", "setl_optins": "440300",
            "stmt_begndate": TODAY, "stmt_enddate": TODAY,
            "medfee_sumamt": _sum(kept, "medfee_sumamt"),
            "fund_pay_sumamt": _sum(kept, "fund_pay_sumamt"), "acct_pay": _sum(kept, "acct_pay"),
            "fixmedins_setl_cnt": 2}
    return {"data": data | changes}


def test_3201_balances_when_the_institution_declares_the_node_totals(
        node: Province, day: dict[str, Any]) -> None:
    his: HisClient = day["his"]
    out = his.call("3201", totals_input(day))
    assert out["stmt_rslt"] == "0" and out["setl_optins"] == "440300"
    assert out["fixmedins_setl_cnt"] == 2  # the cancelled settlement and its cancel net to 0
    assert Decimal(repr(out["medfee_sumamt"])) == Decimal("562.00")
    assert "balanced" in out["stmt_rslt_dscr"]


def test_3201_inpatient_totals_are_reconciled_apart(node: Province,
                                                     day: dict[str, Any]) -> None:
    stay = day["inpatient"]
    out = day["his"].call("3201", {"data": {
        "insutype": "310", "clr_type": "21", "setl_optins": "440300", "stmt_begndate": TODAY,
        "stmt_enddate": TODAY, "medfee_sumamt": stay["medfee_sumamt"],
        "fund_pay_sumamt": stay["fund_pay_sumamt"], "acct_pay": stay["acct_pay"],
        "fixmedins_setl_cnt": 1}})
    assert out["stmt_rslt"] == "0"


def test_3201_names_each_difference_in_yuan(node: Province, day: dict[str, Any]) -> None:
    declared = totals_input(day)["data"]
    wrong = totals_input(day, fixmedins_setl_cnt=3,
                         medfee_sumamt=str(Decimal(declared["medfee_sumamt"]) + Decimal("100.5")))
    out = day["his"].call("3201", wrong)
    assert out["stmt_rslt"] == "1"
    dscr = out["stmt_rslt_dscr"]
    assert "medfee_sumamt: institution 662.50, centre 562.00, difference 100.50" in dscr
    assert "fixmedins_setl_cnt: institution 3, centre 2, difference 1" in dscr
    assert "fund_pay_sumamt" not in dscr and "acct_pay" not in dscr
    with node.node.store.tx() as tx:
        reports = [r for r in tx.rows("reconciliation_reports", scope="institution")
                   if r.report["infno"] == "3201"]
    assert [r.balanced for r in reports][-1] is False
    assert reports[-1].counterpart == f.SHENZHEN_H
    assert reports[-1].report["declared"]["medfee_sumamt"] == 66250


def detail_row(setlinfo: dict[str, Any], refund: bool = False, **changes: Any) -> dict[str, Any]:
    sign = -1 if refund else 1
    row = {"setl_id": setlinfo["setl_id"], "mdtrt_id": setlinfo["mdtrt_id"],
           "psn_no": setlinfo["psn_no"],
           **{k: str(sign * Decimal(repr(setlinfo[k])))
              for k in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")},
           "refd_setl_flag": "1" if refund else "0"}
    return row | changes


def details_input(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": {"setl_optins": "440300", "file_qury_no": "", "stmt_begndate": TODAY,
                     "stmt_enddate": TODAY, "medfee_sumamt": "0", "fund_pay_sumamt": "0",
                     "cash_payamt": "0", "fixmedins_setl_cnt": len(rows), "detail": rows}}


def test_3202_balances_when_every_row_matches(node: Province, day: dict[str, Any]) -> None:
    rows = [detail_row(s) for s in (*day["kept"], day["cancelled"], day["inpatient"])]
    rows.append(detail_row(day["cancel"], refund=True))
    out = day["his"].call("3202", details_input(rows))
    assert out["stmt_rslt"] == "0", out["detail"]
    assert out["detail"] == []
    assert out["stmt_rslt_dscr"].startswith("对账平：机构 5 笔，中心 5 笔，一致 5 笔，不符 0 笔")


def test_3202_lists_each_mismatch_by_setl_id(node: Province, day: dict[str, Any]) -> None:
    first, second = day["kept"]
    ghost = "440000209901010000000000000001"
    rows = [detail_row(first),
            detail_row(second, medfee_sumamt="999.99"),
            detail_row(day["cancelled"]),
            detail_row(first, setl_id=ghost)]
    out = day["his"].call("3202", details_input(rows))
    assert out["stmt_rslt"] == "1"
    problems = {m["setl_id"]: m["stmt_rslt"] for m in out["detail"]}
    assert problems == {second["setl_id"]: "3", ghost: "1",  # differs, missing at the node
                        day["cancel"]["setl_id"]: "2",  # missing at the institution
                        day["inpatient"]["setl_id"]: "2"}
    differs = next(m for m in out["detail"] if m["setl_id"] == second["setl_id"])
    assert differs["memo"].startswith("金额或标志不符；medfee_sumamt 机构 999.99，中心 281.00 (")
    assert differs["medfee_sumamt"] == 999.99  # the institution's row, the node's in memo
    cancel = next(m for m in out["detail"] if m["setl_id"] == day["cancel"]["setl_id"])
    assert cancel["refd_setl_flag"] == "1" and cancel["medfee_sumamt"] < 0
    assert "机构 4 笔，中心 5 笔，一致 2 笔，不符 4 笔" in out["stmt_rslt_dscr"]
    with node.node.store.tx() as tx:
        saved = [r for r in tx.rows("reconciliation_reports") if r.report["infno"] == "3202"]
    assert saved[-1].report["mismatch_cnt"] == 4 and saved[-1].balanced is False


@pytest.mark.parametrize(("infno", "edit", "field"), [
    ("3201", lambda d: d["data"].pop("clr_type"), "input.data.clr_type"),
    ("3201", lambda d: d["data"].update(clr_type="31"), "input.data.clr_type"),
    ("3201", lambda d: d["data"].update(medfee_sumamt="abc"), "input.data.medfee_sumamt"),
    ("3201", lambda d: d["data"].update(stmt_enddate="2000-01-01"), "input.data.stmt_enddate"),
    ("3202", lambda d: d["data"].pop("detail"), "input.data.detail"),
    ("3202", lambda d: d["data"]["detail"][0].update(acct_pay="-1"),
     "input.data.detail[0].acct_pay"),
    ("3202", lambda d: d["data"]["detail"][0].pop("setl_id"), "input.data.detail[0].setl_id"),
    ("3202", lambda d: d["data"]["detail"][0].update(refd_setl_flag="x"),
     "input.data.detail[0].refd_setl_flag"),
])
def test_bad_reconciliation_input_is_refused_naming_the_field(
        node: Province, day: dict[str, Any], infno: str, edit: Any, field: str) -> None:
    doc = totals_input(day) if infno == "3201" else details_input([detail_row(day["kept"][0])])
    edit(doc)
    before = node.snapshot()
    with pytest.raises(HisError) as refused:
        day["his"].call(infno, doc)
    assert field in str(refused.value)
    assert node.snapshot() == before


def detail_file(rows: list[dict[str, Any]], *, header: bool = True) -> bytes:
    """The 3202 detail file: tab-separated lines in the national column order, zipped."""
    columns = ("setl_id", "mdtrt_id", "psn_no", "medfee_sumamt", "fund_pay_sumamt", "acct_pay",
               "refd_setl_flag")
    lines = ["\t".join(columns)] if header else []
    lines += ["\t".join(str(row[c]).lstrip("-") for c in columns) for row in rows]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("detail.txt", "\n".join(lines) + "\n")
    return buffer.getvalue()


def by_file(file_qury_no: str) -> dict[str, Any]:
    doc = details_input([])
    del doc["data"]["detail"]
    doc["data"]["file_qury_no"] = file_qury_no
    return doc


def result_lines(his: HisClient, out: dict[str, Any]) -> list[list[str]]:
    info = out["fileinfo"]
    with zipfile.ZipFile(io.BytesIO(his.download(info["file_qury_no"], info["filename"]))) as z:
        (name,) = z.namelist()
        return [line.split("\t") for line in z.read(name).decode().splitlines()]


def test_3202_reads_the_detail_file_named_by_file_qury_no(node: Province,
                                                          day: dict[str, Any]) -> None:
    his: HisClient = day["his"]
    rows = [detail_row(s) for s in (*day["kept"], day["cancelled"], day["inpatient"])]
    rows.append(detail_row(day["cancel"], refund=True))
    uploaded = his.upload("3202.zip", detail_file(rows))
    out = his.call("3202", by_file(uploaded["file_qury_no"]))
    assert out["stmt_rslt"] == "0", out["detail"]
    assert "机构 5 笔，中心 5 笔，一致 5 笔，不符 0 笔" in out["stmt_rslt_dscr"] and out["detail"] == []
    assert out["file_qury_no"] == uploaded["file_qury_no"]
    assert result_lines(his, out) == []


def test_3202_answers_a_result_file_of_the_mismatches(node: Province,
                                                      day: dict[str, Any]) -> None:
    his: HisClient = day["his"]
    first, second = day["kept"]
    rows = [detail_row(first), detail_row(second, medfee_sumamt="999.99"),
            detail_row(day["cancelled"]), detail_row(day["inpatient"]),
            detail_row(day["cancel"], refund=True)]
    uploaded = his.upload("3202.zip", detail_file(rows, header=False))
    out = his.call("3202", by_file(uploaded["file_qury_no"]))
    assert out["stmt_rslt"] == "1" and len(out["detail"]) == 1
    (line,) = result_lines(his, out)
    assert line[0] == second["setl_id"] and line[3] == "999.99" and line[7] == "1"
    assert line[8] and "medfee_sumamt" in line[9]  # the settlement's msgid, and why


def test_3202_may_not_name_another_institutions_file(node: Province,
                                                     day: dict[str, Any]) -> None:
    other = node.signed_in(OTHER_H)
    theirs = other.upload("3202.zip", detail_file([detail_row(day["kept"][0])]))
    before = node.snapshot()
    with pytest.raises(HisError) as refused:
        day["his"].call("3202", by_file(theirs["file_qury_no"]))
    assert "[forbidden]" in str(refused.value)
    assert node.snapshot() == before


@pytest.mark.parametrize(("content", "where"), [
    (b"1\t2\t3\n", "line 1"),
    (b"setl_id\n4400\tM1\tP1\t1.00\t1.00\t0.00\t1\n4400\tM1\tP1\t1.00\t1.00\t0.00\t0\n",
     "line 3.setl_id"),
    (b"44000001\tM1\tP1\tabc\t1.00\t0.00\t0\n", "line 1.medfee_sumamt"),
    (b"\n\n", "lists no settlement"),
])
def test_a_bad_detail_file_is_refused_naming_the_line(node: Province, day: dict[str, Any],
                                                      content: bytes, where: str) -> None:
    his: HisClient = day["his"]
    uploaded = his.upload("bad.txt", content)
    before = node.snapshot()
    with pytest.raises(HisError) as refused:
        his.call("3202", by_file(uploaded["file_qury_no"]))
    assert f"file {uploaded['file_qury_no']}" in str(refused.value)
    assert where in str(refused.value)
    assert node.snapshot() == before


def test_3202_takes_a_file_or_inline_detail_not_both(node: Province,
                                                     day: dict[str, Any]) -> None:
    his: HisClient = day["his"]
    uploaded = his.upload("3202.zip", detail_file([detail_row(day["kept"][0])]))
    doc = details_input([detail_row(day["kept"][0])])
    doc["data"]["file_qury_no"] = uploaded["file_qury_no"]
    with pytest.raises(HisError) as refused:
        his.call("3202", doc)
    assert "input.data.detail" in str(refused.value)
