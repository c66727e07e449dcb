"""The insured person's money in the app, from the insured node's own records: every
settlement (cross-province and local) and its cancel, this medical year's accumulators in a
person's terms (deductible left, paid towards each cap and tier, the account balance), and
manual reimbursement (手工报销) claims. Reads are logged views (person_scope.viewed).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from medsettle.core import codes
from medsettle.core.calendar import business_date
from medsettle.core.errors import InvalidInput, NotFound
from medsettle.core.estimate import lines_for_amount
from medsettle.core.policy import ParameterSet, PolicyBook
from medsettle.core.records import Role, SettlementKind, SettlementRecord
from medsettle.core.tables import LEVELS
from medsettle.services import reimbursement as rb
from medsettle.services.console import CLASS_TEXT, FUNDS
from medsettle.services.estimates import policy_of, yuan_to_fen
from medsettle.services.person_scope import checked_for, may_act_for, subject, viewed
from medsettle.services.ports import UnitOfWork


def record_view(record: SettlementRecord) -> dict[str, Any]:
    """A settlement record as the app lists it (amounts in fen)."""
    return {"setl_id": record.settlement_id, "kind": record.kind.value,
            "status": record.status.value, "cancels": record.cancels,
            "settled_at": record.settled_at, "visit_type": record.visit_type,
            "treating_region": record.treating_region, "institution": record.institution,
            "insured_region": record.insured_region, "cross_province": record.cross_province,
            "benefit_class": record.benefit_class, "policy_id": record.policy_id,
            "medical_year": record.medical_year, "amounts": record.amounts.as_dict(),
            "balance_after": record.balance}


def settlements_of(tx: UnitOfWork, me: str, of: str | None) -> list[dict[str, Any]]:
    """Every settlement and cancel of the person at the insured place, newest first."""
    who = subject(tx, me, of)
    viewed(me, who.psn_no, "settlements")
    records = tx.settlements(Role.INSURED, person_id=who.psn_no)
    return [record_view(r) for r in reversed(records)]


def settlement(tx: UnitOfWork, me: str, setl_id: str) -> dict[str, Any]:
    """One settlement (its record at the insured place, its cancel if any, the funds in order
    and the benefit class in words); NotFound unless it is the person's or a consenting family
    member's."""
    record = tx.settlement(setl_id, Role.INSURED)
    if record is None or not may_act_for(tx, me, record.person_id):
        raise NotFound(f"you have no settlement {setl_id}")
    viewed(me, record.person_id, f"settlement {setl_id}")
    view = record_view(record)
    cancels = [r for r in tx.settlements(Role.INSURED, visit_id=record.visit_id)
               if r.kind is SettlementKind.CANCEL and r.cancels == setl_id]
    original = (tx.settlement(record.cancels, Role.INSURED) if record.cancels else None)
    view["cancelled_by"] = record_view(cancels[0]) if cancels else None
    view["original"] = record_view(original) if original is not None else None
    view["funds"] = [{"field": f, "fen": int(view["amounts"][f])} for f in FUNDS]
    view["class_text"] = CLASS_TEXT.get(record.benefit_class, record.benefit_class)
    view["person_id"] = record.person_id
    return view


def _levels(table: Any, category: str) -> dict[str, int]:
    return {level: int(table.lookup(category, level)) for level in LEVELS}


