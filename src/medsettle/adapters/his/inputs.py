"""Transaction inputs: one parser per infno, each returning a frozen dataclass of typed values.

Amounts are integer fen, quantities and prices `Decimal`, times `datetime`, dates `date`; codes
are validated; blank optional fields ("", null, "null") are None. Errors are `InvalidInput` whose
`field` is the full path, e.g. `input.feedetail[2].cnt`. The parsers live in `inputs_visit`,
`inputs_fees`, `inputs_settle` and `inputs_other`; this module re-exports them and dispatches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from medsettle.adapters.his.inputs_common import Credential, Diagnosis
from medsettle.adapters.his.inputs_fees import (
    CancelFees,
    FeeLine,
    FeeUpload,
    parse_cancel_fee_batch,
    parse_cancel_fee_lines,
    parse_fee_upload,
    parse_inpatient_fee_upload,
)
from medsettle.adapters.his.inputs_other import (
    REVERSIBLE_INFNOS,
    AccumulationQuery,
    PeriodQuery,
    ReconcileDetails,
    ReconcileTotals,
    Referral,
    Reversal,
    RevokeReferral,
    SettlementQuery,
    parse_accumulation_query,
    parse_period_query,
    parse_reconcile_details,
    parse_reconcile_totals,
    parse_referral,
    parse_reversal,
    parse_revoke_referral,
    parse_settlement_query,
)
from medsettle.adapters.his.inputs_settle import (
    CancelSettlement,
    Settle,
    parse_cancel_settlement,
    parse_inpatient_settle,
    parse_settle,
)
from medsettle.adapters.his.inputs_visit import (
    Admission,
    AdmissionChange,
    Agent,
    CancelRegister,
    Discharge,
    PersonQuery,
    Register,
    SignIn,
    VisitInfo,
    VisitRef,
    parse_admission,
    parse_admission_change,
    parse_cancel_register,
    parse_discharge,
    parse_person_query,
    parse_register,
    parse_sign_in,
    parse_visit_info,
    parse_visit_ref,
)
from medsettle.core.errors import InvalidInput

TransactionInput = (
    SignIn | PersonQuery | Register | CancelRegister | VisitInfo | FeeUpload | CancelFees
    | Settle | CancelSettlement | Admission | Discharge | AdmissionChange | VisitRef | Referral
    | RevokeReferral | Reversal | ReconcileTotals | ReconcileDetails | PeriodQuery
    | SettlementQuery | AccumulationQuery
)

#: infno → parser of its `input`.
PARSERS: Mapping[str, Callable[[dict[str, Any]], TransactionInput]] = {
    "9001": parse_sign_in,
    "1101": parse_person_query,
    "2201": parse_register,
    "2202": parse_cancel_register,
    "2203": parse_visit_info,
    "2204": parse_fee_upload,
    "2205": parse_cancel_fee_batch,
    "2206": parse_settle,
    "2207": parse_settle,
    "2208": parse_cancel_settlement,
    "2301": parse_inpatient_fee_upload,
    "2302": parse_cancel_fee_lines,
    "2303": parse_inpatient_settle,
    "2304": parse_inpatient_settle,
    "2305": parse_cancel_settlement,
    "2401": parse_admission,
    "2402": parse_discharge,
    "2403": parse_admission_change,
    "2404": parse_visit_ref,
    "2405": parse_visit_ref,
    "2501": parse_referral,
    "2502": parse_revoke_referral,
    "2601": parse_reversal,
    "3201": parse_reconcile_totals,
    "3202": parse_reconcile_details,
    "5201": parse_period_query,
    "5203": parse_settlement_query,
    "5204": parse_settlement_query,
    "5205": parse_period_query,
    "5206": parse_accumulation_query,
}


def parse_input(infno: str, input: dict[str, Any]) -> TransactionInput:
    """Parse the envelope's `input` with the parser of `infno`."""
    parser = PARSERS.get(infno)
    if parser is None:
        raise InvalidInput("infno", f"unknown transaction {infno!r}: no input parser")
    return parser(input)


__all__ = [
    "PARSERS", "REVERSIBLE_INFNOS", "AccumulationQuery", "Admission", "AdmissionChange", "Agent",
    "CancelFees", "CancelRegister", "CancelSettlement", "Credential", "Diagnosis", "Discharge",
    "FeeLine", "FeeUpload", "PeriodQuery", "PersonQuery", "ReconcileDetails", "ReconcileTotals",
    "Referral", "Register", "Reversal", "RevokeReferral", "Settle", "SettlementQuery", "SignIn",
    "TransactionInput", "VisitInfo", "VisitRef", "parse_accumulation_query", "parse_admission",
    "parse_admission_change", "parse_cancel_fee_batch", "parse_cancel_fee_lines",
    "parse_cancel_register", "parse_cancel_settlement", "parse_discharge", "parse_fee_upload",
    "parse_inpatient_fee_upload", "parse_inpatient_settle", "parse_input",
    "parse_period_query", "parse_person_query", "parse_reconcile_details",
    "parse_reconcile_totals", "parse_referral", "parse_register", "parse_reversal",
    "parse_revoke_referral", "parse_settle", "parse_settlement_query", "parse_sign_in",
    "parse_visit_info", "parse_visit_ref",
]
