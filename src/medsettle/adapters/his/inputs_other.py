"""Inputs of referral filing, reversal, reconciliation and queries: 2501, 2502, 2601, 32xx, 52xx."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from medsettle.adapters.his.inputs_common import (
    PERIOD_MAX_FEN,
    validate_id,
    validate_insutype,
)
from medsettle.adapters.his.reader import Node, is_blank
from medsettle.core.codes import validate_admdvs, validate_disease_code, validate_institution_code
from medsettle.core.errors import InvalidCode, InvalidInput
from medsettle.core.money import fen_to_yuan, yuan_to_fen

_MSGID = re.compile(r"[\x21-\x7e]{1,30}", re.ASCII)
_CLR_TYPE = re.compile(r"[0-9]{2,6}", re.ASCII)
_YEAR_MONTH = re.compile(r"[0-9]{4}(?:0[1-9]|1[0-2])", re.ASCII)
_SIGNED_COUNT = re.compile(r"-?[0-9]{1,12}", re.ASCII)


def _check_order(node: Node, start: date | datetime | None, end: date | datetime | None,
                 end_key: str) -> None:
    """An end before its start is an error naming the end field."""
    if start is not None and end is not None and end < start:
        raise InvalidInput(node.at(end_key), f"{end} is before the start {start}")


@dataclass(frozen=True, slots=True)
class Referral:
    """2501 referral filing (转院备案) to an institution in another area."""

    psn_no: str
    insutype: str
    tel: str | None
    addr: str | None
    insu_optins: str | None
    diag_code: str
    diag_name: str
    dise_cond_dscr: str | None
    reflin_medins_no: str
    reflin_medins_name: str
    mdtrtarea_admdvs: str
    hosp_agre_refl: bool
    refl_type: str
    refl_date: date
    refl_rea: str | None
    refl_opnn: str | None
    begndate: date
    enddate: date | None


def parse_referral(input: dict[str, object]) -> Referral:
    """2501 `{"refmedin": {...}}`."""
    node = Node(input, "input").child("refmedin")
    referral = Referral(
        psn_no=node.code("psn_no", validate_id), insutype=node.code("insutype", validate_insutype),
        tel=node.opt_text("tel", maxlen=50), addr=node.opt_text("addr", maxlen=200),
        insu_optins=node.opt_code("insu_optins", validate_admdvs),
        diag_code=node.code("diag_code", validate_disease_code),
        diag_name=node.text("diag_name", maxlen=255),
        dise_cond_dscr=node.opt_text("dise_cond_dscr", maxlen=2000),
        reflin_medins_no=node.code("reflin_medins_no", validate_institution_code),
        reflin_medins_name=node.text("reflin_medins_name", maxlen=200),
        mdtrtarea_admdvs=node.code("mdtrtarea_admdvs", validate_admdvs),
        hosp_agre_refl=node.flag("hosp_agre_refl_flag"), refl_type=node.text("refl_type", maxlen=3),
        refl_date=node.day("refl_date"), refl_rea=node.opt_text("refl_rea", maxlen=300),
        refl_opnn=node.opt_text("refl_opnn", maxlen=300), begndate=node.day("begndate"),
        enddate=node.opt_day("enddate"),
    )
    _check_order(node, referral.begndate, referral.enddate, "enddate")
    return referral


@dataclass(frozen=True, slots=True)
class RevokeReferral:
    """2502 revocation of a referral filing."""

    psn_no: str
    trt_dcla_detl_sn: str
    memo: str | None


def parse_revoke_referral(input: dict[str, object]) -> RevokeReferral:
    """2502 `{"data": {psn_no, trt_dcla_detl_sn, memo?}}`."""
    node = Node(input, "input").child("data")
    return RevokeReferral(psn_no=node.code("psn_no", validate_id),
                          trt_dcla_detl_sn=node.code("trt_dcla_detl_sn", validate_id),
                          memo=node.opt_text("memo", maxlen=500))


@dataclass(frozen=True, slots=True)
class Reversal:
    """2601 reversal (冲正) of a message that got no answer, by its msgid and infno."""

    psn_no: str
    omsgid: str
    oinfno: str


def parse_reversal(input: dict[str, object]) -> Reversal:
    """2601 `{"data": {psn_no, omsgid, oinfno}}` (the gateway checks that oinfno is one of the
    transactions a reversal may name)."""
    node = Node(input, "input").child("data")
    omsgid = node.text("omsgid", maxlen=30)
    if _MSGID.fullmatch(omsgid) is None:
        raise InvalidInput(node.at("omsgid"), f"expected a msgid, got {omsgid!r}")
    oinfno = node.text("oinfno", maxlen=5)
    return Reversal(psn_no=node.code("psn_no", validate_id), omsgid=omsgid, oinfno=oinfno)


@dataclass(frozen=True, slots=True)
class ReconcileTotals:
    """3201 totals reconciliation (对总账) of a period; amounts in fen."""

    insutype: str
    clr_type: str
    setl_optins: str
    stmt_begndate: date
    stmt_enddate: date
    medfee_sumamt: int
    fund_pay_sumamt: int
    acct_pay: int
    fixmedins_setl_cnt: int


def _period(node: Node) -> tuple[date, date]:
    """stmt_begndate and stmt_enddate, in order."""
    begin, end = node.day("stmt_begndate"), node.day("stmt_enddate")
    _check_order(node, begin, end, "stmt_enddate")
    return begin, end


def parse_reconcile_totals(input: dict[str, object]) -> ReconcileTotals:
    """3201 `{"data": {insutype, clr_type, setl_optins, stmt_begndate, ...}}`."""
    node = Node(input, "input").child("data")
    clr_type = node.text("clr_type", maxlen=6)
    if _CLR_TYPE.fullmatch(clr_type) is None:
        raise InvalidCode(node.at("clr_type"), f"expected 2-6 digits, got {clr_type!r}")
    begin, end = _period(node)
    return ReconcileTotals(
        insutype=node.code("insutype", validate_insutype), clr_type=clr_type,
        setl_optins=node.code("setl_optins", validate_admdvs), stmt_begndate=begin,
        stmt_enddate=end, medfee_sumamt=_signed_fen(node, "medfee_sumamt"),
        fund_pay_sumamt=_signed_fen(node, "fund_pay_sumamt"),
        acct_pay=_signed_fen(node, "acct_pay"),
        fixmedins_setl_cnt=_signed_count(node, "fixmedins_setl_cnt"),
    )


def _required(node: Node, key: str) -> object:
    value = node.data.get(key)
    if is_blank(value):
        raise InvalidInput(node.at(key), "is required")
    return value


def _signed_fen(node: Node, key: str) -> int:
    """A 3201/3202 total in yuan as fen, |fen| ≤ PERIOD_MAX_FEN: negative when the refunds
    (cancels, which count negative in their own period) outweigh its settlements."""
    fen = yuan_to_fen(_required(node, key), node.at(key))
    if abs(fen) > PERIOD_MAX_FEN:
        raise InvalidInput(node.at(key), f"¥{fen_to_yuan(fen)} is absurd: beyond "
                                         f"±¥{fen_to_yuan(PERIOD_MAX_FEN)}")
    return fen


def _signed_count(node: Node, key: str) -> int:
    """A 3201/3202 settlement count, a whole number of at most 12 digits: negative when the period
    has more cancel records (−1 each) than settlements (JSON integer or ASCII digit string)."""
    value = _required(node, key)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**12:
        return value
    if isinstance(value, str) and _SIGNED_COUNT.fullmatch(value.strip()):
        return int(value.strip())
    raise InvalidInput(node.at(key), f"must be a whole number of at most 12 digits, maybe "
                                     f"negative, got {value!r}")


@dataclass(frozen=True, slots=True)
class ReconcileDetails:
    """3202 detail reconciliation (对明细账) against a file uploaded with 9101."""

    setl_optins: str
    file_qury_no: str | None
    stmt_begndate: date
    stmt_enddate: date
    medfee_sumamt: int
    fund_pay_sumamt: int
    cash_payamt: int
    fixmedins_setl_cnt: int


def parse_reconcile_details(input: dict[str, object]) -> ReconcileDetails:
    """3202 `{"data": {setl_optins, file_qury_no?, stmt_begndate, ...}}`."""
    node = Node(input, "input").child("data")
    begin, end = _period(node)
    return ReconcileDetails(
        setl_optins=node.code("setl_optins", validate_admdvs),
        file_qury_no=node.opt_text("file_qury_no", maxlen=200), stmt_begndate=begin,
        stmt_enddate=end, medfee_sumamt=_signed_fen(node, "medfee_sumamt"),
        fund_pay_sumamt=_signed_fen(node, "fund_pay_sumamt"),
        cash_payamt=_signed_fen(node, "cash_payamt"),
        fixmedins_setl_cnt=_signed_count(node, "fixmedins_setl_cnt"),
    )


@dataclass(frozen=True, slots=True)
class PeriodQuery:
    """5201 visits or 5205 chronic medication of a person, optionally within a period."""

    psn_no: str
    begntime: datetime | None
    endtime: datetime | None


def parse_period_query(input: dict[str, object]) -> PeriodQuery:
    """5201 and 5205 `{"data": {psn_no, begntime?, endtime?}}`."""
    node = Node(input, "input").child("data")
    query = PeriodQuery(psn_no=node.code("psn_no", validate_id),
                        begntime=node.opt_moment("begntime"), endtime=node.opt_moment("endtime"))
    _check_order(node, query.begntime, query.endtime, "endtime")
    return query


@dataclass(frozen=True, slots=True)
class SettlementQuery:
    """5203 settlement info or 5204 fee details, by settlement or by visit."""

    psn_no: str
    setl_id: str | None
    mdtrt_id: str | None


def parse_settlement_query(input: dict[str, object]) -> SettlementQuery:
    """5203 and 5204 `{"data": {psn_no, setl_id?, mdtrt_id?}}`; one of the two is required."""
    node = Node(input, "input").child("data")
    query = SettlementQuery(psn_no=node.code("psn_no", validate_id),
                            setl_id=node.opt_code("setl_id", validate_id),
                            mdtrt_id=node.opt_code("mdtrt_id", validate_id))
    if query.setl_id is None and query.mdtrt_id is None:
        raise InvalidInput(node.at("setl_id"), "setl_id or mdtrt_id is required")
    return query


@dataclass(frozen=True, slots=True)
class SettlementListQuery:
    """5261 a person's settlements at the sender's institution: of one settlement or visit, or
    all of them settled between begntime and endtime."""

    psn_no: str
    setl_id: str | None
    mdtrt_id: str | None
    begntime: datetime | None
    endtime: datetime | None


def parse_settlement_list_query(input: dict[str, object]) -> SettlementListQuery:
    """5261 `{"data": {psn_no, setl_id?, mdtrt_id?, begntime?, endtime?}}`."""
    node = Node(input, "input").child("data")
    query = SettlementListQuery(
        psn_no=node.code("psn_no", validate_id), setl_id=node.opt_code("setl_id", validate_id),
        mdtrt_id=node.opt_code("mdtrt_id", validate_id), begntime=node.opt_moment("begntime"),
        endtime=node.opt_moment("endtime"))
    _check_order(node, query.begntime, query.endtime, "endtime")
    return query


@dataclass(frozen=True, slots=True)
class AccumulationQuery:
    """5206 a person's accumulations (累计信息), optionally for one month `yyyyMM`."""

    psn_no: str
    cum_ym: str | None


def parse_accumulation_query(input: dict[str, object]) -> AccumulationQuery:
    """5206 `{"data": {psn_no, cum_ym?}}`."""
    node = Node(input, "input").child("data")
    cum_ym = node.opt_text("cum_ym", maxlen=6)
    if cum_ym is not None and _YEAR_MONTH.fullmatch(cum_ym) is None:
        raise InvalidInput(node.at("cum_ym"), f"expected a month yyyyMM, got {cum_ym!r}")
    return AccumulationQuery(psn_no=node.code("psn_no", validate_id), cum_ym=cum_ym)
