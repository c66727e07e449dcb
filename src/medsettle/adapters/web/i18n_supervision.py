"""The supervision pages' words in Chinese (merged into i18n.ZH)."""

from __future__ import annotations

ZH_SUPERVISION: dict[str, str] = {
    "Supervision": "基金监管", "Statistics": "统计", "Credit": "信用管理",
    "Cases": "案件", "Case": "案件", "Tickets": "问题协同单", "Ticket": "协同单",
    "Rule hits": "规则疑点", "Rule": "规则", "Evidence": "证据",
    "Threshold and source": "阈值及来源", "Amount": "金额", "No hits yet.": "暂无疑点。",
    "State": "状态", "Refused": "拒付", "Due date": "期限", "Reason": "原因",
    "No cases.": "暂无案件。", "No tickets.": "暂无协同单。", "overdue": "已超期",
    "From": "发起方", "To": "接收方", "Subject": "事由", "Acknowledge by": "确认期限",
    "Close by": "办结期限", "Acknowledge": "确认受理", "Progress": "进展",
    "Report work": "报告进展", "How it was resolved": "处理结果", "Close": "办结",
    "Open a case": "立案", "Settlement ids": "结算号", "Open": "立案",
    "Monthly batch": "月度批量筛查", "Run the hub batch (R05, R09)": "执行国家平台筛查（R05、R09）",
    "Each province runs the other rules over the visits it treated and reports its hits here.":
        "其余规则由各就医省对本省就医记录筛查，并把疑点报送至此。",
    "Raise a ticket": "发起问题协同", "Settlement id": "结算号", "Raise": "发起",
    "verification": "费用协查", "joint_audit": "双地联查", "opened": "已立案",
    "requested": "已发起协查", "answered": "已反馈", "decided": "已决定", "closed": "已办结",
    "open": "待确认", "acknowledged": "已确认", "working": "处理中",
    "partly_refused": "部分拒付", "refused": "拒付",
    "none": "无", "minor": "一般", "serious": "严重", "fraud": "欺诈骗保",
    "warning": "预警", "hard_stop": "拦截", "realtime": "实时", "batch": "批量",
    "Steps": "办理过程", "Next step": "下一步", "Verification findings": "核查结论",
    "Request verification (费用协查)": "发起费用协查",
    "carry the items over in clearing": "相关费用暂缓清算",
    "carried over in clearing": "暂缓清算", "Refused (¥)": "拒付金额（元）",
    "Severity": "性质", "Note": "说明", "Answer": "反馈", "Decide": "决定",
    "Settlements under the case": "涉案结算", "Clearing adjustments": "清算调整",
    "Applied in": "调整月份", "next clearing": "下次清算", "hold": "暂缓",
    "release": "释放", "refusal": "拒付扣减", "late": "清算后补记",
    "Adjustments waiting for the next clearing": "待下次清算的调整",
    "Adjustments applied by this clearing": "本次清算所含调整",
    "Case or settlement": "协查或结算号", "request": "发起协查", "answer": "反馈",
    "decide": "决定", "close": "办结", "open ": "立案", "acknowledge": "确认受理",
    "work": "处理", "not yet told": "尚未通知", "suspended": "已暂停",
    "The hub could not be asked": "无法询问国家平台",
    "Run the rules on this province": "对本省执行规则筛查",
    "Recent events": "最近记录", "Reinstate after rectification": "整改后恢复结算", "What was rectified": "整改内容",
    "Institutions start at 100; confirmed findings deduct 2 (minor), 10 (serious) or 30 "
    "(fraud); below 60 or on fraud, cross-province direct settlement is suspended until "
    "reinstated after rectification.":
        "机构信用初始为 100 分；经查实的问题扣 2 分（一般）、10 分（严重）或 30 分（欺诈）；"
        "低于 60 分或存在欺诈的，暂停跨省直接结算，整改后恢复。",
    "Terminate or restore a person’s direct settlement": "终止或恢复个人跨省直接结算",
    "Person number": "人员编号", "Action": "操作", "terminate": "终止", "restore": "恢复",
    "Apply": "执行", "deduct": "扣分", "suspend": "暂停", "reinstate": "恢复",
    "This month": "本月", "Manual reimbursements": "手工报销",
    "Direct settlement rate": "直接结算率", "Fund payment ratio": "基金支付比例",
    "Response p50 / p95 / p99": "响应时间 p50 / p95 / p99", "Cases / tickets": "案件 / 协同单",
    "Funds by insured province (¥)": "各参保省基金支付（元）",
    "By insured and treating province": "按参保省与就医省", "Visit type": "就医类型",
    "Visits": "就诊人次", "Manual": "手工报销", "Direct rate": "直接结算率",
    "Fund ratio": "基金支付比例", "Funds by tier": "分项基金支付",
    "Filings by category and channel": "备案（按类别与渠道）",
    "No report collected yet.": "尚未收集各省报送。", "Failures by reason": "失败原因",
    "None.": "无。", "Show": "查看", "Collect the provinces' reports": "收集各省报送",
    "No settlements this month.": "本月尚无结算。", "inpatient": "住院", "outpatient": "门诊",
    "chronic": "门诊慢特病", "online share": "线上占比", "counter": "窗口", "app": "APP",
    "timeout": "超时", "error": "错误", "bad_answer": "应答异常",
    "Lines": "明细", "Institution name": "机构名称", "Credit score": "信用分",
    "Subject of the hit": "疑点对象", "Opened": "立案", "Verification requested": "发起协查",
    "Findings given": "反馈核查结论", "Decided": "作出决定", "Closed": "办结",
    "Acknowledged": "确认受理", "Work reported": "报告进展",
    "Public figures without personal data; manual reimbursements, funds by tier and filings "
    "come from the reports the provinces sent.":
        "公开统计，不含个人信息；手工报销、分项基金和备案数据来自各省报送。",
    "Basic pool (hifp)": "统筹基金", "Serious illness (hifmi)": "大病保险",
    "Large-amount (hifob)": "大额医疗补助", "Civil servants (cvlserv)": "公务员医疗补助",
    "Medical assistance (maf)": "医疗救助", "Personal account (acct)": "个人账户",
    "Insured in another province too": "重复参保", "Also insured in": "同时参保地",
    "Found": "发现时间", "None found.": "未发现。",
    "Found by the hub when this node publishes its locator: the same ID number is insured by "
    "the province shown. Settle one insurance and end the other.":
        "本节点向国家平台发布参保人索引时发现：同一身份证号也在所示省份参保。请核实并终止其中一处参保。",
}
