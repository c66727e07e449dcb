"""What a province node reports to the hub for the national statistics of a month: manual
reimbursement claims of its insured persons (the direct settlement rate's denominator), its
cross-province settlements' funds by tier, and filings by category and channel. Counts and sums
only; no personal data."""

from __future__ import annotations

from typing import Any

from medsettle.core.calendar import business_date
from medsettle.core.clearing import YearMonth
from medsettle.core.records import Role, SettlementKind
from medsettle.services.ports import UnitOfWork
from medsettle.services.supervision_batch import month_days


def node_report(tx: UnitOfWork, month: YearMonth, province: str) -> dict[str, Any]:
    """The month's figures of this node as the insured place."""
    first, last = month_days(month)
    manual: dict[tuple[str, str], list[int]] = {}
    for claim in tx.rows("reimbursement_claims"):
        if claim.status == "rejected" or not first <= business_date(claim.submitted_at) <= last:
            continue
        key = (str(claim.treating_admdvs), str(claim.visit_type))
        entry = manual.setdefault(key, [0, 0])
        entry[0] += 1
        entry[1] += int((claim.amounts or {}).get("medfee_sumamt", 0))
    tiers = dict.fromkeys(("hifp", "hifmi", "hifob", "cvlserv", "maf", "acct"), 0)
    for record in tx.settlements_between(Role.INSURED, first, last):
        if record.treating_region[:2] == province[:2]:
            continue
        sign = -1 if record.kind is SettlementKind.CANCEL else 1
        a = record.amounts
        for name, value in (("hifp", a.hifp_pay), ("hifmi", a.hifmi_pay),
                            ("hifob", a.hifob_pay), ("cvlserv", a.cvlserv_pay),
                            ("maf", a.maf_pay), ("acct", a.acct_pay)):
            tiers[name] += sign * abs(value)
    filings: dict[tuple[str, str], int] = {}
    for f in tx.rows("filings"):
        if first <= f.applied_on <= last:
            filings[(str(f.category), str(f.channel))] = filings.get(
                (str(f.category), str(f.channel)), 0) + 1
    return {"province": province, "month": str(month),
            "manual": [{"treating_region": t, "visit_type": v, "claims": n, "medfee": m}
                       for (t, v), (n, m) in sorted(manual.items())],
            "tiers": tiers,
            "filings": [{"category": c, "channel": ch, "count": n}
                        for (c, ch), n in sorted(filings.items())]}
