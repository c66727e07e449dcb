"""3201 totals and 3202 detail reconciliation (对账) between an institution and its treating node.

The node's side is its `settlements` rows of role treating for the institution, settle and
cancel records (a cancel counts −1 and with negative amounts), whose business date
(Asia/Shanghai) is in [stmt_begndate, stmt_enddate]. 3202 takes the institution's detail rows
inline as `input.data.detail`, since the 9101 file upload is not offered. Each answer is saved
in `reconciliation_reports` (scope "institution"). Amounts on the wire are yuan.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from medsettle.adapters.db import tables as tbl
from medsettle.adapters.his.envelope import Envelope
from medsettle.adapters.his.inputs_common import TOTAL_MAX_FEN, validate_id
from medsettle.adapters.his.inputs_other import ReconcileDetails, ReconcileTotals
from medsettle.adapters.his.outputs import yuan
from medsettle.adapters.his.reader import Node
from medsettle.core.errors import InvalidInput
from medsettle.core.money import fen_to_yuan
from medsettle.services import treating as tr
from medsettle.services.reconcile import business_day, day_bounds

#: clr_type → the visit types it covers (11 outpatient incl. chronic, 21 inpatient).
CLR_TYPES: dict[str, tuple[str, ...]] = {"11": ("outpatient", "chronic"), "21": ("inpatient",)}
TOTALS = ("fixmedins_setl_cnt", "medfee_sumamt", "fund_pay_sumamt", "acct_pay")
DETAIL_AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay")
DETAIL_MAX = 500


def settlements_between(store: Any, role: str, first: date, last: date,
                        fixmedins_code: str | None = None) -> list[dict[str, Any]]:
    """A node's settlement rows of `role` with a business date in first..last (inclusive)."""
    start, end = day_bounds(first, last)
    s = tbl.settlements
    query = select(s).where(s.c.role == role, s.c.setl_time >= start, s.c.setl_time < end)
    if fixmedins_code is not None:
        query = query.where(s.c.fixmedins_code == fixmedins_code)
    with store.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query.order_by(s.c.setl_time)).mappings()]
    return [r for r in rows if first <= business_day(r["setl_time"]) <= last]


def _signed_count(row: Mapping[str, Any]) -> int:
    return -1 if row["kind"] == "cancel" else 1


def _node_totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    totals = {"fixmedins_setl_cnt": sum(_signed_count(r) for r in rows)}
    for name in TOTALS[1:]:
        totals[name] = sum(int(r[name]) for r in rows)
    return totals


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


def _save(t: tr.Treating, day: date, counterpart: str, balanced: bool, report: dict[str, Any],
          now: datetime) -> None:
    with t.db.tx() as tx:
        tx.add("reconciliation_reports", {"day": day, "scope": "institution",
                                          "counterpart": counterpart, "balanced": balanced,
                                          "report": report, "created_at": now})


def _wire(totals: Mapping[str, int]) -> dict[str, Any]:
    return {k: v if k == "fixmedins_setl_cnt" else yuan(v) for k, v in totals.items()}


def totals(t: tr.Treating, env: Envelope, cmd: ReconcileTotals, now: datetime) -> dict[str, Any]:
    """3201: the institution's declared totals against the node's, for one insutype/clr_type."""
    visit_types = CLR_TYPES.get(cmd.clr_type)
    if visit_types is None:
        raise InvalidInput("input.data.clr_type", f"must be 11 (outpatient) or 21 (inpatient), "
                                                  f"not {cmd.clr_type!r}")
    rows = [r for r in settlements_between(t.db, "treating", cmd.stmt_begndate,
                                           cmd.stmt_enddate, env.fixmedins_code)
            if r["insutype"] == cmd.insutype and r["visit_type"] in visit_types]
    node = _node_totals(rows)
    declared = {"fixmedins_setl_cnt": cmd.fixmedins_setl_cnt, "medfee_sumamt": cmd.medfee_sumamt,
                "fund_pay_sumamt": cmd.fund_pay_sumamt, "acct_pay": cmd.acct_pay}
    balanced = declared == node
    answer = {"setl_optins": cmd.setl_optins, "stmt_rslt": "0" if balanced else "1",
              "stmt_rslt_dscr": _describe(declared, node), **_wire(node)}
    _save(t, cmd.stmt_enddate, env.fixmedins_code, balanced, {
        "infno": "3201", "msgid": env.msgid, "insutype": cmd.insutype, "clr_type": cmd.clr_type,
        "stmt_begndate": cmd.stmt_begndate.isoformat(),
        "stmt_enddate": cmd.stmt_enddate.isoformat(), "declared": declared, "node": node,
        "balanced": balanced}, now)
    return answer


