"""National code formats and dictionaries (domain.md §2, §7): validators return the normal form.

Every validator takes `(value, field)`, accepts only `str`, and raises `InvalidCode` naming the
field and the expected format. Patterns are matched whole and ASCII-only, so full-width digits
and a trailing newline are rejected. Tags in docstrings follow domain.md: [C] confirmed,
[U] unconfirmed, [D] a MedSettle design decision.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from medsettle.core.errors import InvalidCode

CatalogueKind = Literal["drug", "service", "consumable"]
LevelTier = Literal["L0", "L1", "L2", "L3"]
Gender = Literal["1", "2"]
PersonCategory = Literal["active", "retired", "resident"]
Scheme = Literal["employee", "resident"]
VisitType = Literal["outpatient", "inpatient", "chronic"]

#: The 32 provincial-level admdvs codes (医保区划) [C; 660000 兵团 U].
PROVINCES: dict[str, str] = {
    "110000": "北京", "120000": "天津", "130000": "河北", "140000": "山西",
    "150000": "内蒙古", "210000": "辽宁", "220000": "吉林", "230000": "黑龙江",
    "310000": "上海", "320000": "江苏", "330000": "浙江", "340000": "安徽",
    "350000": "福建", "360000": "江西", "370000": "山东", "410000": "河南",
    "420000": "湖北", "430000": "湖南", "440000": "广东", "450000": "广西",
    "460000": "海南", "500000": "重庆", "510000": "四川", "520000": "贵州",
    "530000": "云南", "540000": "西藏", "610000": "陕西", "620000": "甘肃",
    "630000": "青海", "640000": "宁夏", "650000": "新疆", "660000": "新疆生产建设兵团",
}

#: Pooling regions (统筹区) used by fixtures and the simulator.
PREFECTURES: dict[str, str] = {
    "110100": "北京市", "120100": "天津市", "130100": "石家庄市", "140100": "太原市",
    "150100": "呼和浩特市", "210100": "沈阳市", "220100": "长春市", "230100": "哈尔滨市",
    "310100": "上海市", "320100": "南京市", "320500": "苏州市", "330100": "杭州市",
    "340100": "合肥市", "350100": "福州市", "360000": "江西省本级", "360100": "南昌市",
    "370100": "济南市", "410100": "郑州市", "420100": "武汉市", "430100": "长沙市",
    "440100": "广州市", "440300": "深圳市", "450100": "南宁市", "460100": "海南省(全省统筹)",
    "500100": "重庆市", "510100": "成都市", "520100": "贵阳市", "530100": "昆明市",
    "540100": "拉萨市", "610100": "西安市", "611000": "商洛市", "620100": "兰州市",
    "630100": "西宁市", "640100": "银川市", "650100": "乌鲁木齐市",
    "660000": "新疆生产建设兵团本级",
}

_REGION_EXCEPTIONS = {"360000": "360000", "610000": "611000", "460000": "460100",
                      "660000": "660000"}

#: For each province, the one pooling region MedSettle ships policy for [D].
REGION_OF_PROVINCE: dict[str, str] = {
    province: _REGION_EXCEPTIONS.get(province, province[:2] + "0100") for province in PROVINCES
}

_PROVINCE_PREFIXES = frozenset(code[:2] for code in PROVINCES)

_ADMDVS = re.compile(r"[0-9]{6}", re.ASCII)
_DRUG = re.compile(r"[XZ][A-Z0-9]{22}", re.ASCII)
_SERVICE_ITEM = re.compile(r"[0-9]{15}", re.ASCII)
_CONSUMABLE = re.compile(r"C[0-9]{19}(?:[0-9A-Z]{7})?", re.ASCII)
_INSTITUTION = re.compile(r"H[0-9]{11}", re.ASCII)
_PHARMACY = re.compile(r"P[0-9]{11}", re.ASCII)
_DISEASE = re.compile(r"[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,4})?", re.ASCII)
_CHRONIC_DISEASE = re.compile(r"M[0-9]{5}", re.ASCII)
_ID_CARD = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_ID_FIRST17 = re.compile(r"[0-9]{17}", re.ASCII)
_SOCIAL_SECURITY_CARD_NO = re.compile(r"[A-Z0-9]{9}", re.ASCII)
_CARD_SN = re.compile(r"[0-9A-Za-z]{1,32}", re.ASCII)
_MED_TYPE_CHRONIC = re.compile(r"14(?:[0-9]{2})?", re.ASCII)

#: E-voucher QR token [D]: "EC" + insured admdvs (routable by the hub) + 24 random alphanumerics.
EVOUCHER_PATTERN = re.compile(r"^EC\d{6}[0-9A-Za-z]{24}$", re.ASCII)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARACTERS = "10X98765432"
_EARLIEST_BIRTH_DATE = date(1900, 1, 1)


def _require_str(value: object, field: str, expected: str) -> str:
    """Return `value` as a plain str, or raise InvalidCode naming the expected format."""
    if not isinstance(value, str):
        raise InvalidCode(field, f"expected {expected}, got {type(value).__name__}")
    return str(value)


def _match(pattern: re.Pattern[str], value: object, field: str, expected: str) -> str:
    """Return `value` if it is a str matching `pattern` whole, else raise InvalidCode."""
    text = _require_str(value, field, expected)
    if pattern.fullmatch(text) is None:
        raise InvalidCode(field, f"expected {expected}, got {text!r}")
    return text


# admdvs (医保区划)


def validate_admdvs(value: object, field: str) -> str:
    """Validate a 6-digit admdvs whose first two digits are one of the 32 provinces."""
    expected = "a 6-digit admdvs (^\\d{6}$) in one of the 32 provinces"
    text = _match(_ADMDVS, value, field, expected)
    if text[:2] not in _PROVINCE_PREFIXES:
        raise InvalidCode(field, f"expected {expected}; {text[:2]!r} is not a province prefix")
    return text


def validate_province(value: object, field: str) -> str:
    """Validate a provincial admdvs: one of the 32 province codes ("440000")."""
    text = validate_admdvs(value, field)
    if text not in PROVINCES:
        raise InvalidCode(field, f"expected one of the 32 province codes (^\\d{{2}}0000$), "
                          f"got {text!r}")
    return text


def province_of(admdvs: str) -> str:
    """The provincial admdvs of a region: "440300" → "440000"."""
    return validate_admdvs(admdvs, "admdvs")[:2] + "0000"


def prefecture_of(admdvs: str) -> str:
    """The prefecture-level admdvs of a region: the first four digits + "00"."""
    return validate_admdvs(admdvs, "admdvs")[:4] + "00"


def is_cross_province(a: str, b: str) -> bool:
    """True when the two regions lie in different provinces (跨省)."""
    return province_of(a) != province_of(b)


def region_name(admdvs: str) -> str:
    """The Chinese name of the region's prefecture if known, else of its province."""
    prefecture = prefecture_of(admdvs)
    return PREFECTURES.get(prefecture) or PROVINCES[province_of(admdvs)]


