"""What the operator console shows, shaped from what the nodes store: the dashboard's series,
a settlement's explanation (reason codes) and the hash-chain proof of a ledger entry.

Reads only. The rows come from the node's database through the adapters' console queries; this
module knows no SQL and no HTTP.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from medsettle.core import ledger
from medsettle.core import lines as ln
from medsettle.core.explain import FIELD_LABELS, LINE_REASONS
from medsettle.core.explain_zh import CLASS_ZH, FIELD_LABELS_ZH, LINE_REASONS_ZH
from medsettle.services.ledger import stored_chain
from medsettle.services.ports import Database

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The funds of a settlement, in the order a statement lists them.
FUNDS = ("hifp_pay", "hifmi_pay", "hifob_pay", "cvlserv_pay", "maf_pay", "acct_pay",
         "psn_cash_pay")
#: The benefit classes' explanation (the insured place's filing check).
CLASS_TEXT = {
    "long_term": "Long-term filing (长期备案): no reduction of benefits.",
    "long_term_return": "Long-term filer treated back at the insured place (两地待遇).",
    "referral": "Referral (转诊) filing: the insured place's reduction for referrals applies.",
    "other_temp": "Other temporary trip (临时外出就医): the reduction for temporary travellers "
                  "applies.",
    "emergency": "Emergency (急诊抢救), treated as filed (视同已备案).",
    "unfiled": "No filing (未备案): the reduction for unfiled patients applies.",
    "local": "Insured and treated in the same province.",
}


def hourly(times: Iterable[datetime], now: datetime, hours: int = 24) -> list[dict[str, Any]]:
    """Settlements per hour (Asia/Shanghai) over the last `hours`, oldest hour first."""
    end = now.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    slots = [end - timedelta(hours=k) for k in range(hours - 1, -1, -1)]
    counted = Counter(moment.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
                      for moment in times)
    return [{"hour": slot.strftime("%H:00"), "count": counted.get(slot, 0)} for slot in slots]


def settle_rates(outcomes: Iterable[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """Direct settlement rate by insured province: settle calls answered ok ÷ all settle calls
    the hub forwarded (refusals, timeouts and unreachable nodes end in manual reimbursement)."""
    ok: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for province, outcome, count in outcomes:
        total[province] += count
        if outcome == "ok":
            ok[province] += count
    return [{"province": p, "ok": ok[p], "total": total[p],
             "rate": round(ok[p] / total[p], 4) if total[p] else 0.0} for p in sorted(total)]


def money_flow(totals: Iterable[tuple[str, str, int, int, int, int]]
               ) -> dict[str, Any]:
    """The province × province flow of a month (insured pays treating: funds + account), as a
    matrix for the heatmap: rows insured, columns treating, cells in fen."""
    cells: dict[tuple[str, str], int] = {}
    for insured, treating, _count, _medfee, fund, acct in totals:
        key = (f"{insured[:2]}0000", f"{treating[:2]}0000")
        cells[key] = cells.get(key, 0) + int(fund) + int(acct)
    provinces = sorted({p for pair in cells for p in pair})
    peak = max(cells.values(), default=0)
    return {"provinces": provinces, "peak": peak,
            "rows": [{"insured": i, "cells": [{"treating": tt, "fen": cells.get((i, tt), 0),
                                                "share": (cells.get((i, tt), 0) / peak)
                                                if peak else 0.0} for tt in provinces]}
                     for i in provinces]}


def line_reason(line: Mapping[str, Any]) -> str:
    """The reason code of a stored fee line (its class and the amounts it was split into)."""
    if int(line.get("over_amt") or 0) > 0:
        return ln.OVER_PRICE_CAP
    cls = str(line.get("cls") or "")
    if cls == "none":
        return ln.NOT_IN_CATALOGUE
    if cls == "C" or (int(line.get("full_amt") or 0) > 0 and int(line.get("inscp_amt") or 0) == 0):
        return ln.CLASS_C_SELF_PAID if cls == "C" else ln.RESTRICTION_NOT_MET
    if cls == "B":
        return ln.CLASS_B_PRESELFPAY
    return ln.CLASS_A_IN_SCOPE


def explain(record: Mapping[str, Any], lines: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A settlement's explanation: the benefit class, each line's reason code and words, and
    each amount with its label."""
    cls = str(record.get("benefit_class") or "")
    english = CLASS_TEXT.get(cls, cls)
    return {"benefit_class": cls, "class_text": english,
            "class_text_zh": CLASS_ZH.get(cls, english),
            "policy": record.get("policy_id", ""),
            "policy_hash": record.get("policy_hash") or "",
            "lines": [{"feedetl_sn": x.get("feedetl_sn"), "code": x.get("med_list_codg"),
                       "name": x.get("name"), "cls": x.get("cls"), "amt": x.get("amt"),
                       "reason": line_reason(x), "reason_text": LINE_REASONS[line_reason(x)],
                       "reason_text_zh": LINE_REASONS_ZH[line_reason(x)]}
                      for x in lines],
            "amounts": [{"field": name, "label": FIELD_LABELS[name],
                         "label_zh": FIELD_LABELS_ZH.get(name, FIELD_LABELS[name]),
                         "fen": int(record.get(name) or 0)} for name in FIELD_LABELS
                        if name in record]}


