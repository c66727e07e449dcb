"""The settlement explanation in Chinese, for the insured person's app: the same reason codes and
numbers as `explain.py` (whose English it mirrors sentence by sentence), in the words a person
reads on the 医保 app.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from medsettle.core import lines as ln
from medsettle.core.benefits import Step
from medsettle.core.explain import _MONEY_KEYS, step_text
from medsettle.core.money import fen_to_yuan

FIELD_LABELS_ZH: dict[str, str] = {
    "medfee_sumamt": "医疗费总额", "fulamt_ownpay_amt": "全自费（丙类及目录外）",
    "overlmt_selfpay": "超限价自费", "preselfpay_amt": "先行自付（乙类）",
    "inscp_scp_amt": "符合政策范围", "act_pay_dedc": "起付线", "hifp_pay": "统筹基金支付",
    "pool_prop_selfpay": "起付线以上个人自付", "hifmi_pay": "大病保险", "hifob_pay": "职工大额补助",
    "cvlserv_pay": "公务员医疗补助", "maf_pay": "医疗救助", "fund_pay_sumamt": "基金支付合计",
    "psn_part_amt": "个人负担合计", "acct_pay": "个人账户支付", "psn_cash_pay": "个人现金支付",
}

LINE_REASONS_ZH: dict[str, str] = {
    ln.CLASS_A_IN_SCOPE: "甲类：全部纳入报销范围",
    ln.CLASS_B_PRESELFPAY: "乙类：先按比例个人自付（先行自付），其余纳入报销范围",
    ln.CLASS_C_SELF_PAID: "丙类：全部个人自费",
    ln.NOT_IN_CATALOGUE: "不在就医地目录内：全部个人自费",
    ln.RESTRICTION_NOT_MET: "不符合限定支付条件：全部个人自费",
    ln.OVER_PRICE_CAP: "价格超过限价：超出部分个人自费",
    ln.EXTRA_PRESELFPAY: "临时外出就医：增加的先行自付比例",
}

CLASS_ZH = {
    "long_term": "长期备案（异地安置、长期居住、常驻工作）：待遇不降低。",
    "long_term_return": "长期备案人员回参保地就医（两地待遇）。",
    "referral": "转诊备案：适用参保地对转诊人员的待遇规定。",
    "other_temp": "临时外出就医备案：适用参保地对临时外出就医人员的待遇规定。",
    "emergency": "急诊抢救：视同已备案，适用参保地对急诊抢救的待遇规定。",
    "unfiled": "未备案：手工报销时适用参保地对未备案人员的待遇规定。",
}
_STEP_ZH: dict[str, str] = {
    "lines.totals": "共 {lines} 项费用，合计 {medfee_sumamt}；其中 {inscp_scp_amt} 符合政策范围。",
    "deductible.per_visit": "本次起付线：{amount} × {factor}（本年度第 {visit_number} 次就医）"
                            "= {due}。",
    "deductible.annual": "年度起付线 {amount}，本年已付 {paid_before}：本次还需 {due}。",
    "ratio.base": "统筹基金支付比例（{category}，{level}）：{ratio}。",
    "ratio.reduced": "统筹基金支付比例 {base_ratio}，因待遇类别降低 {points} 个百分点：{ratio}。",
    "pool.paid": "统筹基金按 {ratio} 支付 {eligible}：{hifp_pay}。",
    "pool.capped.group": "本年统筹基金最高支付限额还剩 {cap_left}：统筹支付 {hifp_pay}（本应 {raw}），"
                         "{e_over} 超出限额。",
    "pool.capped.disease": "该病种限额还剩 {cap_left}：统筹支付 {hifp_pay}（本应 {raw}）。",
    "account.used": "个人账户余额 {balance}，支付 {acct_pay}（可支付 {payable}）。",
    "account.not_used": "未使用个人账户。",
    "totals": "基金支付 {fund_pay_sumamt}；个人负担 {psn_part_amt}：个人账户 {acct_pay}，"
              "现金 {psn_cash_pay}。",
}
_TIER_ZH = {
    "paid": "{name}对您政策范围内自付的 {x} 支付 {pay}。",
    "below_deductible": "{name}：本年累计 {base_before} + {x} 未超过其起付线 {deductible}，不支付。",
    "capped": "{name}已达年度最高限额 {cap}：支付 {pay}。",
    "not_configured": "参保地未设{name}。",
    "not_applicable": "{name}不适用于本次就医类型。",
    "not_qualified": "{name}：您不符合享受条件。",
}
_TIER_NAMES_ZH = {"hifmi": "大病保险", "hifob": "职工大额医疗费用补助",
                  "cvlserv": "公务员医疗补助", "maf": "医疗救助"}
_CATEGORY_ZH = {"active": "在职", "retired": "退休", "resident": "城乡居民"}
_LEVEL_ZH = {"L0": "基层", "L1": "一级", "L2": "二级", "L3": "三级"}


def _pct(ratio: object) -> str:
    return f"{(Decimal(str(ratio)) * 100).normalize():f}%"


def step_text_zh(step: Step) -> str:
    """The Chinese sentence of one step (the English one of explain.py when none is written)."""
    values: dict[str, Any] = {k: (f"¥{fen_to_yuan(v)}" if k in _MONEY_KEYS and isinstance(v, int)
                                  else v) for k, v in step.values.items()}
    code = step.code
    if code.startswith("class."):
        return CLASS_ZH.get(code.removeprefix("class."), step_text(step))
    if code == "tier.hifob.below_deductible" and not step.values.get("x"):
        return "统筹基金未达年度最高支付限额，职工大额医疗费用补助本次不支付。"
    if code.startswith("tier."):
        _, name, outcome = code.split(".", 2)
        values["name"] = _TIER_NAMES_ZH.get(name, name)
        return _TIER_ZH[outcome].format(**values)
    if code in ("ratio.banded",) or (code == "pool.paid" and "segments" in values):
        return "分段计算统筹支付：" + step_text(step)
    for key in ("ratio", "base_ratio"):
        if key in values and values[key] not in (None, "banded"):
            values[key] = _pct(values[key])
    if "category" in values:
        values["category"] = _CATEGORY_ZH.get(str(values["category"]), values["category"])
    if "level" in values:
        values["level"] = _LEVEL_ZH.get(str(values["level"]), values["level"]) + "医院"
    template = _STEP_ZH.get(code)
    return step_text(step) if template is None else template.format(**values)


def step_sentence(step: Step, lang: str) -> str:
    """One step in the person's language: `zh` or English."""
    return step_text_zh(step) if lang == "zh" else step_text(step)
