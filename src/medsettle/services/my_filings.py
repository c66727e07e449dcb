"""Filing (备案) by the insured person in the app: their own filings and those of family members
who consented (代办). The rules and the storing are services/filings.py, as for an operator;
this module decides whose filing it is and records the proxy: a filing made for a family member
is in the member's name and names the agent, the relationship and the consent (domain.md §3).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from medsettle.core.errors import InvalidInput, NotFound
from medsettle.core.policy import PolicyBook
from medsettle.services import filings
from medsettle.services.person_scope import active_link, may_act_for, subject, viewed
from medsettle.services.ports import UnitOfWork

#: What the app's filing form may carry (the rest is decided here, not by the person).
FIELDS = ("category", "destination", "start", "commitment", "materials", "for",
          "after_the_fact", "admission_date", "discharge_settled")


def of_person(tx: UnitOfWork, me: str, of: str | None) -> list[dict[str, Any]]:
    """The filings of `me` or of a consenting family member, newest first (a logged view)."""
    who = subject(tx, me, of)
    viewed(me, who.psn_no, "filings")
    return filings.of_person(tx, who.psn_no)


def _request(tx: UnitOfWork, me: str, doc: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(doc) - set(FIELDS))
    if unknown:
        key = str(unknown[0])
        named = key if key.isidentifier() and len(key) <= 40 else "body"
        raise InvalidInput(named, f"{key[:40]!r} is not a field of the filing form; expected "
                                  f"one of {', '.join(FIELDS)}")
    of = doc.get("for")
    if of is not None and not isinstance(of, str):
        raise InvalidInput("for", "must be a person number")
    who = subject(tx, me, of)
    request = {k: v for k, v in doc.items() if k in ("category", "destination", "start",
                                                     "commitment", "materials")}
    request |= {"psn_no": who.psn_no, "channel": "app"}
    if not request.get("start"):
        request.pop("start", None)
    if who.psn_no != me:
        link = active_link(tx, me, who.psn_no)
        request["proxy"] = {"agent_psn_no": me, "relationship": link.relationship,
                            "consent_recorded": True, "face_verified": True}
    return request


def file(tx: UnitOfWork, book: PolicyBook, me: str, doc: Mapping[str, Any],
         on: date) -> dict[str, Any]:
    """File in advance, or after the fact (补办) with `after_the_fact` and the admission date."""
    request = _request(tx, me, doc)
    after = doc.get("after_the_fact", False)
    if not isinstance(after, bool):
        raise InvalidInput("after_the_fact", "must be true or false")
    if not after:
        return filings.create(tx, book, request, on)
    request |= {"admission_date": doc.get("admission_date"),
                "discharge_settled": doc.get("discharge_settled", False)}
    return filings.create_post_hoc(tx, book, request, on)


def own_filing(tx: UnitOfWork, me: str, filing_no: str) -> Any:
    """A filing of `me` or of a consenting family member (NotFound for anyone else's)."""
    row = tx.one("filings", filing_no=filing_no)
    if row is None or not may_act_for(tx, me, row.psn_no):
        raise NotFound(f"you have no filing {filing_no}")
    return row


def change(tx: UnitOfWork, book: PolicyBook, me: str, filing_no: str, destination: object,
           on: date) -> dict[str, Any]:
    """Move one's filing to a new destination."""
    own_filing(tx, me, filing_no)
    return filings.change(tx, book, filing_no, destination, on)


def cancel(tx: UnitOfWork, book: PolicyBook, me: str, filing_no: str, on: date) -> dict[str, Any]:
    """Cancel one's filing."""
    own_filing(tx, me, filing_no)
    return filings.cancel(tx, book, filing_no, on)
