"""The insured person's app in Chinese first, English on request: its words, and errors in the
person's language (the field in words, and what to do).

Templates write the English text and call `_()`; a missing Chinese entry shows the English.
"""

from __future__ import annotations

from medsettle.adapters.web.i18n_filings import FILING_CATEGORIES_ZH
from medsettle.core.errors import MedSettleError

ZH: dict[str, str] = {
    "Medical insurance services": "医保服务", "Sign in": "登录", "Sign out": "退出",
    "ID number": "身份证号", "One-time code": "验证码", "Send code": "获取验证码",
    "Get a new code": "重新获取验证码",
    "We sent a one-time code. It is good for 5 minutes.": "验证码已发送，5 分钟内有效。",
    "Demo: the code is": "演示环境：验证码为",
    "Demo: the code is written to the node's log.": "演示环境：验证码写在节点日志中。",
    "Home": "首页", "Filing": "异地备案", "Where to settle": "定点机构", "Estimate": "费用测算",
    "My year": "年度累计", "Settlements": "结算记录", "Claims": "手工报销", "E-voucher": "医保码",
    "Family": "亲情账户", "Me": "我的",
    "Hello": "您好", "Insured in": "参保地", "Scheme": "险种", "employee": "职工医保",
    "resident": "城乡居民医保", "active": "在职", "retired": "退休",
    "My filings": "我的备案", "File a new filing": "办理新备案", "Category": "备案类别",
    **FILING_CATEGORIES_ZH,
    "Destination": "就医地", "Province": "省份", "City": "城市", "Any city": "全部城市",
    "Starts on": "开始日期", "today if empty": "不填则为今天",
    "I sign the personal commitment (承诺制): approved at once, materials later if asked.":
        "我签署个人承诺书（承诺制）：立即生效，如需补充材料另行通知。",
    "Materials I upload": "上传的证明材料", "resettlement_proof": "异地安置证明",
    "residence_proof": "居住证明", "employer_posting_proof": "单位派驻证明",
    "referral_proof": "转诊证明",
    "File for": "为谁办理", "myself": "本人", "Submit": "提交",
    "Filing number": "备案编号", "Status": "状态", "Valid": "有效期", "until": "至",
    "indefinite": "长期有效", "Route": "办理方式", "commitment": "承诺制", "materials": "材料审核",
    "none_required": "免材料", "deemed": "视同备案",
    "approved": "已生效", "pending": "审核中", "rejected": "未通过", "cancelled": "已取消",
    "superseded": "已变更", "asked": "待对方同意", "refused": "已拒绝", "ended": "已解除",
    "Change destination": "变更就医地", "Cancel this filing": "取消备案", "Change": "变更",
    "No filings yet.": "暂无备案。", "File after the fact (补办)": "补办备案",
    "Admission day": "入院日期", "Already paid in full at the hospital": "已在医院全额自费结算",
    "Review due": "预计审核完成", "Proxy": "代办人", "After the fact": "补办",
    "Filing details": "备案详情", "Back": "返回",
    "Search": "查询", "Name contains": "机构名称", "Any level": "全部等级", "Level": "医院等级",
    "Service": "服务", "Any service": "全部服务", "inpatient": "住院",
    "outpatient": "普通门诊", "chronic": "门诊慢特病",
    "L0": "基层", "L1": "一级", "L2": "二级", "L3": "三级",
    "institutions found": "家定点医疗机构", "Showing the first": "显示前",
    "No institution matches.": "没有符合条件的机构。",
    "Answered by that province through the national hub.": "结果由就医省通过国家平台提供。",
    "Opened chronic diseases": "已开通门诊慢特病",
    "Where would you be treated?": "您将在哪里就医？", "Hospital level": "医院等级",
    "Visit type": "就医类型", "Disease": "病种", "Amount (¥)": "费用金额（元）",
    "Bill": "费用构成", "typical": "常见构成（甲 70%、乙 20%、丙 10%）",
    "class_a": "全部为甲类", "Emergency": "急诊抢救", "Use my personal account": "使用个人账户",
    "Estimate now": "开始测算",
    "Nothing is stored: this uses your policy and this year's amounts as they are now.":
        "测算不保存任何数据：使用您参保地的政策和本年度实时累计。",
    "Your estimate": "测算结果", "Medical fees": "医疗费用", "Funds pay": "基金支付",
    "You pay": "个人负担", "of which cash": "其中现金",
    "How it was computed": "计算过程", "What would change": "如果……",
    "as_is": "按您现在的备案", "unfiled_manual": "未备案：全额自费后回参保地手工报销",
    "if_filed_temporary": "如果办理临时外出就医备案", "if_filed_long_term": "如果办理长期备案",
    "at_level_2": "如果去二级医院",
    "You have no filing for this region: the hospital cannot settle directly.":
        "您没有该地区的备案：医院无法直接结算。",
    "Policy differences": "待遇差异", "Item": "项目", "My insured place": "我的参保地",
    "Treating region (its own insured)": "就医地（当地参保人）",
    "Your benefits follow your insured place's policy; the treating region's own rules are shown only to compare.":
        "异地就医执行参保地待遇政策，就医地政策仅供对比。",
    "No policy of that region is kept here to compare.": "本平台没有该地区的政策可供对比。",
    "Nothing differs.": "没有差异。",
    "Medical year": "医疗年度", "Deductible": "起付线", "left this year": "本年尚需",
    "paid this year": "本年已付", "next stay": "下次住院", "stays so far": "本年住院次数",
    "Annual caps": "年度最高支付限额", "Paid by the pool": "统筹已支付", "Left": "剩余",
    "no cap": "不设限额", "Further tiers": "大病保险等", "Base so far": "累计基数",
    "Paid": "已支付", "Personal account balance": "个人账户余额",
    "Chronic disease quotas used": "门诊慢特病限额使用",
    "hifmi": "大病保险", "hifob": "职工大额补助", "cvlserv": "公务员补助", "maf": "医疗救助",
    "main": "统筹基金", "Date": "日期", "Hospital": "医院", "Fund paid": "基金支付",
    "My share": "个人负担", "Account": "个人账户", "Cash": "现金",
    "cross-province": "跨省", "local": "省内", "cancel": "冲销", "settled": "已结算",
    "No settlements yet.": "暂无结算记录。", "Cancelled": "已撤销",
    "Settlement": "结算单", "Print": "打印", "Fee lines": "费用明细", "Class": "类别",
    "Why": "说明", "Funds by tier": "各项基金支付", "Amounts": "金额",
    "The bill cannot be shown now": "暂时无法显示费用明细",
    "This settlement was cancelled by": "本结算已被撤销，撤销单",
    "Benefit class": "待遇类别", "Policy": "政策",
    "My claims": "我的报销申请", "Claim manual reimbursement": "申请手工报销",
    "Institution code": "医疗机构编码", "Day of treatment": "就医日期",
    "computed": "已受理（已计算）", "paid": "已支付", "Owed to you": "应付给您",
    "No claims.": "暂无报销申请。",
    "Show this code at the hospital's window.": "请在医院窗口出示此码。",
    "expires in": "剩余有效时间", "seconds": "秒", "expired": "已过期",
    "Refresh code": "刷新医保码",
    "My family": "我的家人", "Ask to act for a family member": "添加家人（代办）",
    "Relationship": "关系", "spouse": "配偶", "parent": "父母", "child": "子女",
    "sibling": "兄弟姐妹", "grandparent": "祖父母/外祖父母", "grandchild": "孙子女/外孙子女",
    "other": "其他", "Name": "姓名", "Consent": "同意", "Refuse": "拒绝", "End": "解除",
    "asks to file for you": "请求为您代办", "You act for": "您可代办",
    "They consent from their own sign-in.": "家人需登录后自行同意。",
    "No family links.": "暂无家人。", "for": "代办：",
    "Done.": "已完成。", "Language": "语言", "View": "查看",
    "Your session expired: sign in again.": "登录已超时，请重新登录。",
    "This page is not yours.": "您无权查看此页面。", "Not found.": "没有找到。",
    "Sample parameters": "示例参数", "SAMPLE PARAMETERS, not official policy": "示例参数，非正式政策",
    "Estimates use sample parameters, not official policy.":
        "测算使用示例参数，并非正式政策。",
    "whole bill": "整单", "Where can I settle directly?": "哪里可以直接结算？",
    "What will I pay?": "我要付多少？", "What have I used this year?": "今年用了多少？",
    "Every settlement": "每一笔结算", "Paid in full? Claim at home.": "全额自费？回参保地报销",
    "Show at the hospital": "就医时出示", "File before you go": "出发前备案",
    "File for and see family members": "为家人办理、查看",
    "Family members asking you to consent": "家人请求您同意代办",
    "Times are China time.": "时间为北京时间。", "visits so far": "本年就诊次数",
    "next visit": "下次就诊", "Treating place": "就医地", "Line": "序号", "Price": "单价",
    "Count": "数量", "Type": "类型",
}

