"""Transaction outputs: settlement results and fee results as the national interface sends them.

Amounts leave MedSettle here, as JSON numbers in yuan (interface.md §7). This module is the only
place that makes floats: `yuan` for amounts, `_number` for quantities, prices and ratios.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from medsettle.core.benefits import Amounts
from medsettle.core.codes import SCHEME_OF_INSUTYPE
from medsettle.core.errors import InvalidInput
from medsettle.core.money import fen_to_yuan

#: setlinfo identity and visit fields, in interface.md order, before the amounts.
IDENTITY_FIELDS: tuple[str, ...] = (
    "mdtrt_id", "setl_id", "psn_no", "psn_name", "psn_cert_type", "certno", "gend", "naty",
    "brdy", "age", "insutype", "psn_type", "cvlserv_flag", "setl_time", "mdtrt_cert_type",
    "med_type",
)
#: setlinfo amounts, in interface.md order; those MedSettle never pays are always 0.
SETLINFO_AMOUNTS: tuple[str, ...] = (
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
    "act_pay_dedc", "hifp_pay", "pool_prop_selfpay", "cvlserv_pay", "hifes_pay", "hifmi_pay",
    "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt", "acct_pay",
    "psn_cash_pay", "hosp_part_amt", "balc", "acct_mulaid_pay",
)
#: setlinfo clearing fields, after the amounts.
CLEARING_FIELDS: tuple[str, ...] = ("medins_setl_id", "clr_optins", "clr_way", "clr_type")

_ALWAYS_ZERO = frozenset({"hifes_pay", "oth_pay", "hosp_part_amt", "acct_mulaid_pay"})
_TEXT_FIELDS = frozenset(IDENTITY_FIELDS + CLEARING_FIELDS)

#: fund_pay_type and its name per fund (interface.md §8); the pool depends on the scheme.
FUND_PAY_TYPES: dict[str, tuple[str, str]] = {
    "hifp:employee": ("310100", "职工基本医疗保险统筹基金"),
    "hifp:resident": ("390100", "城乡居民基本医疗保险基金"),
    "hifmi": ("390200", "城乡居民大病医疗保险资金"),
    "hifob": ("330100", "职工大额医疗费用补助基金"),
    "cvlserv": ("320100", "公务员医疗补助资金"),
    "maf": ("610100", "医疗救助基金"),
}
_FUNDS = ("hifp", "hifmi", "hifob", "cvlserv", "maf")


def yuan(fen: int) -> float:
    """Fen as the JSON number of yuan the interface sends: 35680 → 356.8.

    This is the wire edge and the only place an amount becomes a float. A value with two decimals
    has at most 15 significant digits here (|fen| ≤ 10^12), so Python's shortest float repr of it
    is exactly that decimal: `json.dumps` writes 356.8 and `yuan_to_fen` reads 35680 back.
    """
    if type(fen) is not int:
        raise InvalidInput("fen", f"must be int, not {type(fen).__name__}")
    return float(fen_to_yuan(fen))


def _number(value: Decimal) -> float:
    """A quantity, price or ratio as a JSON number; ≤ 15 significant digits round-trip exactly."""
    return float(value)


def _wire_value(value: object) -> object:
    """A setlinfo identity or clearing value as sent: times and dates as text, None as ""."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _number(value)
    return value


def setlinfo(amounts: Amounts, *, balc: int = 0, **fields: object) -> dict[str, Any]:
    """Every setlinfo field of 2206/2207 (interface.md §7), in order; amounts in yuan.

    Identity, visit and clearing fields come from `fields` (missing ones are ""); `balc` is the
    account balance after settlement, in fen. hifes_pay, oth_pay, hosp_part_amt and
    acct_mulaid_pay are always 0. pool_prop_selfpay is an amount in MedSettle (domain.md S5).
    """
    unknown = set(fields) - _TEXT_FIELDS
    if unknown:
        raise TypeError(f"setlinfo() got unknown fields: {', '.join(sorted(unknown))}")
    own = amounts.as_dict()
    result: dict[str, Any] = {name: _wire_value(fields.get(name)) for name in IDENTITY_FIELDS}
    for name in SETLINFO_AMOUNTS:
        fen = 0 if name in _ALWAYS_ZERO else balc if name == "balc" else own[name]
        result[name] = yuan(fen)
    result.update({name: _wire_value(fields.get(name)) for name in CLEARING_FIELDS})
    return result


def _fund_type(fund: str, scheme: str) -> tuple[str, str]:
    """fund_pay_type and name of a fund; `scheme` is employee/resident or an insutype 310/390."""
    scheme = SCHEME_OF_INSUTYPE.get(scheme, scheme)
    if scheme not in ("employee", "resident"):
        raise InvalidInput("scheme", f"expected employee, resident, 310 or 390, got {scheme!r}")
    return FUND_PAY_TYPES[f"hifp:{scheme}" if fund == "hifp" else fund]


def setldetail(amounts: Amounts, scheme: str) -> list[dict[str, Any]]:
    """One setldetail row per fund that paid (or, in a reversal, refunded) a non-zero amount."""
    own = amounts.as_dict()
    paid = {fund: own[f"{fund}_pay"] for fund in _FUNDS}
    if sum(paid.values()) != amounts.fund_pay_sumamt:
        raise InvalidInput("fund_pay_sumamt", f"{amounts.fund_pay_sumamt} fen is not the sum of "
                           f"the funds, {sum(paid.values())} fen")
    rows = []
    for fund, fen in paid.items():
        if fen == 0:
            continue
        code, name = _fund_type(fund, scheme)
        rows.append({"fund_pay_type": code, "inscp_scp_amt": yuan(amounts.inscp_scp_amt),
                     "crt_payb_lmt_amt": yuan(fen), "fund_payamt": yuan(fen),
                     "fund_pay_type_name": name, "setl_proc_info": ""})
    return rows


def fee_result(*, feedetl_sn: str, det_item_fee_sumamt: int, cnt: Decimal, pric: Decimal,
               pric_uplmt_amt: Decimal | None, selfpay_prop: Decimal, fulamt_ownpay_amt: int,
               overlmt_amt: int, preselfpay_amt: int, inscp_scp_amt: int, chrgitm_lv: str,
               med_chrgitm_type: str, lmt_used_flag: bool, memo: str = "") -> dict[str, Any]:
    """One 2204/2301 `result[]` row: the line as classified by the treating area's catalogue.

    Amounts are fen; cnt, pric, the price cap (None: no cap, sent as null) and the self-pay
    ratio are exact decimals.
    """
    return {
        "feedetl_sn": feedetl_sn,
        "det_item_fee_sumamt": yuan(det_item_fee_sumamt),
        "cnt": _number(cnt),
        "pric": _number(pric),
        "pric_uplmt_amt": None if pric_uplmt_amt is None else _number(pric_uplmt_amt),
        "selfpay_prop": _number(selfpay_prop),
        "fulamt_ownpay_amt": yuan(fulamt_ownpay_amt),
        "overlmt_amt": yuan(overlmt_amt),
        "preselfpay_amt": yuan(preselfpay_amt),
        "inscp_scp_amt": yuan(inscp_scp_amt),
        "chrgitm_lv": chrgitm_lv,
        "med_chrgitm_type": med_chrgitm_type,
        "lmt_used_flag": "1" if lmt_used_flag else "0",
        "memo": memo,
    }
