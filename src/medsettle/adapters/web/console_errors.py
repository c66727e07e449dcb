"""A refused console action told in the page's language: on a Chinese page, what went wrong and
which field in Chinese, then the error's English detail in brackets (the detail is written in
English by the use cases, and an operator quoting it to support keeps the exact words):
`填写有误：原因（say why the filing is refused）`.
"""

from __future__ import annotations

from medsettle.adapters.his.err_msg import LEADS
from medsettle.adapters.web.app_i18n import FIELDS_ZH as APP_FIELDS_ZH
from medsettle.core.errors import MedSettleError

#: What went wrong, by error code, in an operator's words: the HIS's wording (err_msg.py) where
#: it fits a console too, else these.
LEADS_ZH: dict[str, str] = {**LEADS, **{
    "invalid_input": "填写有误", "state_conflict": "当前状态不允许此操作", "forbidden": "无权操作",
    "authentication_failed": "身份验证未通过", "peer_unavailable": "对方节点暂时无法连接，未作任何更改",
    "filing_error": "备案操作失败", "filing_state_error": "备案当前状态不允许此操作",
    "backdate_too_far": "补办备案的开始日期超过可追溯期限",
    "proxy_not_verified": "代办未完成核验或授权", "institution_suspended": "机构已暂停跨省直接结算",
    "policy_not_in_force": "当日无有效待遇政策",
    "own_proposal": "不能审核自己提交的参数（须另一名经办人审核）",
    "settlement_error": "结算操作失败", "reversal_error": "撤销无法还原累计，未作任何更改",
    "ledger_error": "记账失败，未作任何更改", "unbalanced_entry": "记账失败，未作任何更改",
    "rate_limited": "操作过于频繁，请稍后再试", "internal": "系统内部错误，未作任何更改",
    "error": "操作未完成，未作任何更改",
}}

#: The console's form fields in Chinese: the app's words for the fields both have, and these.
FIELDS_ZH: dict[str, str] = {**APP_FIELDS_ZH, **{
    "reason": "原因", "refused": "拒付金额", "note": "说明", "action": "操作",
    "reference": "转账流水号",
    "lines": "明细", "treating": "就医机构", "settlements": "结算单", "proxy": "代办人",
    "province": "省份", "name": "名称", "month": "月份", "history_months": "历史月数",
    "document": "文书", "discharge_settled": "出院结算", "credentials": "密钥",
    "signing": "签名方式", "channel": "渠道", "password": "密码", "role": "角色",
    "region": "地区", "fixmedins_code": "医疗机构编码", "file": "文件", "days": "天数",
    "until": "截止日期",
}}


def console_error(exc: MedSettleError, lang: str) -> str:
    """The flash text of a refused action in `lang` ("zh" or "en")."""
    if lang != "zh":
        return str(exc)
    field = getattr(exc, "field", None)
    detail = str(getattr(exc, "message", None) or exc) if field else str(exc)
    lead = LEADS_ZH.get(exc.code, "操作未完成，未作任何更改")
    if field:
        lead = f"{lead}：{FIELDS_ZH.get(str(field), str(field))}"
    return f"{lead}（{detail}）"
