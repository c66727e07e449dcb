"""3201 totals and 3202 detail reconciliation (对账) between an institution and its treating node.

The node's side is its `settlements` rows of role treating for the institution, settle and
cancel records (a cancel counts −1 and with negative amounts), whose business date
(Asia/Shanghai) is in [stmt_begndate, stmt_enddate]. 3202 reads the institution's detail rows
from the file it uploaded with 9101 and names in `file_qury_no` (detail_file.py), or inline
from `input.data.detail`; it answers the totals, the mismatches and (`fileinfo`) a result file
to fetch with 9102. Each answer is saved in `reconciliation_reports` (scope "institution").
Amounts on the wire are yuan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from medsettle.adapters.his.detail_file import read_detail_file, result_file
from medsettle.adapters.his.envelope import Envelope
from medsettle.adapters.his.inputs_common import TOTAL_MAX_FEN, validate_id
from medsettle.adapters.his.inputs_other import ReconcileDetails, ReconcileTotals
from medsettle.adapters.his.outputs import yuan
from medsettle.adapters.his.reader import Node, is_blank
from medsettle.core.calendar import business_time
from medsettle.core.errors import InvalidInput
from medsettle.core.money import fen_to_yuan
from medsettle.core.records import SettlementKind, SettlementRecord
from medsettle.services import institution_files as files
from medsettle.services import institution_reconcile as rc
from medsettle.services import treating as tr
from medsettle.services.institution_reconcile import CLEARING_TYPES, Totals
from medsettle.services.ports import Reply, UnitOfWork

TOTALS = ("fixmedins_setl_cnt", "medfee_sumamt", "fund_pay_sumamt", "acct_pay")
DETAIL_MAX = 500


def _wire(totals: Totals) -> dict[str, Any]:
    return {"fixmedins_setl_cnt": totals.count, "medfee_sumamt": yuan(totals.medfee_sumamt),
            "fund_pay_sumamt": yuan(totals.fund_pay_sumamt), "acct_pay": yuan(totals.acct_pay)}


def _node_doc(totals: Totals) -> dict[str, int]:
    return {"fixmedins_setl_cnt": totals.count, "medfee_sumamt": totals.medfee_sumamt,
            "fund_pay_sumamt": totals.fund_pay_sumamt, "acct_pay": totals.acct_pay}


def _describe(declared: Mapping[str, int], node: Mapping[str, int]) -> str:
    diffs = []
    for name in TOTALS:
        if declared[name] == node[name]:
            continue
        if name == "fixmedins_setl_cnt":
            diffs.append(f"{name}: institution {declared[name]}, centre {node[name]}, "
                         f"difference {declared[name] - node[name]}")
        else:
            diffs.append(f"{name}: institution {fen_to_yuan(declared[name])}, centre "
                         f"{fen_to_yuan(node[name])}, difference "
                         f"{fen_to_yuan(declared[name] - node[name])}")
    return "对账不平 (not balanced): " + "; ".join(diffs) if diffs else "对账平 (balanced)"


def totals(t: tr.Treating, env: Envelope, cmd: ReconcileTotals, now: datetime, reply: Reply
           ) -> dict[str, Any]:
    """3201: the institution's declared totals against the node's, for one insutype/clr_type."""
    if cmd.clr_type not in CLEARING_TYPES:
        raise InvalidInput("input.data.clr_type", f"must be 11 (outpatient) or 21 (inpatient), "
                                                  f"not {cmd.clr_type!r}")
    found = rc.of_clearing_type(rc.records(t.db, env.fixmedins_code, cmd.stmt_begndate,
                                           cmd.stmt_enddate), cmd.insutype, cmd.clr_type)
    node = _node_doc(rc.totals_of(found))
    declared = {"fixmedins_setl_cnt": cmd.fixmedins_setl_cnt, "medfee_sumamt": cmd.medfee_sumamt,
                "fund_pay_sumamt": cmd.fund_pay_sumamt, "acct_pay": cmd.acct_pay}
    balanced = declared == node
    answer = {"setl_optins": cmd.setl_optins, "stmt_rslt": "0" if balanced else "1",
              "stmt_rslt_dscr": _describe(declared, node), **_wire(rc.totals_of(found))}
    with t.db.tx() as tx:
        rc.save_report(tx, cmd.stmt_enddate, env.fixmedins_code, balanced, {
            "infno": "3201", "msgid": env.msgid, "insutype": cmd.insutype,
            "clr_type": cmd.clr_type, "stmt_begndate": cmd.stmt_begndate.isoformat(),
            "stmt_enddate": cmd.stmt_enddate.isoformat(), "declared": declared, "node": node,
            "balanced": balanced}, now)
        reply.record(tx, answer)
    return answer


def parse_detail(input: object) -> list[rc.Declared]:
    """3202 `input.data.detail`: the institution's rows inline."""
    data = Node(input, "input").child("data")
    return declared_rows(data.items("detail", required=True, max_items=DETAIL_MAX))


