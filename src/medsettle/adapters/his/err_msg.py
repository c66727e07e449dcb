"""The err_msg a window clerk reads: Chinese first, naming the field, then the error's code and
its English detail: `未备案：440304 无有效备案，可补办或手工报销 [not_filed] (no filing for …)`.

The code in brackets is what a program matches (`[not_filed]`); it always survives the
200-character limit of err_msg, since only the English detail after it is shortened.
"""

from __future__ import annotations

import re

from medsettle.adapters.his.envelope import ERR_MSG_MAX
from medsettle.core.errors import MedSettleError

#: The Chinese lead of each error code (what happened, in the words a clerk uses).
LEADS: dict[str, str] = {
    "invalid_input": "入参有误", "invalid_code": "编码格式有误", "invalid_amount": "金额格式有误",
    "not_found": "未找到", "state_conflict": "当前状态不允许此交易",
    "already_answered": "该报文已处理", "msgid_reused": "报文ID已用于另一报文，请每笔报文使用新的 msgid",
    "not_filed": "未备案：无有效异地就医备案，可补办或手工报销",
    "institution_suspended": "本机构已暂停跨省直接结算，请手工报销",
    "settled_elsewhere_today": "参保人当日已在其他省份结算（R05），直接结算已拒绝，请手工报销",
    "chronic_not_covered": "参保地未将该病种纳入门诊慢特病",
    "chronic_not_certified": "参保人未认定该门诊慢特病",
    "chronic_not_opened": "本机构未开通该门诊慢特病跨省直接结算",
    "unsupported_scheme": "该险种或人员类别不支持跨省直接结算，请手工报销",
    "policy_not_in_force": "参保地当日无有效待遇政策", "policy_error": "参保地政策参数有误",
    "policy_file_error": "参保地政策文件有误", "policy_invalid": "政策参数不合规",
    "own_proposal": "不能审核自己提交的参数",
    "settlement_error": "结算失败", "reversal_error": "撤销或冲正无法还原累计，请查询后联系经办机构",
    "filing_error": "备案失败", "filing_conflict": "与参保人现有长期备案冲突",
    "filing_locked": "备案暂不可变更或撤销", "backdate_too_far": "备案开始日期早于允许补办的期限",
    "commitment_barred": "参保人因承诺制失信暂不能备案", "insurance_inactive": "参保状态非正常",
    "proxy_not_verified": "代办备案未完成人脸核验或授权", "filing_state_error": "备案状态不允许此操作",
    "peer_unavailable": "参保地未响应，本交易未结算：请发 2601 冲正或手工报销",
    "authentication_failed": "节点间认证失败", "forbidden": "无权操作：记录属于其他机构或省份",
    "ledger_error": "记账失败，本交易未生效", "unbalanced_entry": "记账失败，本交易未生效",
    "internal": "系统内部错误，本交易未结算", "error": "参保地返回错误",
    "rate_limited": "报文过于频繁，请稍后重发（同一 msgid）",
}

#: The lead of a settlement sent again, whatever the error's code (the detail says so).
SETTLED_AGAIN = "该就诊已结算，不能重复结算"
_REGION = re.compile(r"no filing for (\d{6})")
_CODE = re.compile(r" \[([a-z_]+)\]")


def code_of(text: str) -> str | None:
    """The error code in an err_msg (`… [not_filed] (…)` → "not_filed"), None if it has none."""
    found = _CODE.search(text)
    return found.group(1) if found else None


def _lead(exc: MedSettleError, field: str | None, detail: str) -> str:
    """The Chinese lead, with a more exact wording where the error says what is wrong."""
    if exc.code == "not_filed" and (region := _REGION.search(detail)):
        return f"未备案：{region.group(1)} 无有效异地就医备案，可补办或手工报销"
    if "不能重复结算" in detail:
        return SETTLED_AGAIN
    if field and field.endswith("medfee_sumamt") and "does not match" in detail:
        return f"医疗费总额与已上传费用明细不符：{field}"
    lead = LEADS.get(exc.code, "交易失败")
    return f"{lead}：{field}" if field else lead


def err_msg(exc: MedSettleError) -> str:
    """An error as the HIS is told it: Chinese lead (naming the field), [code], (English)."""
    field = getattr(exc, "field", None)
    detail = getattr(exc, "message", None) if field else None
    english = detail or str(exc)
    head = f"{_lead(exc, field, english)} [{exc.code}]"
    room = ERR_MSG_MAX - len(head) - 3
    if room < 8:
        return head[:ERR_MSG_MAX]
    if len(english) > room:
        english = english[: room - 1] + "…"
    return f"{head} ({english})"


def internal_err_msg() -> str:
    """The err_msg of a fault in the node."""
    return (f"{LEADS['internal']} [internal] (internal error; nothing was settled for this "
            "message)")
