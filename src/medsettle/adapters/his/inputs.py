"""Transaction inputs: one parser per infno, each returning a frozen dataclass of typed values.

Amounts are integer fen, quantities and prices `Decimal`, times `datetime`, dates `date`; codes
are validated; blank optional fields ("", null, "null") are None. Errors are `InvalidInput` whose
`field` is the full path, e.g. `input.feedetail[2].cnt`. The parsers live in `inputs_visit`,
`inputs_fees`, `inputs_settle` and `inputs_other`; this module re-exports them and dispatches.
"""

from __future__ import annotations

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
    AccumulationQuery,
    PeriodQuery,
    ReconcileDetails,
    ReconcileTotals,
    Referral,
    Reversal,
    RevokeReferral,
    SettlementListQuery,
    SettlementQuery,
    parse_accumulation_query,
    parse_period_query,
    parse_reconcile_details,
    parse_reconcile_totals,
    parse_referral,
    parse_reversal,
    parse_revoke_referral,
    parse_settlement_list_query,
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
    SignOut,
    VisitInfo,
    VisitRef,
    parse_admission,
    parse_admission_change,
    parse_cancel_register,
    parse_discharge,
    parse_person_query,
    parse_register,
    parse_sign_in,
    parse_sign_out,
    parse_visit_info,
    parse_visit_ref,
)

TransactionInput = (
    SignIn | SignOut | PersonQuery | Register | CancelRegister | VisitInfo | FeeUpload | CancelFees
    | Settle | CancelSettlement | Admission | Discharge | AdmissionChange | VisitRef | Referral
    | RevokeReferral | Reversal | ReconcileTotals | ReconcileDetails | PeriodQuery
    | SettlementQuery | AccumulationQuery
)

__all__ = [
    "AccumulationQuery", "Admission", "AdmissionChange", "Agent",
    "CancelFees", "CancelRegister", "CancelSettlement", "Credential", "Diagnosis", "Discharge",
    "FeeLine", "FeeUpload", "PeriodQuery", "PersonQuery", "ReconcileDetails", "ReconcileTotals",
    "Referral", "Register", "Reversal", "RevokeReferral", "Settle", "SettlementListQuery",
    "SettlementQuery", "SignIn", "SignOut",
    "TransactionInput", "VisitInfo", "VisitRef", "parse_accumulation_query", "parse_admission",
    "parse_admission_change", "parse_cancel_fee_batch", "parse_cancel_fee_lines",
    "parse_cancel_register", "parse_cancel_settlement", "parse_discharge", "parse_fee_upload",
    "parse_inpatient_fee_upload", "parse_inpatient_settle",
    "parse_period_query", "parse_person_query", "parse_reconcile_details",
    "parse_reconcile_totals", "parse_referral", "parse_register", "parse_reversal",
    "parse_revoke_referral", "parse_settle", "parse_settlement_list_query",
    "parse_settlement_query", "parse_sign_in", "parse_sign_out",
    "parse_visit_info", "parse_visit_ref",
]