# Catalogue codes (医保目录编码) [C]


def validate_drug_code(value: object, field: str) -> str:
    """Validate a 23-char national drug code (X 西药, Z 中成药)."""
    return _match(_DRUG, value, field, "a drug code ^[XZ][A-Z0-9]{22}$ (23 chars)")


def validate_service_item_code(value: object, field: str) -> str:
    """Validate a 15-digit medical service item code."""
    return _match(_SERVICE_ITEM, value, field, "a service item code ^\\d{15}$ (15 digits)")


def validate_consumable_code(value: object, field: str) -> str:
    """Validate a consumable code: 20 chars, or 27 with the specification suffix."""
    expected = "a consumable code ^C\\d{19}$ (20 chars) or ^C\\d{19}[0-9A-Z]{7}$ (27 chars)"
    return _match(_CONSUMABLE, value, field, expected)


def catalogue_code_kind(code: object, field: str = "code") -> CatalogueKind:
    """Which catalogue a code belongs to, from its format alone."""
    text = _require_str(code, field, "a drug, service item or consumable code")
    if _DRUG.fullmatch(text):
        return "drug"
    if _SERVICE_ITEM.fullmatch(text):
        return "service"
    if _CONSUMABLE.fullmatch(text):
        return "consumable"
    raise InvalidCode(field, "expected a drug code ^[XZ][A-Z0-9]{22}$, a service item code "
                      f"^\\d{{15}}$ or a consumable code ^C\\d{{19}}([0-9A-Z]{{7}})?$, got {text!r}")


# Institutions and pharmacies


def validate_institution_code(value: object, field: str) -> str:
    """Validate a medical institution code (定点医药机构编码), H + 11 digits."""
    return _match(_INSTITUTION, value, field, "an institution code ^H\\d{11}$ (12 chars)")


def validate_pharmacy_code(value: object, field: str) -> str:
    """Validate a designated pharmacy code, P + 11 digits [U]."""
    return _match(_PHARMACY, value, field, "a pharmacy code ^P\\d{11}$ (12 chars)")


def institution_admdvs(code: str) -> str:
    """The admdvs in an institution code: the six digits after H [U, MedSettle convention]."""
    text = validate_institution_code(code, "institution_code")
    return validate_admdvs(text[1:7], "institution_code")


