"""Internal words → national codes, for every coded field the HIS gateway sends.

The use cases speak English (`visit_type` "inpatient", a visit's status "settled", an assistance
category "dibao"); a HIS reads only the national code sets (国家医保信息业务编码). This module is the
one place where one becomes the other, and every function refuses a value it has no code for
rather than letting an internal word reach the wire. Tags follow domain.md: [C] confirmed by a
public client of the national interface, [I] inferred, a MedSettle choice kept in one place.
"""

from __future__ import annotations

from collections.abc import Mapping

from medsettle.core.codes import CERT_TYPES, PSN_TYPES, SCHEME_OF_INSUTYPE, visit_type_of_med_type
from medsettle.core.errors import InvalidCode

#: gend (性别) [C]: 1 male, 2 female; 9 not stated.
GENDERS: Mapping[str, str] = {"1": "男", "2": "女", "9": "未说明"}

#: clr_type (清算类别) of a visit type [C for 11/21; I: 门诊慢特病 clears as outpatient].
CLR_TYPES: Mapping[str, str] = {"outpatient": "11", "chronic": "11", "inpatient": "21"}

#: clr_way (清算方式) [I]: 1 by item (按项目), the only way MedSettle clears.
CLR_WAY_ITEMIZED = "1"

#: psn_idet_type (人员身份类别) of a medical-assistance category (医疗救助对象) [I: the national
#: dictionary's codes for 特困 2301, 低保 2302, 返贫致贫 2303 and 低收入 2304].
PSN_IDET_TYPES: Mapping[str, tuple[str, str]] = {
    "tekun": ("2301", "特困供养人员"), "dibao": ("2302", "低保对象"),
    "fanpin": ("2303", "返贫致贫人口"), "low_income": ("2304", "低收入人口"),
}

#: cum_type_code (累计类别代码) of an accumulator family [I: local codes vary; these are
#: MedSettle's, listed in docs/his-integration.md].
CUM_TYPE_CODES: Mapping[str, str] = {
    "visits": "C0101", "dedc_paid": "C0201", "pool_paid": "C0301", "pool_base": "C0302",
    "chronic_paid": "C0401", "tiers": "C0501", "acct_balance": "C0601",
}

#: refd_setl_flag (退费结算标志) of a settlement record's kind [C]: 0 a settlement, 1 its refund.
REFD_SETL_FLAGS: Mapping[str, str] = {"settle": "0", "cancel": "1"}

#: sev_deg (严重程度) of a rule hit [I]: 1 a hard stop (明确违规), 2 a warning (可疑).
SEV_DEGS: Mapping[str, str] = {"hard_stop": "1", "warning": "2"}

#: vola_bhvr_type (违规行为分类) of a rule [I]: 1 charging (重复/串换/超限价收费), 2 quantity or
#: standard exceeded (超量/超标准), 3 identity or authenticity (冒名/虚构), 4 a restriction not
#: met (限定支付), 5 stay pattern (挂床/分解住院), 6 filing or trend (备案/费用异常).
VOLA_BHVR_TYPES: Mapping[str, str] = {
    "R03": "1", "R04": "1", "R12": "1", "R06": "2", "R11": "2", "R05": "3", "R07": "4",
    "R01": "5", "R02": "5", "R08": "6", "R09": "6", "R10": "6"}

#: vola_item_type (违规明细类型) [I]: 1 an order of the audit message, 2 an uploaded fee line.
VOLA_ITEM_ORDER, VOLA_ITEM_FEE = "1", "2"

#: vali_flag (有效标志) [C]: 1 valid, 0 no longer valid (a cancelled visit or fee line).
VALID, INVALID = "1", "0"


class NoNationalCode(ValueError):
    """An internal value has no national code: a bug, never sent to a HIS as a word."""


def _code(table: Mapping[str, str], value: str, field: str) -> str:
    if value not in table:
        raise NoNationalCode(f"{field}: no national code for {value!r}")
    return table[value]


def gend(value: str) -> str:
    """gend: the stored gender is already the national code; anything else is refused."""
    if value not in GENDERS:
        raise NoNationalCode(f"gend: {value!r} is not a national gender code")
    return value


def psn_type(value: str) -> str:
    """psn_type (人员类别): only the national codes MedSettle knows pass."""
    if value not in PSN_TYPES:
        raise NoNationalCode(f"psn_type: {value!r} is not a national person type")
    return value


def insutype(value: str) -> str:
    """insutype (险种类型): 310 employee basic, 390 resident basic."""
    if value not in SCHEME_OF_INSUTYPE:
        raise NoNationalCode(f"insutype: {value!r} is not a national insurance type")
    return value


def med_type(value: str) -> str:
    """med_type (医疗类别): a code `visit_type_of_med_type` accepts (11, 12, 13, 14xx, 21, 28)."""
    try:
        visit_type_of_med_type(value)
    except InvalidCode:
        raise NoNationalCode(f"med_type: {value!r} is not a national medical type") from None
    return value


def mdtrt_cert_type(value: str) -> str:
    """mdtrt_cert_type (就诊凭证类型): 01 e-voucher, 02 ID card, 03 social-security card; "" when
    the answer does not concern a credential (a cancel)."""
    if value and value not in CERT_TYPES:
        raise NoNationalCode(f"mdtrt_cert_type: {value!r} is not a national credential type")
    return value


def clr_type(visit_type: str) -> str:
    """clr_type of a visit type: 11 outpatient (and chronic), 21 inpatient."""
    return _code(CLR_TYPES, visit_type, "clr_type")


def psn_idet_type(category: str) -> tuple[str, str]:
    """psn_idet_type and its name for a medical-assistance category."""
    if category not in PSN_IDET_TYPES:
        raise NoNationalCode(f"psn_idet_type: no national code for {category!r}")
    return PSN_IDET_TYPES[category]


def cum_type_code(family: str) -> str:
    """cum_type_code of an accumulator family (visits, dedc_paid, pool_paid, ...)."""
    return _code(CUM_TYPE_CODES, family, "cum_type_code")


def refd_setl_flag(kind: str) -> str:
    """refd_setl_flag of a settlement record: 0 a settlement, 1 the record of its cancel."""
    return _code(REFD_SETL_FLAGS, kind, "refd_setl_flag")


def sev_deg(severity: str) -> str:
    """sev_deg of a hit's severity: 1 hard stop, 2 warning."""
    return _code(SEV_DEGS, severity, "sev_deg")


def vola_bhvr_type(rule: str) -> str:
    """vola_bhvr_type of a rule id."""
    return _code(VOLA_BHVR_TYPES, rule, "vola_bhvr_type")


def flag(value: bool) -> str:
    """A national yes/no flag: "1" or "0"."""
    return "1" if value else "0"