def year(tx: UnitOfWork, book: PolicyBook, me: str, of: str | None, on: date) -> dict[str, Any]:
    """This medical year in a person's terms, from the insured node's accumulators."""
    who = subject(tx, me, of)
    viewed(me, who.psn_no, "accumulators")
    policy: ParameterSet = policy_of(book, who, on)
    category = codes.category_of_psn_type(who.psn_type)
    medical_year = policy.medical_year(on)
    acc = tx.accumulators(who.psn_no, medical_year)
    deductibles = []
    for visit_type, benefit in policy.benefits.items():
        amounts = _levels(benefit.deductible.amount, category)
        if benefit.deductible.mode == "annual":
            paid = acc.get("dedc_paid", visit_type)
            left = {lv: max(0, amount - paid) for lv, amount in amounts.items()}
            deductibles.append({"visit_type": visit_type, "mode": "annual", "amount": amounts,
                                "paid": paid, "left": left})
        else:
            n = acc.get("visits", visit_type) + 1
            factors = benefit.deductible.repeat_factors
            factor = factors[min(n, len(factors)) - 1]
            nxt = {lv: int((amount * factor).to_integral_value()) for lv, amount in
                   amounts.items()}
            deductibles.append({"visit_type": visit_type, "mode": "per_visit",
                                "amount": amounts, "visits": n - 1, "next": nxt,
                                "paid": acc.get("dedc_paid", visit_type)})
    caps = []
    for group, table in policy.caps.items():
        paid = acc.get("pool_paid", group)
        cap = None if table is None else int(table.lookup(category, "L3"))
        caps.append({"group": group, "cap": cap, "paid": paid,
                     "left": None if cap is None else max(0, cap - paid)})
    tiers = []
    mine = [(n, t) for n, t in policy.tiers.items() if n != "cvlserv" or who.cvlserv]
    for name, tier in mine + [(f"maf.{k}", t) for k, t in policy.maf.items()
                              if k == who.maf_category]:
        key = name.split(".")[0]
        tiers.append({"tier": name, "base": acc.get("tiers", key, "base"),
                      "paid": acc.get("tiers", key, "paid"), "deductible": tier.deductible,
                      "cap": tier.cap})
    chronic = [{"disease": path[1], "period": path[2], "paid": value}
               for path, value in sorted(acc.values.items())
               if path[0] == "chronic_paid" and len(path) == 3 and value]
    return {"medical_year": medical_year, "policy_id": policy.id, "category": category,
            "scheme": policy.scheme, "deductibles": deductibles, "caps": caps, "tiers": tiers,
            "chronic": chronic, "account_balance": acc.get("acct_balance"),
            "has_account": policy.scheme == "employee"}


def claims_of(tx: UnitOfWork, me: str, of: str | None) -> list[dict[str, Any]]:
    """The person's manual reimbursement claims, newest first."""
    who = subject(tx, me, of)
    viewed(me, who.psn_no, "claims")
    rows = tx.rows("reimbursement_claims", psn_no=who.psn_no)
    return [rb.view(r) for r in sorted(rows, key=lambda r: r.submitted_at, reverse=True)]


def claim(tx: UnitOfWork, me: str, claim_id: str) -> dict[str, Any]:
    """One claim of the person's (NotFound for anyone else's)."""
    row = tx.one("reimbursement_claims", claim_id=claim_id)
    if row is None or not may_act_for(tx, me, row.psn_no):
        raise NotFound(f"you have no claim {claim_id}")
    viewed(me, row.psn_no, f"claim {claim_id}")
    return rb.view(row)


def claim_document(tx: UnitOfWork, me: str, doc: Mapping[str, Any],
                   today: date) -> dict[str, Any]:
    """The claim the person's form describes, as the reimbursement service reads it: where and
    when they were treated (not after `today`) and what they paid (an amount with a mix, or
    lines); the claim id is made here."""
    who = subject(tx, me, checked_for(doc.get("for")))
    treated = doc.get("treated_on")
    try:
        day = date.fromisoformat(str(treated))
    except ValueError:
        raise InvalidInput("treated_on", "type the day of treatment, YYYY-MM-DD") from None
    if day > today:
        raise InvalidInput("treated_on", f"must not be after today ({today.isoformat()}): "
                                         "claim for treatment that happened")
    lines = doc.get("lines")
    if not lines:
        bill = lines_for_amount(yuan_to_fen(doc.get("amount"), "amount"),
                                str(doc.get("mix") or "class_a"))
        lines = [{"cls": x.cls, "pric": str(x.price), "cnt": str(x.count),
                  "selfpay_prop": str(x.selfpay_prop)} for x in bill]
    return {"claim_id": "APP" + secrets.token_hex(8).upper(), "psn_no": who.psn_no,
            "treating": {"admdvs": doc.get("region"), "fixmedins_code": doc.get("institution"),
                         "level": doc.get("level")},
            "visit_type": doc.get("visit_type"), "disease": doc.get("disease") or None,
            "begntime": f"{day.isoformat()}T00:00:00", "setl_date": day.isoformat(),
            "emergency": doc.get("emergency") in (True, "on", "true"), "acct_used": False,
            "lines": lines}


def submit_claim(tx: UnitOfWork, book: PolicyBook, me: str, doc: Mapping[str, Any],
                 now: datetime) -> dict[str, Any]:
    """Claim manual reimbursement: computed by the settlement engine at once, then reviewed by
    an operator (approve → pay, or reject)."""
    claim_doc = claim_document(tx, me, doc, business_date(now))
    submitted = rb.submit_claim(tx, book, rb.parse_claim(claim_doc), now)
    return submitted
