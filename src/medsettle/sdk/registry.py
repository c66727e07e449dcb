"""Every transaction the SDK speaks: one line per request model (its answer model, code and retry
rule live on the class). Adding a transaction is a model pair and one line here."""

from __future__ import annotations

from typing import Any

import medsettle.sdk.audit as a
import medsettle.sdk.files as f
import medsettle.sdk.money as m
import medsettle.sdk.queries as q
import medsettle.sdk.visits as v
from medsettle.sdk.base import Request

REQUESTS: tuple[type[Request[Any]], ...] = (
    v.SignInRequest,                # 9001
    v.SignOutRequest,               # 9002
    v.PersonInfoRequest,            # 1101
    f.DrugCatalogueRequest,         # 1301
    f.HerbalCatalogueRequest,       # 1302
    f.ServiceCatalogueRequest,      # 1305
    f.MaterialCatalogueRequest,     # 1306
    v.RegisterRequest,              # 2201
    v.CancelRegisterRequest,        # 2202
    v.VisitInfoRequest,             # 2203
    m.FeeUploadRequest,             # 2204
    m.CancelFeeBatchRequest,        # 2205
    m.PreSettleRequest,             # 2206
    m.SettleRequest,                # 2207
    m.CancelSettleRequest,          # 2208
    m.InpatientFeeUploadRequest,    # 2301
    m.CancelInpatientFeesRequest,   # 2302
    m.InpatientPreSettleRequest,    # 2303
    m.InpatientSettleRequest,       # 2304
    m.CancelInpatientSettleRequest,  # 2305
    v.AdmissionRequest,             # 2401
    v.DischargeRequest,             # 2402
    v.AdmissionChangeRequest,       # 2403
    v.CancelAdmissionRequest,       # 2404
    v.CancelDischargeRequest,       # 2405
    m.ReferralRequest,              # 2501
    m.RevokeReferralRequest,        # 2502
    m.ReversalRequest,              # 2601
    a.PreEventAuditRequest,         # 3101
    a.InEventAuditRequest,          # 3103
    q.ReconcileTotalsRequest,       # 3201
    q.ReconcileDetailsRequest,      # 3202
    q.VisitsQueryRequest,           # 5201
    q.SettlementQueryRequest,       # 5203
    q.FeeLinesQueryRequest,         # 5204
    q.ChronicVisitsQueryRequest,    # 5205
    q.AccumulationsQueryRequest,    # 5206
    q.SettlementListRequest,        # 5261
    q.SettlementTotalsRequest,      # 5262
    f.UploadRequest,                # 9101
    f.DownloadRequest,              # 9102
)

#: infno → its request model.
TRANSACTIONS: dict[str, type[Request[Any]]] = {r.INFNO: r for r in REQUESTS}


def request_model(infno: str) -> type[Request[Any]]:
    """The request model of a transaction code; KeyError naming it if the SDK lacks it."""
    if infno not in TRANSACTIONS:
        raise KeyError(f"infno {infno!r} is not a transaction of the SDK")
    return TRANSACTIONS[infno]
