"""Inputs of pre-settle, settle and cancel settle: 2206–2208 and 2303–2305 (interface.md §7)."""

from __future__ import annotations

from dataclasses import dataclass

from medsettle.adapters.his.inputs_common import (
    TOTAL_MAX_FEN,
    certificate,
    credential,
    med_type,
    validate_id,
    validate_insutype,
)
from medsettle.adapters.his.reader import Node
from medsettle.core.codes import VisitType, validate_admdvs
from medsettle.core.errors import InvalidInput
from medsettle.core.money import fen_to_yuan

#: psn_setlway (dict): 01 itemized (按项目), 02 fixed amount (定额).
PSN_SETLWAYS: dict[str, str] = {"01": "按项目结算", "02": "定额结算"}

_OUTPATIENT: frozenset[VisitType] = frozenset({"outpatient", "chronic"})
_INPATIENT: frozenset[VisitType] = frozenset({"inpatient"})
_PARTS = ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt")


@dataclass(frozen=True, slots=True)
class Settle:
    """2206/2207 outpatient or 2303/2304 inpatient pre-settle and settle; amounts in fen."""

    psn_no: str
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    card_sn: str | None
    med_type: str
    visit_type: VisitType
    medfee_sumamt: int
    psn_setlway: str
    mdtrt_id: str
    chrg_bchno: str | None
    insutype: str
    acct_used: bool
    invono: str | None
    fulamt_ownpay_amt: int | None
    overlmt_selfpay: int | None
    preselfpay_amt: int | None
    inscp_scp_amt: int | None
    mid_setl: bool | None
    insuplc_admdvs: str | None
    mdtrtarea_admvs: str | None
    psn_cert_type: str | None
    certno: str | None
    psn_name: str | None


def _part(node: Node, key: str, total: int) -> int | None:
    """An optional part of the total (from 2206's answer); it cannot exceed the total."""
    part = node.opt_fen(key, limit=TOTAL_MAX_FEN)
    if part is not None and part > total:
        raise InvalidInput(node.at(key), f"¥{fen_to_yuan(part)} exceeds medfee_sumamt "
                           f"¥{fen_to_yuan(total)}")
    return part


def parse_settle(input: dict[str, object], *, inpatient: bool = False) -> Settle:
    """2206/2207 (or, with `inpatient`, 2303/2304) `{"data": {...}}`."""
    node = Node(input, "input").child("data")
    cred = credential(node, card_sn_required=False)
    code, visit = med_type(node, "med_type", _INPATIENT if inpatient else _OUTPATIENT)
    total = node.fen("medfee_sumamt", limit=TOTAL_MAX_FEN)
    parts = [_part(node, key, total) for key in _PARTS]
    psn_cert_type, certno = certificate(node)
    batch = node.opt_code("chrg_bchno", validate_id) if inpatient else node.code(
        "chrg_bchno", validate_id)
    return Settle(
        psn_no=node.code("psn_no", validate_id), mdtrt_cert_type=cred.cert_type,
        mdtrt_cert_no=cred.cert_no, card_sn=cred.card_sn, med_type=code, visit_type=visit,
        medfee_sumamt=total, psn_setlway=node.choice("psn_setlway", PSN_SETLWAYS),
        mdtrt_id=node.code("mdtrt_id", validate_id), chrg_bchno=batch,
        insutype=node.code("insutype", validate_insutype),
        acct_used=node.flag("acct_used_flag"), invono=node.opt_text("invono", maxlen=20),
        fulamt_ownpay_amt=parts[0], overlmt_selfpay=parts[1], preselfpay_amt=parts[2],
        inscp_scp_amt=parts[3], mid_setl=node.flag("mid_setl_flag") if inpatient else None,
        insuplc_admdvs=node.opt_code("insuplc_admdvs", validate_admdvs),
        mdtrtarea_admvs=node.opt_code("mdtrtarea_admvs", validate_admdvs),
        psn_cert_type=psn_cert_type, certno=certno, psn_name=node.opt_text("psn_name", maxlen=50),
    )


def parse_inpatient_settle(input: dict[str, object]) -> Settle:
    """2303/2304: the 2207 fields plus mid_setl_flag; chrg_bchno optional."""
    return parse_settle(input, inpatient=True)


@dataclass(frozen=True, slots=True)
class CancelSettlement:
    """2208 or 2305 cancel of a settlement; the answer carries the negated amounts."""

    setl_id: str
    mdtrt_id: str
    psn_no: str


def parse_cancel_settlement(input: dict[str, object]) -> CancelSettlement:
    """2208 and 2305 `{"data": {setl_id, mdtrt_id, psn_no}}`."""
    node = Node(input, "input").child("data")
    return CancelSettlement(setl_id=node.code("setl_id", validate_id),
                            mdtrt_id=node.code("mdtrt_id", validate_id),
                            psn_no=node.code("psn_no", validate_id))