# Diseases


def validate_disease_code(value: object, field: str) -> str:
    """Validate an ICD-10 style diagnosis code such as I10, E11.9 or C34.1."""
    expected = "an ICD-10 code ^[A-Z]\\d{2}(\\.[0-9A-Z]{1,4})?$ such as E11.9"
    return _match(_DISEASE, value, field, expected)


def validate_chronic_disease_code(value: object, field: str) -> str:
    """Validate a chronic/special outpatient disease code (门诊慢特病), M + 5 digits."""
    return _match(_CHRONIC_DISEASE, value, field, "a chronic disease code ^M\\d{5}$ (6 chars)")


#: The diseases settled cross-province nationwide since end-2022 (domain.md §4) [C].
NATIONAL_CHRONIC_DISEASES: dict[str, str] = {
    "M03900": "高血压", "M01600": "糖尿病", "M00503": "恶性肿瘤门诊放化疗",
    "M07803": "尿毒症透析(血透)", "M07804": "尿毒症透析(腹透)", "M08300": "器官移植术后抗排异",
}

#: Extensions listed by a Jiangxi file (domain.md §4) [R].
EXTENSION_CHRONIC_DISEASES: dict[str, str] = {
    "M05300": "慢性阻塞性肺疾病", "M06900": "类风湿关节炎", "M04600": "冠心病",
    "M00201": "慢性乙型肝炎", "M00202": "慢性丙型肝炎", "M07200": "强直性脊柱炎",
}


def chronic_disease_name(code: str) -> str:
    """The Chinese name of a national or extension chronic disease."""
    text = validate_chronic_disease_code(code, "chronic_disease_code")
    name = NATIONAL_CHRONIC_DISEASES.get(text) or EXTENSION_CHRONIC_DISEASES.get(text)
    if name is None:
        raise InvalidCode("chronic_disease_code",
                          f"expected a national or extension chronic disease, got {text!r}")
    return name


# 居民身份证 (GB 11643) [C]


def id_check_character(first17: str) -> str:
    """The GB 11643 check character: Σ digit×weight mod 11, indexed into "10X98765432"."""
    text = _match(_ID_FIRST17, first17, "certno", "the first 17 digits of an ID card number")
    remainder = sum(int(d) * w for d, w in zip(text, _ID_WEIGHTS, strict=True)) % 11
    return _ID_CHECK_CHARACTERS[remainder]


def _birth_date(certno: str) -> date | None:
    """The birth date at positions 7–14, or None when it is not a calendar date."""
    try:
        return date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))
    except ValueError:
        return None


def validate_id_card(value: object, field: str) -> str:
    """Validate an 18-character ID number: format, province, birth date and check character."""
    expected = "an 18-character ID card number (17 digits + digit or X)"
    text = _require_str(value, field, expected).upper()
    if len(text) != 18:
        raise InvalidCode(field, f"expected {expected}, got {len(text)} characters")
    if _ID_CARD.fullmatch(text) is None:
        raise InvalidCode(field, f"expected {expected}, got another character")
    if text[:2] not in _PROVINCE_PREFIXES:
        raise InvalidCode(field, f"expected {expected}; address code {text[:2]}xxxx "
                          "is not in one of the 32 provinces")
    born = _birth_date(text)
    if born is None or born < _EARLIEST_BIRTH_DATE:
        raise InvalidCode(field, f"expected {expected}; positions 7-14 must be a birth date "
                          "YYYYMMDD on or after 19000101")
    if text[17] != id_check_character(text[:17]):
        raise InvalidCode(field, f"expected {expected}; the check character (GB 11643) is wrong")
    return text


def make_id_card(first17: str) -> str:
    """A valid ID number from its first 17 digits, with the check character appended."""
    return validate_id_card(first17 + id_check_character(first17), "certno")


def id_card_birth_date(certno: str) -> date:
    """The birth date encoded in an ID number."""
    text = validate_id_card(certno, "certno")
    return date(int(text[6:10]), int(text[10:12]), int(text[12:14]))


def id_card_gender(certno: str) -> Gender:
    """The gender encoded in an ID number: odd 17th digit "1" male, even "2" female."""
    return "1" if int(validate_id_card(certno, "certno")[16]) % 2 else "2"


# 社会保障卡 and 医保电子凭证


def validate_social_security_card_no(value: object, field: str) -> str:
    """Validate the card number printed on a social security card, 9 alphanumerics [U]."""
    expected = "a social security card number ^[A-Z0-9]{9}$ (9 chars) [U]"
    return _match(_SOCIAL_SECURITY_CARD_NO, value, field, expected)


