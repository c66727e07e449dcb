"""Reconciliation and queries: 3201, 3202, 5201, 5203–5206.

The query answers model the national keys the kit relies on; whatever else a platform sends is
kept on the model (`model_extra`).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import StringConstraints, model_validator

from medsettle.sdk.base import Request
from medsettle.sdk.types import Admdvs, Answer, Id, Message, OptText, WireDate, Yuan
from medsettle.sdk.visits import Insutype

#: stmt_rslt: 0 balanced, 1 not balanced.
StmtResult = Annotated[str, StringConstraints(pattern=r"^[01]$")]


class TotalsToReconcile(Message):
    """3201 `data`: the institution's totals of a period, per insutype and clearing type."""

    insutype: Insutype
    clr_type: Annotated[str, StringConstraints(min_length=1, max_length=6)]
    setl_optins: Admdvs
    stmt_begndate: WireDate
    stmt_enddate: WireDate
    medfee_sumamt: Yuan
    fund_pay_sumamt: Yuan
    acct_pay: Yuan
    fixmedins_setl_cnt: int


class ReconcileAnswer(Answer):
    """3201/3202 output: `stmt_rslt` 0 balanced, 1 not, and why."""

    setl_optins: str = ""
    stmt_rslt: StmtResult
    stmt_rslt_dscr: str = ""
    fixmedins_setl_cnt: int | None = None
    medfee_sumamt: Yuan | None = None
    fund_pay_sumamt: Yuan | None = None
    acct_pay: Yuan | None = None


class ReconcileTotalsRequest(Request[ReconcileAnswer]):
    """3201 totals reconciliation (对总账)."""

    INFNO = "3201"
    PERSON = False
    data: TotalsToReconcile


class DetailRow(Message):
    """3202 `data.detail[]`: one settlement as the institution recorded it."""

    setl_id: Id
    mdtrt_id: Id
    psn_no: Id
    medfee_sumamt: Yuan
    fund_pay_sumamt: Yuan
    acct_pay: Yuan
    refd_setl_flag: Annotated[str, StringConstraints(pattern=r"^[01]$")] = "0"


class DetailsToReconcile(Message):
    """3202 `data`: the period's totals and its settlements (or a file uploaded with 9101)."""

    setl_optins: Admdvs
    file_qury_no: OptText = ""
    stmt_begndate: WireDate
    stmt_enddate: WireDate
    medfee_sumamt: Yuan
    fund_pay_sumamt: Yuan
    cash_payamt: Yuan
    fixmedins_setl_cnt: int
    detail: list[DetailRow] = []


class ReconcileDetailsRequest(Request[ReconcileAnswer]):
    """3202 detail reconciliation (对明细账)."""

    INFNO = "3202"
    PERSON = False
    data: DetailsToReconcile


class PeriodQuery(Message):
    """5201/5205 `data`: a person's visits, optionally in a period."""

    psn_no: Id
    begntime: OptText = ""
    endtime: OptText = ""


class VisitRow(Answer):
    """`mdtrtinfo[]`: one visit."""

    mdtrt_id: Id
    psn_no: Id
    med_type: str = ""


class VisitsAnswer(Answer):
    """5201/5205 output."""

    mdtrtinfo: list[VisitRow]


class VisitsQueryRequest(Request[VisitsAnswer]):
    """5201 visits (就诊信息查询)."""

    INFNO = "5201"
    READ_ONLY = True
    data: PeriodQuery


class ChronicVisitsQueryRequest(VisitsQueryRequest):
    """5205 chronic-disease medication visits (慢特病用药记录查询)."""

    INFNO = "5205"


class SettlementQuery(Message):
    """5203/5204 `data`: by settlement or by visit (one of the two)."""

    psn_no: Id
    setl_id: OptText = ""
    mdtrt_id: OptText = ""


class SettlementRow(Answer):
    """`setlinfo[]` of 5203: one settlement record."""

    setl_id: Id
    mdtrt_id: Id
    psn_no: Id
    medfee_sumamt: Yuan
    fund_pay_sumamt: Yuan
    psn_part_amt: Yuan | None = None
    acct_pay: Yuan
    psn_cash_pay: Yuan


class SettlementsAnswer(Answer):
    """5203 output: the settlements found (a platform that answers one `setlinfo` object, with
    its `setldetail`, reads as a list of one)."""

    setlinfo: list[SettlementRow]

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("setlinfo"), dict):
            return {**data, "setlinfo": [data["setlinfo"]]}
        return data


class SettlementQueryRequest(Request[SettlementsAnswer]):
    """5203 settlement information (结算信息查询)."""

    INFNO = "5203"
    READ_ONLY = True
    data: SettlementQuery


class FeeRow(Answer):
    """`feedetail[]` of 5204: one stored fee line."""

    feedetl_sn: Id
    mdtrt_id: Id


class FeeLinesAnswer(Answer):
    """5204 output."""

    feedetail: list[FeeRow]


class FeeLinesQueryRequest(Request[FeeLinesAnswer]):
    """5204 fee details (费用明细查询)."""

    INFNO = "5204"
    READ_ONLY = True
    data: SettlementQuery


class SettlementListQuery(SettlementQuery):
    """5261 `data`: one settlement or visit, or every settlement between begntime and endtime."""

    begntime: OptText = ""
    endtime: OptText = ""


class SettlementListRequest(Request[SettlementsAnswer]):
    """5261 settlement list (结算信息列表查询), at the sender's institution only."""

    INFNO = "5261"
    READ_ONLY = True
    data: SettlementListQuery


class FeeCategoryTotal(Answer):
    """`feesttinfo[]`: one charge category's totals."""

    med_chrgitm_type: str
    item_sumamt: Yuan
    fulamt_ownpay_amt: Yuan | None = None
    overlmt_selfpay: Yuan | None = None
    preselfpay_amt: Yuan | None = None


class SettlementTotalsAnswer(Answer):
    """5262 output: one settlement and its fee-category totals."""

    setlinfo: SettlementRow
    feesttinfo: list[FeeCategoryTotal] = []


class SettlementTotalsRequest(Request[SettlementTotalsAnswer]):
    """5262 settlement with fee-category totals (结算信息及费用分类汇总查询)."""

    INFNO = "5262"
    READ_ONLY = True
    data: SettlementQuery


class AccumulationQuery(Message):
    """5206 `data`."""

    psn_no: Id
    cum_ym: OptText = ""


class AccumulationsAnswer(Answer):
    """5206 output: the medical year's accumulators."""

    year: str | int
    accumulators: dict[str, object]


class AccumulationsQueryRequest(Request[AccumulationsAnswer]):
    """5206 accumulations (人员累计信息查询)."""

    INFNO = "5206"
    READ_ONLY = True
    data: AccumulationQuery
