"""The console's words: Chinese first, English on request (the page's 中文/English switch).

Templates write the English text and call `_()`; a missing Chinese entry shows the English.
"""

from __future__ import annotations

LANGUAGES = ("zh", "en")

ZH: dict[str, str] = {
    "Insured persons": "参保人员", "Person number or ID number": "人员编号或身份证号",
    "Find": "查找", "ID number": "身份证号", "Birth year": "出生年份",
    "Insurance type": "险种", "active": "参保", "inactive": "停保",
    "ID numbers and names are shown masked. Showing them in the clear is recorded in the audit "
    "log.": "身份证号和姓名以脱敏方式显示。显示明文将记入审计日志。",
    "Show in the clear (recorded in the audit log)": "显示明文（记入审计日志）",
    "MedSettle console": "MedSettle 经办控制台",
    "National hub": "国家平台", "Province node": "省级平台",
    "Sign in": "登录", "Sign out": "退出", "Name": "用户名", "Password": "密码",
    "Wrong name or password.": "用户名或密码错误。",
    "Signed in as": "当前用户", "Role": "角色",
    "New keys": "新密钥", "Signing": "签名方式", "Issue new keys": "重新签发密钥",
    "Back to the institutions": "返回定点机构",
    "These keys are shown only once: give them to the hospital's HIS now. The old keys no "
    "longer work.": "密钥仅显示一次：请立即交给医院 HIS。原密钥即刻失效。",
    "hub": "国家平台经办", "province": "省级经办", "auditor": "审计员（只读）",
    "Dashboard": "总览", "Nodes": "节点", "Clearing": "清算", "Prepayment": "预付金",
    "Search": "查询", "Audit log": "审计日志", "Filings": "备案审核",
    "Reimbursements": "手工报销", "Institutions": "定点机构", "Reconciliation": "对账",
    "Settlements per hour": "每小时结算笔数", "Direct settlement rate by insured province":
        "各参保省直接结算率", "Money flow (insured → treating), this month":
        "资金流向（参保地 → 就医地），本月", "Prepayment adequacy": "预付金充裕度",
    "insured ↓ / treating →": "参保地 ↓ / 就医地 →",
    "No settlements yet this month.": "本月尚无结算。",
    "Province nodes": "省级节点", "up": "在线", "down": "离线", "since": "自",
    "Status": "状态", "Region": "地区", "Last heartbeat": "最近心跳", "Endpoint": "地址",
    "This board refreshes itself every 5 seconds.": "本表每 5 秒自动刷新。",
    "Month": "月份", "Statements": "清算单", "Province": "省份", "Owes": "应付",
    "Due": "应收", "Net": "净额", "Insured side": "参保地确认", "Treating side": "就医地确认",
    "Actions": "操作", "Confirm as insured place": "以参保地确认",
    "Confirm as treating place": "以就医地确认", "Dispute": "提出异议",
    "Reason": "原因", "Mark paid": "标记已拨付", "Redraft": "重新出单",
    "Run clearing": "执行清算", "drafted": "待确认", "confirmed": "已确认", "paid": "已拨付",
    "disputed": "有异议", "not_cleared": "未清算", "Dispute reason": "异议原因",
    "yes": "是", "no": "否", "Balance": "余额", "Size": "额度", "Usage": "使用率",
    "Level": "预警", "Top-up due": "应补缴", "Top up": "补缴", "Amount (¥)": "金额（元）",
    "Bank transfer no.": "银行转账流水号",
    "Marked paid, but the province could not be told to pay its institutions: press Paid again "
    "once it is up (each institution is paid once).":
        "已标记为已付款，但未能通知该省向其定点机构付款：待该省恢复后再按一次“已付款”（每家机构只付一次）。",
    "The transfer is booked once: sending it again with the same number books nothing.":
        "同一笔转账只入账一次：以相同流水号再次提交不会重复入账。",
    "ok": "正常", "warning": "预警", "critical": "严重",
    "Warnings": "预警", "No warnings.": "无预警。",
    "Settlement id, msgid, institution code or person number":
        "结算号、报文号、机构编码或人员编号",
    "Results": "结果", "Recent settlements": "最近结算", "No settlement matches.": "没有匹配的结算。",
    "Settlement": "结算", "Kind": "类型", "Insured place": "参保地", "Treating place": "就医地",
    "Institution": "医疗机构", "Person": "人员", "Time": "时间", "Medical fees": "医疗费总额",
    "Funds": "基金支付", "Account": "个人账户", "Cash": "现金支付",
    "Fee lines": "费用明细", "Explanation": "结算说明", "Ledger entries": "账本分录",
    "Hash-chain proof": "哈希链证明", "intact": "完整", "TAMPERED": "被篡改",
    "Node": "节点", "Entry": "分录", "Postings": "借贷", "Anchored at the hub": "已在国家平台锚定",
    "not anchored yet": "尚未锚定", "unreachable": "无法连接",
    "Who": "操作人", "What": "操作", "Target": "对象", "Before": "之前", "After": "之后",
    "When": "时间",
    "Filings waiting for review": "待审核备案", "Approve": "通过", "Refuse": "不予通过",
    "Category": "类别", "Destination": "就医地", "Applied": "申请日期", "Materials route": "办理方式",
    "Nothing waiting.": "暂无待办。", "Recently decided": "最近办结",
    "Claim": "报销单", "Approve claim": "审核通过", "Pay": "支付", "Reject": "驳回",
    "Owed": "应付金额", "Submitted": "提交时间", "computed": "已计算", "approved": "已审核",
    "rejected": "已驳回", "pending": "待审核", "cancelled": "已撤销", "superseded": "已变更",
    "Networked": "已联网", "Suspended": "暂停结算", "Level ": "等级", "Gateway key": "网关密钥",
    "Balanced": "平衡", "Not balanced": "不平", "Day": "日期", "Scope": "范围",
    "Counterpart": "对方", "Findings": "差异",
    "Persons": "参保人", "Catalogue items": "目录条目", "Settlements": "结算",
    "Open claims": "待办报销", "Pending filings": "待审备案", "Marked for manual reimbursement":
        "转手工报销",
    "Our statement at the hub": "本省在国家平台的清算单", "The hub cannot be reached.": "无法连接国家平台。",
    "No statement yet.": "尚无清算单。",
    "Done.": "已完成。", "Nothing changed.": "未做任何更改。",
    "You can only read (auditor).": "审计员只能查看。",
    "Forbidden": "无权操作", "Back": "返回",
    "Search this province's settlements": "查询本省结算",
    "Demo": "演示", "Item": "项目名称", "Class": "类别",
    "settle": "结算", "cancel": "冲销", "settled": "已结算",
    "Institution code": "机构编码", "Institution name": "机构名称", "Direct settlement": "直接结算", "suspended": "已暂停", "allowed": "正常",
    "Suspend": "暂停直接结算", "Reinstate": "恢复直接结算",
    "Mark not networked": "标记未联网", "Mark networked": "标记已联网",
    "A suspended or not networked institution cannot settle directly: its HIS messages are "
    "refused (institution_suspended) from the next message on, and its patients claim manual "
    "reimbursement.":
        "暂停直接结算或未联网的机构不能直接结算：自下一笔报文起，其 HIS 报文被拒绝"
        "（institution_suspended），参保人改为手工报销。",
    "No institutions yet: medsettle institution add or medsettle load.":
        "尚无定点机构：请用 medsettle institution add 或 medsettle load 添加。",
    "Parameter sets": "待遇参数", "Parameter set": "参数集", "In force today": "今日执行",
    "Scheme": "险种", "employee": "职工医保", "resident": "居民医保", "Valid from": "起始日期",
    "Where from": "来源", "Provenance": "出处", "none in force": "无执行中的参数",
    "approved here": "本节点已审批", "seed (shipped)": "内置种子参数", "official": "官方",
    "SAMPLE PARAMETERS": "示例参数（非官方）", "Load a parameter set": "加载参数集",
    "Policy document (YAML, the format of docs/policies.md)":
        "参数文件（YAML，格式见 docs/policies.md）",
    "Propose": "提交审批", "The upload": "上传的文件", "not loaded": "未加载",
    "Loaded at this node": "本节点加载的参数集", "Proposed by": "提交人",
    "Approved or rejected by": "审批人", "Approved by": "批准人", "Rejected by": "驳回人",
    "None yet: this node serves the seed.": "尚无：本节点使用内置种子参数。",
    "Valid": "有效期", "In force now": "现行", "open-ended": "长期",
    "set proposed": "待审批", "set approved": "已批准", "set rejected": "已驳回", "set withdrawn": "已撤销",
    "Withdraw before it takes effect": "生效前撤销", "Withdrawn by": "撤销人",
    "Approved for a later date: until it takes effect on its valid_from, a province operator may withdraw it (with a reason). Once in force it is superseded by loading a newer set, never withdrawn.":
        "已批准、尚未生效：在生效日期之前，省级经办人员可说明原因予以撤销；生效后只能由新参数集替代，不能撤销。",
    "Difference against {id}, the set in force on {day}": "与 {day} 执行的参数集 {id} 相比的差异",
    "No set is in force on {day}: every value is new": "{day} 无执行中的参数集：以下均为新值", "Title": "标题", "File": "文件",
    "You proposed this set: a second operator of the province must approve it (four eyes). "
    "You can withdraw it.": "该参数集由您提交：须由本省另一名经办人员审批（双人复核）。您可以撤回。",
    "Approving puts it in force from its valid_from on this node and every node of the "
    "province, without a restart.": "批准后，自其生效日起在本省各节点执行，无需重启。",
    "Approve set": "批准", "Reject set": "驳回", "Withdraw": "撤回",
    "Parameter": "参数", "This set": "本参数集", "No difference.": "无差异。",
    "Every value and where it comes from": "全部参数及出处", "Value": "取值",
    "Proposed. A second operator of the province approves it (four eyes).":
        "已提交。须由本省另一名经办人员审批（双人复核）。",
    "This node serves the parameter sets approved here first, by region, scheme and date; "
    "where none is approved it serves the seed sets that ship with MedSettle. A loaded set "
    "takes effect from its valid_from once a second operator approves it (four eyes). A "
    "settlement keeps the id and hash of the set it used.":
        "本节点优先按地区、险种和日期使用在本节点审批通过的参数集；没有时使用 MedSettle 内置的种子参数。"
        "加载的参数集经另一名经办人员审批（双人复核）后，自其生效日起执行。每笔结算记录所用参数集的编号和哈希。",
    "Amounts in whole yuan (¥); hover a cell for the exact amount.":
        "单位：元（取整）；悬停查看精确金额。", "Language": "语言",
}


#: Keys whose English is not the key itself (one English word used for two Chinese ones).
EN: dict[str, str] = {"set proposed": "proposed", "set approved": "approved",
                      "set rejected": "rejected", "set withdrawn": "withdrawn"}


def translate(text: str, lang: str) -> str:
    """`text` in `lang` (English is the key itself, but for the few keys of EN)."""
    return ZH.get(text, text) if lang == "zh" else EN.get(text, text)


from medsettle.adapters.web.i18n_filings import FILING_CATEGORIES_ZH  # noqa: E402
from medsettle.adapters.web.i18n_supervision import ZH_SUPERVISION  # noqa: E402


def merged(base: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """`base` with `extra` added; a key both define with different words is refused, since the one
    added last would silently relabel the other's pages (a button a test or a clerk looks for)."""
    clashes = sorted(k for k in extra if k in base and base[k] != extra[k])
    if clashes:
        raise ValueError(f"translation keys defined twice with different words: {clashes}")
    return {**base, **extra}


ZH = merged(merged(ZH, ZH_SUPERVISION), FILING_CATEGORIES_ZH)