FIELDS_ZH: dict[str, str] = {
    "certno": "身份证号", "code": "验证码", "category": "备案类别", "destination": "就医地",
    "start": "开始日期", "commitment": "承诺制", "materials": "证明材料", "for": "代办对象",
    "admission_date": "入院日期", "region": "就医地区", "city": "城市", "level": "医院等级",
    "visit_type": "就医类型", "disease": "病种", "amount": "金额", "mix": "费用构成",
    "name": "姓名", "relationship": "关系", "treated_on": "就医日期",
    "treating.fixmedins_code": "医疗机构编码", "treating.admdvs": "就医地区",
    "treating.level": "医院等级", "service": "服务", "action": "操作",
}

CODES_ZH: dict[str, str] = {
    "filing_conflict": "您已有有效的长期备案，请先变更或取消。",
    "filing_locked": "长期备案须满最短期限后才能变更或取消；住院期间不能变更或取消备案。",
    "filing_state_error": "备案当前状态不允许此操作。",
    "backdate_too_far": "补办备案的开始日期超过了可追溯的期限。",
    "commitment_barred": "您的承诺制办理资格已被暂停。",
    "insurance_inactive": "您的参保状态异常，暂不能办理。",
    "proxy_not_verified": "代办需家人本人同意。",
    "authentication_failed": "请重新登录或检查验证码。",
    "forbidden": "您只能查看和办理本人及已同意代办的家人的业务。",
    "not_found": "没有找到。", "state_conflict": "当前状态不允许此操作。",
    "peer_unavailable": "对方省份暂时无法连接，请稍后再试。",
    "not_filed": "没有匹配的备案。",
    "chronic_not_certified": "您尚未在参保地认定该门诊慢特病。",
    "chronic_not_covered": "参保地未将该病种纳入门诊慢特病。",
    "policy_not_in_force": "参保地暂无有效政策。",
    "invalid_amount": "请输入正确的数字。", "institution_suspended": "该机构暂停异地直接结算。",
}