def validate_card_sn(value: object, field: str) -> str:
    """Validate a social security card's chip serial (card_sn), 1–32 alphanumerics."""
    return _match(_CARD_SN, value, field, "a card_sn ^[0-9A-Za-z]{1,32}$ (1-32 chars)")


def validate_evoucher_token(value: object, field: str) -> str:
    """Validate an e-voucher QR token (医保电子凭证) and the province of its admdvs [D]."""
    expected = "an e-voucher token ^EC\\d{6}[0-9A-Za-z]{24}$ (32 chars)"
    text = _match(EVOUCHER_PATTERN, value, field, expected)
    if text[2:4] not in _PROVINCE_PREFIXES:
        raise InvalidCode(field, f"expected {expected}; {text[2:8]} is not a routable admdvs")
    return text


def evoucher_admdvs(token: str) -> str:
    """The insured admdvs carried by an e-voucher token, used by the hub to route it."""
    return validate_evoucher_token(token, "evoucher_token")[2:8]


# Dictionaries (domain.md §7)

_LEVEL_TIERS: dict[str, LevelTier] = {
    **dict.fromkeys(("01", "02", "03", "04", "12"), "L3"),
    **dict.fromkeys(("05", "06", "07", "13"), "L2"),
    **dict.fromkeys(("08", "09", "10", "14"), "L1"),
    "11": "L0",
}


def level_tier(hosp_lv: str) -> LevelTier:
    """The tier of a hospital level, hosp_lv 01–14 [U: only 01 三级特等 … 14 一级无等 is confirmed]."""
    if not isinstance(hosp_lv, str) or hosp_lv not in _LEVEL_TIERS:
        raise InvalidCode("hosp_lv", f"expected a hospital level 01-14, got {hosp_lv!r}")
    return _LEVEL_TIERS[hosp_lv]


#: Credential types (mdtrt_cert_type) [U].
CERT_TYPES: dict[str, str] = {"01": "医保电子凭证", "02": "居民身份证", "03": "社会保障卡"}

#: Person types (psn_type) [C].
PSN_TYPES: dict[str, str] = {
    "11": "在职", "1101": "职工在职", "1102": "公务员在职", "1103": "灵活就业在职",
    "12": "退休", "1300": "离休", "15": "居民",
}

_PSN_CATEGORIES: dict[str, PersonCategory] = {
    "11": "active", "1101": "active", "1102": "active", "1103": "active",
    "12": "retired", "15": "resident",
}


def category_of_psn_type(psn_type: str) -> PersonCategory:
    """The benefit category of a person type; 离休 (1300) is not settled by MedSettle."""
    if psn_type == "1300":
        raise InvalidCode("psn_type", "1300 离休 is not supported by MedSettle")
    if not isinstance(psn_type, str) or psn_type not in _PSN_CATEGORIES:
        raise InvalidCode("psn_type",
                          f"expected a psn_type 11, 1101-1103, 12 or 15, got {psn_type!r}")
    return _PSN_CATEGORIES[psn_type]


#: The insurance scheme of an insutype: 310 职工基本医疗保险, 390 城乡居民基本医疗保险 [C].
SCHEME_OF_INSUTYPE: dict[str, Scheme] = {"310": "employee", "390": "resident"}


def scheme_of_insutype(insutype: str) -> Scheme:
    """The scheme (employee or resident) of an insutype."""
    if not isinstance(insutype, str) or insutype not in SCHEME_OF_INSUTYPE:
        raise InvalidCode("insutype", f"expected an insutype 310 or 390, got {insutype!r}")
    return SCHEME_OF_INSUTYPE[insutype]


def visit_type_of_med_type(med_type: str) -> VisitType:
    """The visit type of a med_type: 11/12/13 outpatient, 14 and 14xx chronic, 21/28 inpatient."""
    if isinstance(med_type, str):
        if med_type in ("11", "12", "13"):
            return "outpatient"
        if _MED_TYPE_CHRONIC.fullmatch(med_type):
            return "chronic"
        if med_type in ("21", "28"):
            return "inpatient"
    raise InvalidCode("med_type",
                      f"expected a med_type 11, 12, 13, 14, 14xx, 21 or 28, got {med_type!r}")


#: Fee line categories (med_chrgitm_type) [C].
MED_CHRGITM_TYPES: dict[str, str] = {
    "01": "床位", "02": "诊察", "03": "检查", "04": "化验", "05": "治疗", "06": "手术",
    "07": "护理", "08": "卫材", "09": "西药", "10": "饮片", "11": "中成药", "12": "一般诊疗",
    "13": "挂号", "14": "其他",
}