def parse_detail(input: object) -> list[dict[str, Any]]:
    """3202 `input.data.detail`: the institution's rows {setl_id, mdtrt_id, psn_no,
    medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag}; a refund row (flag 1) is a
    cancel record and its (non-negative) amounts count negative."""
    data = Node(input, "input").child("data")
    rows, seen = [], set()
    for node in data.items("detail", required=True, max_items=DETAIL_MAX):
        refund = node.flag("refd_setl_flag")
        sign = -1 if refund else 1
        row = {"setl_id": node.code("setl_id", validate_id),
               "mdtrt_id": node.code("mdtrt_id", validate_id),
               "psn_no": node.code("psn_no", validate_id), "refund": refund,
               **{k: sign * node.fen(k, limit=TOTAL_MAX_FEN) for k in DETAIL_AMOUNTS}}
        if row["setl_id"] in seen:
            raise InvalidInput(node.at("setl_id"), f"{row['setl_id']} appears twice")
        seen.add(row["setl_id"])
        rows.append(row)
    return rows


def _mismatch(setl_id: str, problem: str, inst: Mapping[str, Any] | None,
              node: Mapping[str, Any] | None, memo: str) -> dict[str, Any]:
    def side(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return None if row is None else {k: yuan(int(row[k])) for k in DETAIL_AMOUNTS} | {
            "mdtrt_id": row["mdtrt_id"], "psn_no": row["psn_no"]}
    return {"setl_id": setl_id, "stmt_rslt": problem, "memo": memo, "institution": side(inst),
            "centre": side(node)}


#: The order of the mismatches: what the institution declared and the centre lacks, what
#: differs (both in the institution's order), then what the institution did not declare (in
#: the centre's order, by settlement time).
_ORDER = {"missing_at_node": 0, "differs": 1, "missing_at_institution": 2}


def _compare(inst_rows: list[dict[str, Any]], node_rows: list[dict[str, Any]]
             ) -> list[dict[str, Any]]:
    mine = {r["setl_id"]: r for r in node_rows}
    theirs = {r["setl_id"]: r for r in inst_rows}
    ids = [*theirs, *(setl_id for setl_id in mine if setl_id not in theirs)]
    out = []
    for setl_id in ids:
        inst, node = theirs.get(setl_id), mine.get(setl_id)
        if node is None:
            out.append(_mismatch(setl_id, "missing_at_node", inst, None,
                                 "the centre has no such settlement of this institution"))
        elif inst is None:
            out.append(_mismatch(setl_id, "missing_at_institution", None, node,
                                 f"the centre has this {node['kind']}; the institution did not "
                                 "declare it"))
        else:
            problems = [k for k in DETAIL_AMOUNTS if int(inst[k]) != int(node[k])]
            if inst["refund"] != (node["kind"] == "cancel"):
                problems.append("refd_setl_flag")
            for key in ("mdtrt_id", "psn_no"):
                if inst[key] != node[key]:
                    problems.append(key)
            if problems:
                out.append(_mismatch(setl_id, "differs", inst, node,
                                     f"{', '.join(problems)} differ"))
    return sorted(out, key=lambda m: _ORDER[m["stmt_rslt"]])


def details(t: tr.Treating, env: Envelope, cmd: ReconcileDetails, now: datetime
            ) -> dict[str, Any]:
    """3202: the institution's settlement rows against the node's, per setl_id."""
    inst_rows = parse_detail(env.input)
    node_rows = settlements_between(t.db, "treating", cmd.stmt_begndate, cmd.stmt_enddate,
                                    env.fixmedins_code)
    mismatches = _compare(inst_rows, node_rows)
    node = _node_totals(node_rows)
    balanced = not mismatches
    counts = {"detail_cnt": len(inst_rows), "centre_cnt": len(node_rows),
              "matched_cnt": len(inst_rows) - sum(m["stmt_rslt"] != "missing_at_institution"
                                                  for m in mismatches),
              "mismatch_cnt": len(mismatches)}
    by_kind = {k: sum(m["stmt_rslt"] == k for m in mismatches)
               for k in ("missing_at_node", "missing_at_institution", "differs")}
    dscr = "对账平 (balanced)" if balanced else "对账不平 (not balanced): " + ", ".join(
        f"{k} {v}" for k, v in by_kind.items() if v)
    answer = {"setl_optins": cmd.setl_optins, "file_qury_no": cmd.file_qury_no or "",
              "stmt_rslt": "0" if balanced else "1", "stmt_rslt_dscr": dscr, **counts,
              **_wire(node), "mismatches": mismatches}
    _save(t, cmd.stmt_enddate, env.fixmedins_code, balanced, {
        "infno": "3202", "msgid": env.msgid, "stmt_begndate": cmd.stmt_begndate.isoformat(),
        "stmt_enddate": cmd.stmt_enddate.isoformat(), **counts, "node": node,
        "mismatches": mismatches}, now)
    return answer
