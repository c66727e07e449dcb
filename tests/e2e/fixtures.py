"""A small hand-made federation: three provinces, a few people, institutions and catalogues.

Chengdu (510100) insures 王芳, an active employee posted to Shenzhen, and 李强, a resident with
no filing; Shanghai (310100) insures 张阿姨, a retiree resettled in Hainan with hypertension;
Guangdong (440000) treats at 深圳示例医院 (H44030400123, tier 3) and insures 陈明.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from medsettle.core.codes import make_id_card

WANG = {"psn_no": "51010000000000000000000001", "certno": make_id_card("51010419900101001"),
        "psn_name": "王芳", "gend": "2", "brdy": date(1990, 1, 1), "insu_admdvs": "510100",
        "insutype": "310", "psn_type": "11", "cvlserv": False, "maf_category": None,
        "chronic_certified": [], "card_no": "A51000001", "card_sn": "SN510001",
        "evoucher": "EC510100" + "A" * 23 + "1", "insurance_active": True,
        "emp_name": "成都示例公司", "commitment_barred_until": None,
        "direct_settlement_barred": False}
LI = WANG | {"psn_no": "51010000000000000000000002", "certno": make_id_card("51010419850505003"),
             "psn_name": "李强", "gend": "1", "brdy": date(1985, 5, 5), "insutype": "390",
             "psn_type": "15", "card_no": "A51000002", "card_sn": "SN510002",
             "evoucher": "EC510100" + "B" * 23 + "2", "emp_name": ""}
ZHANG = WANG | {"psn_no": "31010000000000000000000001", "certno": make_id_card("31010419500303002"),
                "psn_name": "张阿姨", "gend": "2", "brdy": date(1950, 3, 3), "insu_admdvs": "310100",
                "psn_type": "12", "chronic_certified": ["M03900"], "card_no": "A31000001",
                "card_sn": "SN310001", "evoucher": "EC310100" + "C" * 23 + "1",
                "emp_name": "退休"}
CHEN = WANG | {"psn_no": "44030000000000000000000001", "certno": make_id_card("44030419800808001"),
               "psn_name": "陈明", "gend": "1", "brdy": date(1980, 8, 8), "insu_admdvs": "440100",
               "card_no": "A44000001", "card_sn": "SN440001",
               "evoucher": "EC440100" + "D" * 23 + "1", "emp_name": "广州示例公司"}


def employee(n: int, name: str, **extra: Any) -> dict[str, Any]:
    """Another active Chengdu employee (numbered so each test has its own accumulators)."""
    return WANG | {"psn_no": f"510100000000000000000001{n:02d}",
                   "certno": make_id_card(f"510104199002{n:02d}001"), "psn_name": name,
                   "card_no": f"B510000{n:02d}", "card_sn": f"SN5101{n:02d}",
                   "evoucher": f"EC510100{'E' * 22}{n:02d}"} | extra


ZHAO = employee(1, "赵磊")      # inpatient
QIAN = employee(2, "钱进")      # cancel
SUN = employee(3, "孙莉")       # reversal after a timeout
ZHOU = employee(4, "周杰")      # concurrent settlements in two provinces
WU = employee(5, "吴昊")        # retries of one msgid
ZHENG = employee(6, "郑爽")     # outpatient while Shanghai is down


def filing(no: str, person: dict[str, Any], category: str, destination: str) -> dict[str, Any]:
    return {"filing_no": no, "psn_no": person["psn_no"], "insu_admdvs": person["insu_admdvs"],
            "category": category, "destination": destination, "valid_from": date(2025, 1, 1),
            "valid_until": None, "status": "approved", "route": "commitment", "channel": "app",
            "applied_on": date(2025, 1, 1), "decided_on": date(2025, 1, 1), "review_due": None,
            "proxy": None, "post_hoc": False, "reason": ""}


def institution(code: str, name: str, hosp_lv: str, level: str, **extra: Any) -> dict[str, Any]:
    return {"fixmedins_code": code, "name": name, "admdvs": code[1:7], "hosp_lv": hosp_lv,
            "level": level, "dedc_level": None, "suspended": False, "networked": True,
            "api_key": None,
            "chronic_opened": [], **extra}


def entry(code: str, name: str, lv: str, selfpay: str = "0", cap: str | None = None,
          kind: str = "09") -> dict[str, Any]:
    return {"code": code, "name": name, "chrgitm_lv": lv, "selfpay_prop": selfpay,
            "lmt_pric": cap, "valid_from": date(2024, 1, 1), "valid_until": None,
            "med_chrgitm_type": kind, "restriction": None}


DRUG_A = "XA01ABD075A002010100483"   # 甲
DRUG_B = "XC08CAA010A001010100001"   # 乙 10%
DRUG_B_CAPPED = "XL01XCA020B001010100002"  # 乙 20%, capped at ¥10,000
SERVICE_BED = "001102000050000"      # 住院诊查费 / bed, 甲
SERVICE_C = "310100000010000"        # 丙
NOT_LISTED = "ZZ99ZZZ999Z999999999999"

GUANGDONG_CATALOGUE = [
    entry(DRUG_A, "氨氯地平片", "01"), entry(DRUG_B, "硝苯地平控释片", "02", "0.10"),
    entry(DRUG_B_CAPPED, "靶向药", "02", "0.20", "10000.00"),
    entry(SERVICE_BED, "住院诊查费", "01", kind="02"), entry(SERVICE_C, "特需服务", "03", kind="14"),
]

SHENZHEN_H = "H44030400123"
SUSPENDED_H = "H44030400999"
SHANGHAI_H = "H31010400077"
CHENGDU_EMPLOYEES = [ZHAO, QIAN, SUN, ZHOU, WU, ZHENG]

ROWS: dict[str, dict[str, list[dict[str, Any]]]] = {
    "510000": {"persons": [WANG, LI, *CHENGDU_EMPLOYEES],
               "accumulators": [{"psn_no": p["psn_no"], "year": "", "path": "acct_balance",
                                 "value": 100000} for p in (WANG, *CHENGDU_EMPLOYEES)],
               "filings": [filing("BA510100202501010000001", WANG, "posted_worker", "440300"),
                           *(filing(f"BA51010020250101{i:07d}", p, "posted_worker", "440000")
                             for i, p in enumerate(CHENGDU_EMPLOYEES, start=10)),
                           filing("BA510100202501010000099", ZHOU, "other_temp", "310000")
                           | {"valid_until": date(2030, 1, 1)}],
               "institutions": [institution("H51010400001", "成都示例医院", "02", "L3")],
               "catalogue": GUANGDONG_CATALOGUE},
    "310000": {"persons": [ZHANG], "accumulators": [],
               "filings": [filing("BA310100202501010000001", ZHANG, "resettled_retiree",
                                  "440000")],
               "institutions": [institution(SHANGHAI_H, "上海示例医院", "01", "L3")],
               "catalogue": GUANGDONG_CATALOGUE},
    "440000": {"persons": [CHEN], "accumulators": [], "filings": [],
               "institutions": [institution(SHENZHEN_H, "深圳示例医院", "02", "L3",
                                            chronic_opened=["M03900", "M01600"]),
                                institution(SUSPENDED_H, "深圳停用医院", "05", "L2",
                                            suspended=True)],
               "catalogue": GUANGDONG_CATALOGUE},
}