#: What to do, per field, when what was typed is not valid (Chinese).
HINTS_ZH: dict[str, str] = {
    "certno": "请填写正确的 18 位身份证号", "code": "请填写 6 位数字验证码",
    "category": "请选择备案类别", "destination": "请选择参保省以外的就医地",
    "start": "开始日期不能早于今天；已经就医的请办理补办备案",
    "commitment": "该类别不能按承诺制办理", "materials": "请上传所需证明材料，或选择承诺制办理",
    "admission_date": "请填写不晚于今天的入院日期", "region": "请选择就医地区",
    "city": "城市须在所选省份内", "level": "请选择医院等级", "visit_type": "请选择就医类型",
    "disease": "门诊慢特病须选择病种", "amount": "请填写大于 0、最多两位小数的金额（元）",
    "mix": "请选择费用构成", "name": "请填写与身份证一致的姓名",
    "relationship": "请选择关系", "treated_on": "请填写就医日期",
    "treating.fixmedins_code": "请填写正确的医疗机构编码（H 加 11 位数字）",
    "service": "请选择服务", "for": "只能为已同意代办的家人办理",
}


def translate(text: str, lang: str) -> str:
    """`text` in `lang` (English is the key itself)."""
    return ZH.get(text, text) if lang == "zh" else text


def error_text(exc: MedSettleError, lang: str) -> str:
    """An error in the person's language: the field in words and what is wrong."""
    field = getattr(exc, "field", None)
    message = str(getattr(exc, "message", None) or exc)
    if lang != "zh":
        return str(exc)
    what = FIELDS_ZH.get(str(field), "") if field else ""
    told = CODES_ZH.get(exc.code)
    if told is None and exc.code in ("invalid_input", "invalid_code", "invalid_amount"):
        told = HINTS_ZH.get(str(field))
    if told is None:
        told = "填写有误：" + message if field else message
    return f"{what}：{told}" if what else told
