"""Explanations of a settlement: for a person (the patient's statement) and for a machine.

Every line and every fund carries a stable reason code (see `lines.py` and the `Step.code`s of
`benefits.py`); this module gives each code its words.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from medsettle.core import lines as ln
from medsettle.core.benefits import AMOUNT_FIELDS, Settlement, Step
from medsettle.core.money import fen_to_yuan

FIELD_LABELS: dict[str, str] = {
    "medfee_sumamt": "Total medical fees (医疗费总额)",
    "fulamt_ownpay_amt": "Fully self-paid items (全自费)",
    "overlmt_selfpay": "Above price caps (超限价自费)",
    "preselfpay_amt": "Self-pay share of class-B items (先行自付)",
    "inscp_scp_amt": "Within policy scope (符合范围)",
    "act_pay_dedc": "Deductible (起付线)",
    "hifp_pay": "Basic pool (统筹基金)",
    "pool_prop_selfpay": "Your share above the deductible (统筹自付)",
    "hifmi_pay": "Critical-illness insurance (大病保险)",
    "hifob_pay": "Large-amount subsidy (职工大额)",
    "cvlserv_pay": "Civil-servant subsidy (公务员补助)",
    "maf_pay": "Medical assistance (医疗救助)",
    "fund_pay_sumamt": "Paid by the funds (基金支付)",
    "psn_part_amt": "Your share (个人负担)",
    "acct_pay": "Personal account (个人账户)",
    "psn_cash_pay": "You pay in cash (现金支付)",
}

LINE_REASONS: dict[str, str] = {
    ln.CLASS_A_IN_SCOPE: "class A (甲类): fully within scope",
    ln.CLASS_B_PRESELFPAY: "class B (乙类): a self-pay share first (先行自付), the rest in scope",
    ln.CLASS_C_SELF_PAID: "class C (丙类): fully self-paid",
    ln.NOT_IN_CATALOGUE: "not in the treating place's catalogue: fully self-paid",
    ln.RESTRICTION_NOT_MET: "a payment restriction (限定支付) is not met: fully self-paid",
    ln.OVER_PRICE_CAP: "price above the cap (限价): the excess is self-paid",
    ln.EXTRA_PRESELFPAY: "temporary traveller: an extra self-pay share (extra 先行自付)",
}

_STEP_TEXT: dict[str, str] = {
    "class.long_term": "Long-term filing (长期备案): no reduction of benefits.",
    "class.long_term_return": "Long-term filer treated back at the insured place (两地待遇).",
    "class.referral": "Referral (转诊) filing: the insured place's reduction for referrals applies.",
    "class.other_temp": "Other temporary trip (临时外出就医): the reduction for temporary travellers "
                        "applies.",
    "class.emergency": "Emergency (急诊抢救), treated as filed (视同已备案).",
    "class.unfiled": "No filing (未备案): the reduction for unfiled patients applies.",
    "lines.totals": "{lines} fee lines total {medfee_sumamt}; {inscp_scp_amt} is within scope.",
    "deductible.per_visit": "Deductible for this visit: {amount} × {factor} (visit no. "
                            "{visit_number} this medical year) = {due}.",
    "deductible.annual": "Annual deductible {amount}, {paid_before} already met: {due} due.",
    "ratio.base": "Pool ratio for category {category} at level {level}: {ratio}.",
    "ratio.reduced": "Pool ratio {base_ratio} less {points} points for this benefit class: {ratio}.",
    "pool.paid": "The basic pool pays {ratio} of {eligible}: {hifp_pay}.",
    "pool.capped.group": "The annual pool cap leaves {cap_left}: the pool pays {hifp_pay} instead "
                         "of {raw}; {e_over} of in-scope cost lies beyond the cap.",
    "pool.capped.disease": "The disease quota leaves {cap_left}: the pool pays {hifp_pay} instead "
                           "of {raw}.",
    "account.used": "Personal account balance {balance} pays {acct_pay} of {payable} payable "
                    "({scope}).",
    "account.not_used": "The personal account is not used.",
    "totals": "Funds pay {fund_pay_sumamt}; your share {psn_part_amt}: account {acct_pay}, cash "
              "{psn_cash_pay}.",
}
_TIER_TEXT = {
    "paid": "{name} pays {pay} on {x} of your in-scope share.",
    "below_deductible": "{name}: the yearly base {base_before} + {x} has not passed its "
                        "deductible {deductible}; it pays 0.",
    "capped": "{name} reached its annual cap {cap}: it pays {pay}.",
    "not_configured": "{name} is not part of this insured place's scheme.",
    "not_applicable": "{name} does not cover this visit type.",
    "not_qualified": "{name}: the person does not qualify.",
}
_TIER_NAMES = {"hifmi": "Critical-illness insurance (大病保险)",
               "hifob": "Large-amount subsidy (职工大额)",
               "cvlserv": "Civil-servant subsidy (公务员补助)",
               "maf": "Medical assistance (医疗救助)"}
_MONEY_KEYS = {"medfee_sumamt", "inscp_scp_amt", "amount", "due", "paid_before", "eligible",
               "hifp_pay", "cap_left", "raw", "e_over", "balance", "acct_pay", "payable",
               "fund_pay_sumamt", "psn_part_amt", "psn_cash_pay", "pay", "x", "base_before",
               "deductible", "cap"}


def step_text(step: Step) -> str:
    """A person-readable sentence for one step."""
    values: dict[str, Any] = {k: (f"¥{fen_to_yuan(v)}" if k in _MONEY_KEYS and isinstance(v, int)
                                  else v) for k, v in step.values.items()}
    if step.code == "ratio.banded":
        return _banded_ratio_text(values)
    if step.code == "pool.paid" and "segments" in values:
        return (f"The basic pool pays by band: {_segments_text(values['segments'])} = "
                f"{values['hifp_pay']}.")
    if step.code == "tier.hifob.below_deductible" and not step.values.get("x"):
        return ("The basic pool has not reached its annual cap: the large-amount subsidy "
                "(职工大额) pays nothing this time.")
    if step.code.startswith("tier."):
        _, name, outcome = step.code.split(".", 2)
        values["name"] = _TIER_NAMES.get(name, name)
        return _TIER_TEXT[outcome].format(**values)
    return _STEP_TEXT.get(step.code, step.rule).format(**values)


def _banded_ratio_text(values: dict[str, Any]) -> str:
    bands = ", ".join(f"{_pct(b['ratio'])} " + ("above" if b["upto"] is None else
                                                f"to ¥{fen_to_yuan(b['upto'])}")
                      for b in values["bands"])
    where = ("each visit's eligible amount is placed from ¥0" if values["basis"] == "visit" else
             f"this visit's eligible amount is placed after the ¥{fen_to_yuan(values['start'])} "
             "already eligible this medical year")
    cut = f", less {values['points']} points for this benefit class" if values["points"] else ""
    return f"Pool ratio by amount band (分段报销){cut}: {bands}; {where}."


def _segments_text(segments: list[dict[str, Any]]) -> str:
    if not segments:
        return "nothing eligible"
    return ", ".join(f"{_pct(s['ratio'])} on ¥{fen_to_yuan(s['to'] - s['from'])}"
                     for s in segments)


def _pct(ratio: str) -> str:
    return f"{(Decimal(ratio) * 100).normalize():f}%"


def explanation(settlement: Settlement) -> list[dict[str, object]]:
    """The ordered steps, each with code, rule, numbers and text (machine- and person-readable)."""
    return [{"code": s.code, "rule": s.rule, "values": dict(s.values), "text": step_text(s)}
            for s in settlement.steps]


def line_explanations(settlement: Settlement) -> list[dict[str, object]]:
    """Per line: its amounts in fen and the reasons, with codes and text."""
    return [{"line": i + 1, "amt": p.amt, "fulamt_ownpay_amt": p.full, "overlmt_selfpay": p.over,
             "preselfpay_amt": p.pre, "inscp_scp_amt": p.inscp,
             "reasons": [{"code": c, "text": LINE_REASONS[c]} for c in p.reasons]}
            for i, p in enumerate(settlement.lines)]


def fund_reasons(settlement: Settlement) -> dict[str, str]:
    """For every fund, the code of the step that decided what it paid."""
    result = {}
    for step in settlement.steps:
        if step.code.startswith("pool."):
            result["hifp"] = step.code
        elif step.code.startswith("tier."):
            result[step.code.split(".")[1]] = step.code
        elif step.code.startswith("account."):
            result["acct"] = step.code
    return result


def statement(settlement: Settlement, *, title: str = "", detailed: bool = False) -> str:
    """The patient's statement as plain text; `detailed` adds every line and every step."""
    a = settlement.amounts.as_dict()
    out = [f"MedSettle settlement statement{' — ' + title if title else ''}",
           f"Policy {settlement.policy_id} · {settlement.visit_type} · class "
           f"{settlement.benefit_class} · medical year {settlement.medical_year}", ""]
    if detailed:
        out.append(f"{'#':>3}  {'amount':>12} {'self-paid':>11} {'over-cap':>10} "
                   f"{'先行自付':>8} {'in scope':>11}  why")
        for row in line_explanations(settlement):
            reasons = "; ".join(str(r["text"]) for r in row["reasons"])  # type: ignore[attr-defined]
            out.append(f"{row['line']:>3}  {_y(row['amt']):>12} {_y(row['fulamt_ownpay_amt']):>11}"
                       f" {_y(row['overlmt_selfpay']):>10} {_y(row['preselfpay_amt']):>12}"
                       f" {_y(row['inscp_scp_amt']):>11}  {reasons}")
        out.append("")
    for name in AMOUNT_FIELDS:
        out.append(f"  {FIELD_LABELS[name]:<46} {_y(a[name]):>14}")
    out.append("")
    steps = settlement.steps if detailed else [s for s in settlement.steps
                                               if not s.code.endswith(("not_configured",
                                                                       "not_applicable"))]
    out.extend(f"  · {step_text(s)}" for s in steps)
    return "\n".join(out)


def _y(fen: object) -> str:
    return f"¥{fen_to_yuan(fen)}" if isinstance(fen, int) else str(fen)