def ledger_proof(store: Database, seq: int, anchors: Mapping[int, str]) -> dict[str, Any]:
    """The hash-chain proof of ledger entry `seq` at a node: its hashes recomputed, and the
    chain verified from the last anchor before it (or from genesis) to the first anchor at or
    after it that the chain still reaches. The anchors are the hub's, so the stretch between
    them is all a proof needs to read, however long the chain (`medsettle verify` reads it
    all)."""
    later = {s: h for s, h in anchors.items() if s >= seq}
    anchor = min(later) if later else None
    upto = max(seq, anchor or 0)
    base = max((s for s in anchors if s < seq), default=0)  # the hub vouches for entry `base`
    with store.tx() as tx:
        rows = tx.rows_after("ledger_entries", "seq", max(base - 1, 0),
                             limit=max(upto - base + 1, 1))
    chain = [c for c in stored_chain(rows) if c.seq <= upto]
    entry = next((c for c in chain if c.seq == seq), None)
    if entry is None:
        return {"seq": seq, "found": False, "intact": False, "detail": "no such entry",
                "detail_zh": "无此分录"}
    start = None if not base else ((base - 1, chain[0].prev_hash) if chain[0].seq == base
                                   else (base, anchors[base]))  # the anchored entry is gone
    finding = ledger.verify(chain, {s: h for s, h in anchors.items() if base <= s <= upto},
                            start)
    stretch = f"the chain from seq {chain[0].seq} to seq {upto} verifies" + (
        f" (seq {base} as anchored at the hub)" if base else "")
    stretch_zh = f"seq {chain[0].seq} 至 seq {upto} 的哈希链校验通过" + (
        f"（seq {base} 以国家平台锚定值为准）" if base else "")
    return {"seq": seq, "found": True, "entry_id": entry.entry.entry_id,
            "prev_hash": entry.prev_hash, "hash": entry.hash,
            "recomputed": ledger.chain_hash(entry.prev_hash, seq, entry.entry),
            "sealed": ledger.chain_hash(entry.prev_hash, seq, entry.entry) == entry.hash,
            "intact": finding is None,
            "detail": (stretch if finding is None else
                       f"seq {finding.seq}: {finding.problem} — {finding.detail}"),
            "detail_zh": (stretch_zh if finding is None else
                          f"seq {finding.seq} 被篡改（{finding.problem}）：{finding.detail}"),
            "anchor_seq": anchor, "anchor_hash": later.get(anchor) if anchor else None,
            "entries_checked": len(chain)}
