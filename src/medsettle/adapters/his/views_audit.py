"""3101/3103 answers: each rule hit as a national `result` row (rule id, violation text, amount,
the lines it names), or an empty `result` when the audit found nothing."""

from __future__ import annotations

from typing import Any

from medsettle.adapters.his import national_codes as nc
from medsettle.adapters.his.outputs import yuan
from medsettle.core.supervision.hits import RULES
from medsettle.services.treating_audit import Finding


def _detail(jr_id: str, finding: Finding, line: str, orders: frozenset[str], i: int
            ) -> dict[str, Any]:
    serial = line.rsplit("/", 1)[-1]
    return {"jrd_id": f"{jr_id}-{i + 1}", "patn_id": finding.person_id,
            "mdtrt_id": finding.visit_id, "rx_id": serial,
            "vola_item_type": nc.VOLA_ITEM_ORDER if serial in orders else nc.VOLA_ITEM_FEE}


def audit_result(findings: list[Finding], task_id: str, orders: frozenset[str]
                 ) -> dict[str, Any]:
    """The national audit answer; `orders` are the rx_id of the message's orders."""
    rows = []
    for n, finding in enumerate(findings):
        hit = finding.hit
        jr_id = f"{task_id or finding.visit_id}-{hit.rule}-{n + 1}"
        name = RULES[hit.rule].split(" (")[0]
        rows.append({
            "jr_id": jr_id, "rule_id": hit.rule, "rule_name": name,
            "vola_cont": f"{name}：{hit.message}"[:500], "patn_id": finding.person_id,
            "mdtrt_id": finding.visit_id, "vola_amt": yuan(hit.amount),
            "vola_amt_stas": nc.flag(hit.amount != 0), "sev_deg": nc.sev_deg(hit.severity),
            "vola_evid": f"{hit.threshold}; {hit.source}"[:500],
            "vola_bhvr_type": nc.vola_bhvr_type(hit.rule), "task_id": task_id,
            "judge_result_detail_dtos": [_detail(jr_id, finding, line, orders, i)
                                         for i, line in enumerate(hit.lines)]})
    return {"result": rows}