def _file_detail(t: tr.Treating, env: Envelope, file_no: str, now: datetime
                 ) -> list[rc.Declared]:
    """The rows of the detail file `file_no`, which the sender uploaded with 9101."""
    data = Node(env.input, "input").child("data")
    if not is_blank(data.data.get("detail")):
        raise InvalidInput(data.at("detail"), "give the detail either in the file that "
                           "file_qury_no names or inline here, not both")
    with t.db.tx() as tx:
        stored, content = files.fetch(tx, env.fixmedins_code, file_no, None, now)
    if stored.kind != "upload":
        raise InvalidInput("file_no", f"file {file_no} is a {stored.kind} file the node made; "
                                      "name the detail file uploaded with 9101")
    return declared_rows(Node(row, where) for where, row in read_detail_file(content,
                                                                        f"file {file_no}"))


def declared_rows(nodes: Iterable[Node]) -> list[rc.Declared]:
    """Rows {setl_id, mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay,
    refd_setl_flag}; a refund row (flag 1) is a cancel record and its (non-negative) amounts
    count negative."""
    rows: list[rc.Declared] = []
    seen: set[str] = set()
    for node in nodes:
        refund = node.flag("refd_setl_flag")
        sign = -1 if refund else 1
        row = rc.Declared(
            settlement_id=node.code("setl_id", validate_id),
            visit_id=node.code("mdtrt_id", validate_id),
            person_id=node.code("psn_no", validate_id), refund=refund,
            amounts={k: sign * node.fen(k, limit=TOTAL_MAX_FEN) for k in rc.DETAIL_AMOUNTS})
        if row.settlement_id in seen:
            raise InvalidInput(node.at("setl_id"), f"{row.settlement_id} appears twice")
        seen.add(row.settlement_id)
        rows.append(row)
    return rows


#: The service's names of a difference → the fields the institution sent.
_DIFFERENCE_NAMES = {"refund": "refd_setl_flag", "visit_id": "mdtrt_id", "person_id": "psn_no"}


def _mismatch(m: rc.Mismatch) -> dict[str, Any]:
    def declared(d: rc.Declared | None) -> dict[str, Any] | None:
        return None if d is None else {k: yuan(d.amounts[k]) for k in rc.DETAIL_AMOUNTS} | {
            "mdtrt_id": d.visit_id, "psn_no": d.person_id}

    def recorded(r: SettlementRecord | None) -> dict[str, Any] | None:
        if r is None:
            return None
        own = r.amounts.as_dict()
        return {k: yuan(own[k]) for k in rc.DETAIL_AMOUNTS} | {"mdtrt_id": r.visit_id,
                                                               "psn_no": r.person_id}
    memo = m.memo
    for name, national in _DIFFERENCE_NAMES.items():
        memo = memo.replace(name, national) if m.problem == "differs" else memo
    return {"setl_id": m.settlement_id, "stmt_rslt": m.problem, "memo": memo,
            "institution": declared(m.declared), "centre": recorded(m.recorded)}


#: A mismatch's problem → its row's stmt_rslt and the Chinese a clerk reads.
_DETAIL_RESULTS = {"missing_at_node": ("1", "中心无此结算"),
                   "missing_at_institution": ("2", "机构未上报此结算"),
                   "differs": ("3", "金额或标志不符")}


