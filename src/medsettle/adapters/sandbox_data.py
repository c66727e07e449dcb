"""The sandbox's known world (docs/sandbox.md): test persons insured in five places, one per scheme,
filing category and chronic disease; three Shenzhen institutions; a five-entry catalogue.

Every value here is fixed, so a HIS engineer (and `medsettle conformance`) can script against
it: the same credentials, the same catalogue codes, the same answers on every fresh sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from medsettle.core.codes import make_id_card

#: The sandbox node's province: Guangdong, treating at Shenzhen (440300).
REGION = "440000"
#: The institution a HIS under test plays, a second one (for cross-institution checks) and a
#: suspended one.
HOSPITAL = "H44030400123"
HOSPITAL_NAME = "深圳示例医院"
OTHER_HOSPITAL = "H44030400456"
SUSPENDED_HOSPITAL = "H44030400999"

DRUG_A = "XA01ABD075A002010100483"   # 甲 氨氯地平片, no self-pay share
DRUG_B = "XC08CAA010A001010100001"   # 乙 硝苯地平控释片, 10 % paid first by the person
DRUG_B_CAPPED = "XL01XCA020B001010100002"  # 乙 20 %, price capped at ¥10,000
SERVICE_BED = "001102000050000"      # 甲 住院诊查费 (a service item)
SERVICE_C = "310100000010000"        # 丙 特需服务: fully self-paid
NOT_LISTED = "ZZ99ZZZ999Z999999999999"  # not in the catalogue: fully self-paid


@dataclass(frozen=True)
class SandboxPerson:
    """A sandbox person: what a HIS scans or types, and what the sandbox answers for them."""

    key: str                 # a short handle: wang, li, zhang, ...
    psn_no: str
    name: str
    certno: str              # ID card number (mdtrt_cert_type 02)
    evoucher: str            # e-voucher token (01)
    card_no: str             # social security card (03), with card_sn
    card_sn: str
    insu_admdvs: str         # insured place
    insutype: str            # 310 employee, 390 resident
    psn_type: str            # 11 active, 12 retired, 1102 civil servant, 15 resident
    role: str                # what the person is in the sandbox, for the table in docs/sandbox.md
    filing: str | None       # filing category, or None
    destination: str = "440000"
    chronic: tuple[str, ...] = ()
    cvlserv: bool = False
    maf_category: str | None = None
    insurance_active: bool = True
    balance_fen: int = 0
    gend: str = "2"
    brdy: date = date(1990, 1, 1)
    emp_name: str = ""

    def row(self) -> dict[str, Any]:
        """The person as a `persons` row of the insured place."""
        return {"psn_no": self.psn_no, "certno": self.certno, "psn_name": self.name,
                "gend": self.gend, "brdy": self.brdy, "insu_admdvs": self.insu_admdvs,
                "insutype": self.insutype, "psn_type": self.psn_type, "cvlserv": self.cvlserv,
                "maf_category": self.maf_category, "chronic_certified": list(self.chronic),
                "card_no": self.card_no, "card_sn": self.card_sn, "evoucher": self.evoucher,
                "insurance_active": self.insurance_active, "emp_name": self.emp_name,
                "commitment_barred_until": None, "direct_settlement_barred": False}


def _person(n: int, key: str, name: str, place: str, first17: str, **extra: Any) -> SandboxPerson:
    return SandboxPerson(key=key, psn_no=f"{place}00000000000000000{n:03d}", name=name,
                      certno=make_id_card(first17), evoucher=f"EC{place}{'S' * 21}{n:03d}",
                      card_no=f"S{place[:2]}{n:06d}", card_sn=f"SN{place}{n:03d}",
                      insu_admdvs=place, **extra)


PERSONS: tuple[SandboxPerson, ...] = (
    _person(1, "wang", "王芳", "510100", "51010419900101001", insutype="310", psn_type="11",
            role="employee, active (职工在职)", filing="posted_worker", destination="440300",
            balance_fen=100000, emp_name="成都示例公司"),
    _person(2, "li", "李强", "510100", "51010419850505003", insutype="390", psn_type="15",
            role="resident (城乡居民)", filing="other_temp", gend="1", brdy=date(1985, 5, 5)),
    _person(3, "zhang", "张阿姨", "310100", "31010419500303002", insutype="310",
            psn_type="12", role="employee, retired (职工退休); hypertension 高血压",
            filing="resettled_retiree", chronic=("M03900",), balance_fen=50000,
            brdy=date(1950, 3, 3), emp_name="退休"),
    _person(4, "liu", "刘建国", "110100", "11010519700707001", insutype="310", psn_type="11",
            role="employee, active; diabetes 糖尿病", filing="long_term_resident",
            chronic=("M01600",), balance_fen=200000, gend="1", brdy=date(1970, 7, 7),
            emp_name="北京示例公司"),
    _person(5, "zhao", "赵磊", "510100", "51010419880808001", insutype="310", psn_type="11",
            role="employee, active; referred for inpatient care (转诊)", filing="referral",
            balance_fen=100000, gend="1", brdy=date(1988, 8, 8), emp_name="成都示例公司"),
    _person(6, "zhou", "周杰", "320100", "32010219800202001", insutype="310", psn_type="1102",
            role="civil servant (公务员)", filing="posted_worker", cvlserv=True,
            balance_fen=100000, gend="1", brdy=date(1980, 2, 2), emp_name="南京示例机关"),
    _person(7, "wu", "吴昊", "510100", "51010419750909003", insutype="390", psn_type="15",
            role="resident, medical assistance (低保)", filing="other_temp",
            maf_category="dibao", gend="1", brdy=date(1975, 9, 9)),
    _person(8, "sun", "孙莉", "510100", "51010419920202002", insutype="390", psn_type="15",
            role="resident without a filing: only emergencies (med_type 13)", filing=None),
    _person(9, "zheng", "郑爽", "510100", "51010419930303002", insutype="310", psn_type="11",
            role="insurance not active (停保)", filing="posted_worker", insurance_active=False,
            balance_fen=0, emp_name="成都示例公司"),
)
BY_KEY = {p.key: p for p in PERSONS}


def _filing(n: int, person: SandboxPerson) -> dict[str, Any]:
    return {"filing_no": f"BA{person.insu_admdvs}20250101{n:07d}", "psn_no": person.psn_no,
            "insu_admdvs": person.insu_admdvs, "category": person.filing,
            "destination": person.destination, "valid_from": date(2025, 1, 1),
            "valid_until": None, "status": "approved", "route": "commitment", "channel": "app",
            "applied_on": date(2025, 1, 1), "decided_on": date(2025, 1, 1), "review_due": None,
            "proxy": None, "post_hoc": False, "reason": "", "filed_by_node": None,
            "filed_by_institution": None}


def _institution(code: str, name: str, hosp_lv: str, level: str, **extra: Any
                 ) -> dict[str, Any]:
    return {"fixmedins_code": code, "name": name, "admdvs": code[1:7], "hosp_lv": hosp_lv,
            "level": level, "dedc_level": None, "suspended": False, "networked": True,
            "api_key": None, "chronic_opened": [], **extra}


def _entry(code: str, name: str, lv: str, selfpay: str = "0", cap: str | None = None,
           kind: str = "09") -> dict[str, Any]:
    return {"code": code, "name": name, "chrgitm_lv": lv, "selfpay_prop": selfpay,
            "lmt_pric": cap, "valid_from": date(2024, 1, 1), "valid_until": None,
            "med_chrgitm_type": kind, "restriction": None}


CATALOGUE = [
    _entry(DRUG_A, "氨氯地平片", "01"), _entry(DRUG_B, "硝苯地平控释片", "02", "0.10"),
    _entry(DRUG_B_CAPPED, "靶向药", "02", "0.20", "10000.00"),
    _entry(SERVICE_BED, "住院诊查费", "01", kind="02"),
    _entry(SERVICE_C, "特需服务", "03", kind="14"),
]
INSTITUTIONS = [
    _institution(HOSPITAL, HOSPITAL_NAME, "02", "L3", chronic_opened=["M03900", "M01600"]),
    _institution(OTHER_HOSPITAL, "深圳第二示例医院", "05", "L2"),
    _institution(SUSPENDED_HOSPITAL, "深圳停用医院", "05", "L2", suspended=True),
]


def sandbox_rows() -> dict[str, list[dict[str, Any]]]:
    """The rows of a fresh sandbox database."""
    return {
        "persons": [p.row() for p in PERSONS],
        "accumulators": [{"psn_no": p.psn_no, "year": "", "path": "acct_balance",
                          "value": p.balance_fen} for p in PERSONS if p.balance_fen],
        "filings": [_filing(n, p) for n, p in enumerate(PERSONS, start=1) if p.filing],
        "institutions": INSTITUTIONS,
        "catalogue": CATALOGUE,
    }
