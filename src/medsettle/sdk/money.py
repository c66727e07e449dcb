"""Fees, settlement, cancel, reversal and referral: 2204–2208, 2301–2305, 2501, 2502, 2601.

Amounts are `Yuan` (exact decimals, sent as "281.00"); `SetlInfo.balance_errors()` checks the
balance rules every settlement answer must keep (interface.md §7).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import StringConstraints

from medsettle.sdk.base import Request
from medsettle.sdk.types import (
    Answer,
    Count,
    Flag,
    Id,
    Message,
    OptText,
    Price,
    Ratio,
    WireDate,
    WireTime,
    Yuan,
)
from medsettle.sdk.visits import CertType, Insutype, MedType, Text30, Text50, Text100

# 2204/2301 fee details ----------------------------------------------------------------------


class FeeDetail(Message):
    """`feedetail[]`: one fee line; `det_item_fee_sumamt` must equal `pric × cnt`."""

    feedetl_sn: Id
    mdtrt_id: Id
    psn_no: Id
    chrg_bchno: Id
    dise_codg: OptText = ""
    rxno: OptText = ""
    rx_circ_flag: Flag = "0"
    fee_ocur_time: WireTime
    med_list_codg: Annotated[str, StringConstraints(min_length=1, max_length=50)]
    medins_list_codg: Annotated[str, StringConstraints(min_length=1, max_length=150)]
    det_item_fee_sumamt: Yuan
    cnt: Count
    pric: Price
    bilg_dept_codg: Text30
    bilg_dept_name: Text100
    bilg_dr_codg: Text30
    bilg_dr_name: Text50
    hosp_appr_flag: Annotated[str, StringConstraints(pattern=r"^[0-2]$")] = "1"
    med_list_name: OptText = ""


class FeeResult(Answer):
    """`result[]`: a fee line as the treating area's catalogue classifies it."""

    feedetl_sn: Id
    det_item_fee_sumamt: Yuan
    cnt: Count | None = None
    pric: Price | None = None
    pric_uplmt_amt: Yuan | None = None
    selfpay_prop: Ratio | None = None
    fulamt_ownpay_amt: Yuan
    overlmt_amt: Yuan
    preselfpay_amt: Yuan
    inscp_scp_amt: Yuan
    chrgitm_lv: str = ""
    med_chrgitm_type: str = ""
    memo: str | None = ""


class FeesAnswer(Answer):
    """2204 and 2301 output."""

    result: list[FeeResult]


class FeeUploadRequest(Request[FeesAnswer]):
    """2204 outpatient fee details (门诊费用明细上传)."""

    INFNO = "2204"
    REVERSIBLE = True
    feedetail: list[FeeDetail]


class InpatientFeeUploadRequest(FeeUploadRequest):
    """2301 inpatient fee details (住院费用明细上传)."""

    INFNO = "2301"


class FeeBatch(Message):
    """2205 `data`: a charge batch, or "0000" for every unsettled line."""

    mdtrt_id: Id
    chrg_bchno: Id
    psn_no: Id


class FeeLineRef(Message):
    """2302 `data`: one fee line, or "0000" for every unsettled line."""

    feedetl_sn: Id
    mdtrt_id: Id
    psn_no: Id


class CancelledAnswer(Answer):
    """2205 and 2302 output: how many lines were cancelled."""

    cancelled: int


class CancelFeeBatchRequest(Request[CancelledAnswer]):
    """2205 cancel outpatient fee details (门诊费用明细撤销)."""

    INFNO = "2205"
    REVERSIBLE = True
    data: FeeBatch


class CancelInpatientFeesRequest(Request[CancelledAnswer]):
    """2302 cancel inpatient fee details (住院费用明细撤销)."""

    INFNO = "2302"
    REVERSIBLE = True
    data: FeeLineRef


# 2206/2207/2303/2304 settlement ----------------------------------------------------------

