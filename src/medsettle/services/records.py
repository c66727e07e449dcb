"""Conversions between database rows and core values (filings, fee lines)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from medsettle.core.filing import (
    Filing,
    FilingCategory,
    FilingChannel,
    FilingRoute,
    FilingStatus,
    ProxyInfo,
)
from medsettle.core.lines import FeeLine


def filing_from_row(row: Mapping[str, Any]) -> Filing:
    """A stored filing as the core's value."""
    proxy = row["proxy"]
    return Filing(
        filing_no=row["filing_no"], psn_no=row["psn_no"], insu_admdvs=row["insu_admdvs"],
        category=FilingCategory(row["category"]), destination=row["destination"],
        valid_from=row["valid_from"], valid_until=row["valid_until"],
        status=FilingStatus(row["status"]), route=FilingRoute(row["route"]),
        channel=FilingChannel(row["channel"]), applied_on=row["applied_on"],
        decided_on=row["decided_on"], review_due=row["review_due"],
        proxy=None if proxy is None else ProxyInfo(**proxy), post_hoc=row["post_hoc"],
        reason=row["reason"] or "")


def filing_to_row(filing: Filing) -> dict[str, object]:
    """The row that stores a filing."""
    proxy = filing.proxy
    return {
        "filing_no": filing.filing_no, "psn_no": filing.psn_no,
        "insu_admdvs": filing.insu_admdvs, "category": str(filing.category),
        "destination": filing.destination, "valid_from": filing.valid_from,
        "valid_until": filing.valid_until, "status": str(filing.status),
        "route": str(filing.route), "channel": str(filing.channel),
        "applied_on": filing.applied_on, "decided_on": filing.decided_on,
        "review_due": filing.review_due,
        "proxy": None if proxy is None else {"agent_psn_no": proxy.agent_psn_no,
                                             "relationship": proxy.relationship,
                                             "consent_recorded": proxy.consent_recorded,
                                             "face_verified": proxy.face_verified},
        "post_hoc": filing.post_hoc, "reason": filing.reason,
    }


def line_payload(row: Mapping[str, Any]) -> dict[str, object]:
    """A stored, classified fee line as sent to the insured place (prices as decimal strings)."""
    return {"cls": row["cls"], "pric": row["pric"], "cnt": row["cnt"],
            "selfpay_prop": row["selfpay_prop"], "lmt_pric": row["lmt_pric"],
            "restricted_ok": row["restricted_ok"], "code": row["med_list_codg"]}


def line_from_payload(doc: Mapping[str, Any]) -> FeeLine:
    """A classified fee line received from the treating place."""
    cap = doc.get("lmt_pric")
    return FeeLine(cls=doc["cls"], price=Decimal(doc["pric"]), count=Decimal(doc["cnt"]),
                   selfpay_prop=Decimal(doc["selfpay_prop"]),
                   cap_price=None if cap is None else Decimal(cap),
                   restricted_ok=bool(doc["restricted_ok"]), code=str(doc.get("code", "")))
