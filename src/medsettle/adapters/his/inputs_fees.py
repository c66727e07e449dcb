"""Inputs of fee-detail upload and cancel: 2204/2301 and 2205/2302 (interface.md §7)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from medsettle.adapters.his.inputs_common import (
    LINE_MAX_FEN,
    TOTAL_MAX_FEN,
    validate_id,
)
from medsettle.adapters.his.reader import Node
from medsettle.core.codes import CatalogueKind, catalogue_code_kind, validate_disease_code
from medsettle.core.errors import InvalidInput
from medsettle.core.money import fen_to_yuan, price_times_count

#: The most lines one upload may carry.
FEE_LINES_MAX = 2000
#: The largest quantity on one line.
COUNT_MAX = Decimal(100000)
#: The largest unit price, ¥10,000,000 (as the line cap).
PRICE_MAX = Decimal(10_000_000)
#: The batch or serial number that means "every unsettled line" in a cancel.
ALL = "0000"

_HOSP_APPR_FLAGS = frozenset({"0", "1", "2"})


@dataclass(frozen=True, slots=True)
class FeeLine:
    """One fee line (费用明细): a catalogue item, a quantity and a price; amounts in fen."""

    feedetl_sn: str
    mdtrt_id: str
    psn_no: str
    chrg_bchno: str | None
    fee_ocur_time: datetime
    med_list_codg: str
    catalogue_kind: CatalogueKind
    medins_list_codg: str
    med_list_name: str | None
    det_item_fee_sumamt: int
    cnt: Decimal
    pric: Decimal
    bilg_dept_codg: str
    bilg_dept_name: str
    bilg_dr_codg: str
    bilg_dr_name: str
    hosp_appr_flag: str
    rxno: str | None
    dise_codg: str | None
    init_feedetl_sn: str | None
    drord_no: str | None
    med_type: str | None


@dataclass(frozen=True, slots=True)
class FeeUpload:
    """2204 outpatient or 2301 inpatient fee upload: lines of one visit, and their total in fen."""

    mdtrt_id: str
    psn_no: str
    lines: tuple[FeeLine, ...]
    total: int


def _catalogue_code(node: Node) -> tuple[str, CatalogueKind]:
    """The national catalogue code and the catalogue its shape belongs to."""
    code = node.text("med_list_codg", maxlen=50)
    return code, catalogue_code_kind(code, node.at("med_list_codg"))


def _check_amount(node: Node, amount: int, cnt: Decimal, pric: Decimal) -> None:
    """det_item_fee_sumamt must equal R(pric × cnt × 100) within one fen."""
    expected = price_times_count(pric, cnt)
    if abs(amount - expected) > 1:
        raise InvalidInput(node.at("det_item_fee_sumamt"),
                           f"¥{fen_to_yuan(amount)} does not match pric × cnt = {pric} × {cnt}"
                           f" = ¥{fen_to_yuan(expected)}")


def fee_line(node: Node, *, batch_required: bool) -> FeeLine:
    """Read and check one `feedetail[]` line."""
    code, kind = _catalogue_code(node)
    amount = node.fen("det_item_fee_sumamt", limit=LINE_MAX_FEN)
    cnt = node.decimal("cnt", places=4, maximum=COUNT_MAX)
    pric = node.decimal("pric", places=6, maximum=PRICE_MAX)
    _check_amount(node, amount, cnt, pric)
    batch = node.code("chrg_bchno", validate_id) if batch_required else node.opt_code(
        "chrg_bchno", validate_id)
    return FeeLine(
        feedetl_sn=node.code("feedetl_sn", validate_id),
        mdtrt_id=node.code("mdtrt_id", validate_id), psn_no=node.code("psn_no", validate_id),
        chrg_bchno=batch, fee_ocur_time=node.moment("fee_ocur_time"), med_list_codg=code,
        catalogue_kind=kind, medins_list_codg=node.text("medins_list_codg", maxlen=150),
        med_list_name=node.opt_text("med_list_name", maxlen=200), det_item_fee_sumamt=amount,
        cnt=cnt, pric=pric, bilg_dept_codg=node.text("bilg_dept_codg", maxlen=30),
        bilg_dept_name=node.text("bilg_dept_name", maxlen=100),
        bilg_dr_codg=node.text("bilg_dr_codg", maxlen=30),
        bilg_dr_name=node.text("bilg_dr_name", maxlen=50),
        hosp_appr_flag=node.choice("hosp_appr_flag", _HOSP_APPR_FLAGS),
        rxno=node.opt_text("rxno", maxlen=40),
        dise_codg=node.opt_code("dise_codg", validate_disease_code),
        init_feedetl_sn=node.opt_code("init_feedetl_sn", validate_id),
        drord_no=node.opt_text("drord_no", maxlen=30), med_type=node.opt_text("med_type", maxlen=6),
    )


def _check_one_visit(nodes: list[Node], lines: list[FeeLine]) -> None:
    """Serial numbers are unique and every line belongs to the first line's visit and person."""
    seen: set[str] = set()
    first = lines[0]
    for node, line in zip(nodes, lines, strict=True):
        if line.feedetl_sn in seen:
            raise InvalidInput(node.at("feedetl_sn"),
                               f"{line.feedetl_sn!r} repeats an earlier line's serial number")
        seen.add(line.feedetl_sn)
        if line.mdtrt_id != first.mdtrt_id:
            raise InvalidInput(node.at("mdtrt_id"), f"{line.mdtrt_id!r} differs from the first "
                               f"line's {first.mdtrt_id!r}: one upload is one visit")
        if line.psn_no != first.psn_no:
            raise InvalidInput(node.at("psn_no"), f"{line.psn_no!r} differs from the first "
                               f"line's {first.psn_no!r}")