def _detail_row(m: rc.Mismatch, memo: str) -> dict[str, Any]:
    """A 3202 result row in national fields: the institution's values when it declared the
    settlement, else the node's; stmt_rslt 1/2/3 and a memo naming both sides."""
    code, words = _DETAIL_RESULTS[m.problem]
    if m.declared is not None and m.recorded is not None:
        own = m.recorded.amounts.as_dict()
        sides = [f"{k} 机构 {fen_to_yuan(m.declared.amounts[k])}，中心 {fen_to_yuan(own[k])}"
                 for k in rc.DETAIL_AMOUNTS if m.declared.amounts[k] != own[k]]
        words = "；".join([words, *sides])
    if m.declared is not None:
        d = m.declared
        amounts, visit, person, refund = d.amounts, d.visit_id, d.person_id, d.refund
    else:
        r = m.recorded
        if r is None:
            raise ValueError(f"mismatch {m.settlement_id} has neither side")
        amounts, visit, person = r.amounts.as_dict(), r.visit_id, r.person_id
        refund = r.kind is SettlementKind.CANCEL
    return {"setl_id": m.settlement_id, "mdtrt_id": visit, "psn_no": person,
            **{k: yuan(amounts[k]) for k in rc.DETAIL_AMOUNTS},
            "refd_setl_flag": "1" if refund else "0", "stmt_rslt": code,
            "memo": f"{words} ({m.problem}: {memo})"[:500]}


def details(t: tr.Treating, env: Envelope, cmd: ReconcileDetails, now: datetime,
            reply: Reply) -> dict[str, Any]:
    """3202: the institution's settlement rows against the node's, per setl_id."""
    declared = (_file_detail(t, env, cmd.file_qury_no, now) if cmd.file_qury_no
                else parse_detail(env.input))
    result = rc.compare_details(declared, rc.records(
        t.db, env.fixmedins_code, cmd.stmt_begndate, cmd.stmt_enddate))
    counts = {"detail_cnt": result.declared_count, "centre_cnt": result.recorded_count,
              "matched_cnt": result.matched, "mismatch_cnt": len(result.mismatches)}
    tally = (f"机构 {result.declared_count} 笔，中心 {result.recorded_count} 笔，一致 "
             f"{result.matched} 笔，不符 {len(result.mismatches)} 笔")
    dscr = f"对账平：{tally} (balanced)" if result.balanced else (
        f"对账不平：{tally} (not balanced: " + ", ".join(
            f"{k} {v}" for k, v in result.by_problem.items() if v) + ")")
    mismatches = [_mismatch(m) for m in result.mismatches]
    with t.db.tx() as tx:  # the result file, the report and the answer: all or nothing
        answer = {"setl_optins": cmd.setl_optins, "file_qury_no": cmd.file_qury_no or "",
                  "stmt_rslt": "0" if result.balanced else "1", "stmt_rslt_dscr": dscr,
                  **_wire(result.node),
                  "detail": [_detail_row(m, row["memo"])
                             for m, row in zip(result.mismatches, mismatches, strict=True)],
                  "fileinfo": _result_file(tx, t.region, env, result.mismatches, now)}
        rc.save_report(tx, cmd.stmt_enddate, env.fixmedins_code, result.balanced, {
            "infno": "3202", "msgid": env.msgid, "stmt_begndate": cmd.stmt_begndate.isoformat(),
            "stmt_enddate": cmd.stmt_enddate.isoformat(), **counts,
            "node": _node_doc(result.node), "mismatches": mismatches}, now)
        reply.record(tx, answer)
    return answer


def _result_row(m: rc.Mismatch) -> dict[str, str]:
    d, r = m.declared, m.recorded
    row = {"setl_id": m.settlement_id, "stmt_rslt": "1", "memo": f"{m.problem}: {m.memo}",
           "msgid": "" if r is None else r.msgid}
    if d is not None:
        row |= {"mdtrt_id": d.visit_id, "psn_no": d.person_id,
                "refd_setl_flag": "1" if d.refund else "0",
                **{k: fen_to_yuan(abs(d.amounts[k])) for k in rc.DETAIL_AMOUNTS}}
    elif r is not None:
        row |= {"mdtrt_id": r.visit_id, "psn_no": r.person_id}
    return row


def _result_file(tx: UnitOfWork, region: str, env: Envelope, mismatches: list[rc.Mismatch],
                 now: datetime) -> dict[str, str]:
    """Keep the result file for the institution; its fileinfo."""
    stem = f"3202_{business_time(now):%Y%m%d%H%M%S}"
    stored = files.keep(tx, region=region, owner=env.fixmedins_code, name=f"{stem}.zip",
                        kind="reconciliation",
                        content=result_file(stem, [_result_row(m) for m in mismatches]),
                        msgid=env.msgid, now=now)
    return {"file_qury_no": stored.file_no, "filename": stored.name,
            "dld_endtime": f"{business_time(stored.expires_at):%Y-%m-%d %H:%M:%S}"}