class Settlement(Message):
    """`data` of 2206/2207 (and, with `mid_setl_flag`, 2303/2304)."""

    psn_no: Id
    mdtrt_cert_type: CertType
    mdtrt_cert_no: OptText = ""
    card_sn: OptText = ""
    med_type: MedType
    medfee_sumamt: Yuan
    psn_setlway: Annotated[str, StringConstraints(pattern=r"^0[12]$")] = "01"
    mdtrt_id: Id
    chrg_bchno: OptText = "0000"
    insutype: Insutype
    acct_used_flag: Flag = "0"
    invono: OptText = ""
    mid_setl_flag: OptText = ""
    insuplc_admdvs: OptText = ""
    mdtrtarea_admvs: OptText = ""
    psn_cert_type: OptText = ""
    certno: OptText = ""
    psn_name: OptText = ""


class SetlInfo(Answer):
    """`setlinfo`: the settlement's amounts (yuan) and identity."""

    mdtrt_id: Id
    setl_id: str | None = None
    psn_no: Id
    insutype: str = ""
    med_type: str = ""
    setl_time: WireTime | None = None
    medfee_sumamt: Yuan
    fulamt_ownpay_amt: Yuan
    overlmt_selfpay: Yuan
    preselfpay_amt: Yuan
    inscp_scp_amt: Yuan
    act_pay_dedc: Yuan | None = None
    hifp_pay: Yuan
    cvlserv_pay: Yuan = Decimal("0.00")
    hifes_pay: Yuan = Decimal("0.00")
    hifmi_pay: Yuan = Decimal("0.00")
    hifob_pay: Yuan = Decimal("0.00")
    maf_pay: Yuan = Decimal("0.00")
    oth_pay: Yuan = Decimal("0.00")
    fund_pay_sumamt: Yuan
    psn_part_amt: Yuan
    acct_pay: Yuan
    psn_cash_pay: Yuan
    hosp_part_amt: Yuan = Decimal("0.00")
    balc: Yuan | None = None
    medins_setl_id: str = ""
    clr_optins: str = ""
    clr_way: str = ""
    clr_type: str = ""

    def balance_errors(self) -> list[tuple[str, str]]:
        """(field, rule) for each balance rule of interface.md §7 this settlement breaks."""
        found = []
        funds = (self.hifp_pay + self.cvlserv_pay + self.hifes_pay + self.hifmi_pay
                 + self.hifob_pay + self.maf_pay + self.oth_pay)
        if self.medfee_sumamt != self.fund_pay_sumamt + self.psn_part_amt + self.hosp_part_amt:
            found.append(("medfee_sumamt", "= fund_pay_sumamt + psn_part_amt + hosp_part_amt"))
        if self.fund_pay_sumamt != funds:
            found.append(("fund_pay_sumamt", "= hifp_pay + cvlserv_pay + hifes_pay + hifmi_pay"
                                             " + hifob_pay + maf_pay + oth_pay"))
        if self.psn_part_amt != self.acct_pay + self.psn_cash_pay:
            found.append(("psn_part_amt", "= acct_pay + psn_cash_pay"))
        if self.inscp_scp_amt != (self.medfee_sumamt - self.fulamt_ownpay_amt
                                  - self.overlmt_selfpay - self.preselfpay_amt):
            found.append(("inscp_scp_amt", "= medfee_sumamt - fulamt_ownpay_amt - "
                                           "overlmt_selfpay - preselfpay_amt"))
        return found


class SetlDetail(Answer):
    """`setldetail[]`: what one fund paid."""

    fund_pay_type: str
    fund_payamt: Yuan
    inscp_scp_amt: Yuan | None = None
    fund_pay_type_name: str = ""