def parse_fee_upload(input: dict[str, object], *, inpatient: bool = False) -> FeeUpload:
    """2204 and 2301 `{"feedetail": [...]}`: 1–2000 lines of one visit."""
    nodes = Node(input, "input").items("feedetail", required=True, max_items=FEE_LINES_MAX)
    lines = [fee_line(node, batch_required=not inpatient) for node in nodes]
    _check_one_visit(nodes, lines)
    total = sum(line.det_item_fee_sumamt for line in lines)
    if total > TOTAL_MAX_FEN:
        raise InvalidInput("input.feedetail", f"total ¥{fen_to_yuan(total)} is absurd: above "
                           f"¥{fen_to_yuan(TOTAL_MAX_FEN)}")
    return FeeUpload(mdtrt_id=lines[0].mdtrt_id, psn_no=lines[0].psn_no, lines=tuple(lines),
                     total=total)


def parse_inpatient_fee_upload(input: dict[str, object]) -> FeeUpload:
    """2301: as 2204, with chrg_bchno optional."""
    return parse_fee_upload(input, inpatient=True)


@dataclass(frozen=True, slots=True)
class CancelFees:
    """2205 (by charge batch) or 2302 (by line serial) cancel of unsettled fee lines."""

    mdtrt_id: str
    psn_no: str
    chrg_bchno: str | None
    feedetl_sn: str | None
    everything: bool


def parse_cancel_fee_batch(input: dict[str, object]) -> CancelFees:
    """2205 `{"data": {mdtrt_id, chrg_bchno, psn_no}}`; chrg_bchno "0000" cancels every batch."""
    node = Node(input, "input").child("data")
    batch = node.code("chrg_bchno", validate_id)
    return CancelFees(mdtrt_id=node.code("mdtrt_id", validate_id),
                      psn_no=node.code("psn_no", validate_id),
                      chrg_bchno=None if batch == ALL else batch, feedetl_sn=None,
                      everything=batch == ALL)


def parse_cancel_fee_lines(input: dict[str, object]) -> CancelFees:
    """2302 `{"data": {mdtrt_id, feedetl_sn, psn_no}}`; feedetl_sn "0000" cancels every line."""
    node = Node(input, "input").child("data")
    serial = node.code("feedetl_sn", validate_id)
    return CancelFees(mdtrt_id=node.code("mdtrt_id", validate_id),
                      psn_no=node.code("psn_no", validate_id), chrg_bchno=None,
                      feedetl_sn=None if serial == ALL else serial, everything=serial == ALL)
