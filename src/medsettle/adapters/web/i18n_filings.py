"""The filing categories (备案类别) in Chinese: one list for the operator console and the
insured person's app."""

from __future__ import annotations

FILING_CATEGORIES_ZH: dict[str, str] = {
    "resettled_retiree": "异地安置退休人员", "long_term_resident": "异地长期居住人员",
    "posted_worker": "常驻异地工作人员", "referral": "异地转诊人员",
    "emergency": "异地急诊抢救人员", "other_temp": "其他临时外出就医人员",
}