class SettlementAnswer(Answer):
    """2206/2207, 2303/2304, 2208/2305 output."""

    setlinfo: SetlInfo
    setldetail: list[SetlDetail] = []

    def balance_errors(self) -> list[tuple[str, str]]:
        """The broken balance rules, including `sum(setldetail.fund_payamt) = fund_pay_sumamt`."""
        found = self.setlinfo.balance_errors()
        paid = sum((d.fund_payamt for d in self.setldetail), Decimal("0.00"))
        if self.setldetail and paid != self.setlinfo.fund_pay_sumamt:
            found.append(("setldetail[].fund_payamt", "sums to fund_pay_sumamt"))
        return found


class PreSettleRequest(Request[SettlementAnswer]):
    """2206 outpatient pre-settlement (门诊预结算): nothing is kept."""

    INFNO = "2206"
    READ_ONLY = True
    data: Settlement


class SettleRequest(Request[SettlementAnswer]):
    """2207 outpatient settlement (门诊结算)."""

    INFNO = "2207"
    REVERSIBLE = True
    data: Settlement


class InpatientPreSettleRequest(PreSettleRequest):
    """2303 inpatient pre-settlement (住院预结算)."""

    INFNO = "2303"


class InpatientSettleRequest(SettleRequest):
    """2304 inpatient settlement (住院结算)."""

    INFNO = "2304"


class SettlementRef(Message):
    """`data` of 2208 and 2305: the settlement to cancel."""

    setl_id: Id
    mdtrt_id: Id
    psn_no: Id


class CancelSettleRequest(Request[SettlementAnswer]):
    """2208 cancel an outpatient settlement (门诊结算撤销): the answer's amounts are negated."""

    INFNO = "2208"
    REVERSIBLE = True
    data: SettlementRef


class CancelInpatientSettleRequest(CancelSettleRequest):
    """2305 cancel an inpatient settlement (住院结算撤销)."""

    INFNO = "2305"


# 2601 reversal, 2501/2502 referral -------------------------------------------------------

class ReversalData(Message):
    """2601 `data`: the message to undo, by its msgid and infno."""

    psn_no: Id
    omsgid: Id
    oinfno: Annotated[str, StringConstraints(pattern=r"^\d{4}[A-Z]?$")]


class ReversalAnswer(Answer):
    """2601 output: the message undone and a Chinese `memo` (已冲正 when it was undone, 无需冲正
    when there was nothing (more) to undo)."""

    omsgid: str = ""
    memo: str = ""

    @property
    def reversed(self) -> bool:
        """Whether this 2601 undid the message (its memo says 已冲正)."""
        return self.memo.startswith("已冲正")


class ReversalRequest(Request[ReversalAnswer]):
    """2601 reversal (冲正交易)."""

    INFNO = "2601"
    data: ReversalData


class ReferralFiling(Message):
    """2501 `refmedin`: a referral filing (转院备案)."""

    psn_no: Id
    insutype: Insutype
    diag_code: Text30
    diag_name: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    reflin_medins_no: Annotated[str, StringConstraints(min_length=1, max_length=30)]
    reflin_medins_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    mdtrtarea_admdvs: Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
    hosp_agre_refl_flag: Flag
    refl_type: Annotated[str, StringConstraints(min_length=1, max_length=3)]
    refl_date: WireDate
    begndate: WireDate
    enddate: WireDate | None = None
    refl_rea: OptText = ""
    tel: OptText = ""


class FilingAnswer(Answer):
    """2501/2502 output: the filing's serial number."""

    trt_dcla_detl_sn: str
    revoked: bool | None = None


class ReferralRequest(Request[FilingAnswer]):
    """2501 referral filing (转院备案)."""

    INFNO = "2501"
    REVERSIBLE = True
    refmedin: ReferralFiling


class RevokeFiling(Message):
    """2502 `data`."""

    psn_no: Id
    trt_dcla_detl_sn: Id
    memo: OptText = ""


class RevokeReferralRequest(Request[FilingAnswer]):
    """2502 revoke a referral filing (转院备案撤销)."""

    INFNO = "2502"
    REVERSIBLE = True
    data: RevokeFiling

