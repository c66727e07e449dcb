"""Whose data a signed-in insured person may see and act on: their own, and that of family
members who consented to their filing for them (亲情账户, 代办). Every view of personal data is
logged (`viewed`), with both persons as pseudonyms (core/privacy.py), never their numbers.

A link is asked by the agent (naming the member's ID number and name, which must match a person
insured here), and becomes active only when the member, signed in themselves, consents; either
may end it. The member's own sign-in with a one-time code stands in for the face recognition of
the national app (demo-grade: recorded as `face_verified` on the filings made under the link).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from medsettle.core.errors import Forbidden, InvalidInput, NotFound, StateConflict
from medsettle.core.privacy import mask_id, mask_name, pseudonym
from medsettle.services.person_auth import checked_certno
from medsettle.services.ports import UnitOfWork

logger = logging.getLogger("medsettle.access")
RELATIONSHIPS = ("spouse", "parent", "child", "sibling", "grandparent", "grandchild", "other")
MAX_LINKS = 10


def viewed(viewer: str, subject: str, what: str) -> None:
    """Log that `viewer` saw `what` of `subject`'s personal data (persons as pseudonyms)."""
    logger.info("personal data viewed", extra={"viewer": pseudonym(viewer),
                                               "subject": pseudonym(subject), "what": what})


def person(tx: UnitOfWork, psn_no: str) -> Any:
    """A person insured here (NotFound otherwise)."""
    row = tx.one("persons", psn_no=psn_no)
    if row is None:
        raise NotFound(f"person {psn_no} is not insured here")
    return row


def active_link(tx: UnitOfWork, agent: str, member: str) -> Any:
    """The consented link by which `agent` acts for `member`, or None."""
    for row in tx.rows("family_links", agent_psn_no=agent, member_psn_no=member):
        if row.status == "active":
            return row
    return None


def checked_for(value: object) -> str | None:
    """The `for` of a JSON form: a person number, or None for oneself; anything else (an
    object, a list, a number) is refused naming `for`, never looked up."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput("for", "must be a person number")
    return value


def subject(tx: UnitOfWork, me: str, of: str | None) -> Any:
    """The person whose data `me` asks for: themselves (`of` empty), or a family member who
    consented; Forbidden for anyone else (saying nothing about them)."""
    if not of or of == me:
        return person(tx, me)
    if active_link(tx, me, of) is None:
        raise Forbidden("you may see and act only for yourself and family members who "
                        "consented (亲情账户)")
    return person(tx, of)


def may_act_for(tx: UnitOfWork, me: str, psn_no: str) -> bool:
    """Whether `me` may see and act on `psn_no`'s data."""
    return psn_no == me or active_link(tx, me, psn_no) is not None


def summary(row: Any) -> dict[str, Any]:
    """A person as the app shows them where the full values are not needed (masked)."""
    return {"psn_no": row.psn_no, "name": mask_name(row.psn_name), "certno": mask_id(row.certno),
            "insu_admdvs": row.insu_admdvs, "insutype": row.insutype, "psn_type": row.psn_type}


def _link_view(tx: UnitOfWork, row: Any, me: str) -> dict[str, Any]:
    """A link as one side sees it. The agent learns nothing of the member beyond what they
    typed (masked) until the member consents: not their person number, scheme or type."""
    agent = row.agent_psn_no == me
    other = row.member_psn_no if agent else row.agent_psn_no
    found = tx.one("persons", psn_no=other)
    person: dict[str, Any] = {"psn_no": other} if found is None else summary(found)
    if agent and row.status != "active" and found is not None:
        person = {"name": person["name"], "certno": person["certno"]}
    return {"id": row.id, "relationship": row.relationship, "status": row.status,
            "i_am": "agent" if agent else "member", "person": person,
            "asked_at": row.asked_at, "decided_at": row.decided_at}


def links(tx: UnitOfWork, me: str) -> list[dict[str, Any]]:
    """Links where `me` is the agent or the member, newest first."""
    rows = tx.rows("family_links", agent_psn_no=me) + tx.rows("family_links", member_psn_no=me)
    return [_link_view(tx, r, me) for r in sorted(rows, key=lambda r: r.id, reverse=True)]


def ask(tx: UnitOfWork, me: str, doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Ask to file for a family member insured here; active once they consent."""
    certno = checked_certno(doc.get("certno"))
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name", "type the family member's name as on their ID card")
    relationship = doc.get("relationship")
    if relationship not in RELATIONSHIPS:
        raise InvalidInput("relationship", f"must be one of {', '.join(RELATIONSHIPS)}")
    member = tx.one("persons", certno=certno)
    if member is None or member.psn_name != name.strip():
        raise NotFound("no person insured here has this ID number and name", field="certno")
    if member.psn_no == me:
        raise InvalidInput("certno", "is your own ID number")
    tx.lock_person(me)  # one ask of an agent at a time: the checks below see the one before
    mine = tx.rows("family_links", agent_psn_no=me)
    if any(r.member_psn_no == member.psn_no and r.status in ("asked", "active") for r in mine):
        raise StateConflict("you have already asked to act for this person")
    if len([r for r in mine if r.status in ("asked", "active")]) >= MAX_LINKS:
        raise StateConflict(f"at most {MAX_LINKS} family members")
    tx.add("family_links", {"agent_psn_no": me, "member_psn_no": member.psn_no,
                            "relationship": relationship, "status": "asked", "asked_at": now})
    row = max(tx.rows("family_links", agent_psn_no=me), key=lambda r: r.id)
    return _link_view(tx, row, me)


def decide(tx: UnitOfWork, me: str, link_id: int, action: str, now: datetime) -> dict[str, Any]:
    """The member consents to or refuses a link asked of them; either side may end it. The
    link is changed only if it still has the status read (StateConflict otherwise)."""
    row = tx.one("family_links", id=link_id)
    if row is None or me not in (row.agent_psn_no, row.member_psn_no):
        raise NotFound(f"no family link {link_id} of yours")
    if action in ("consent", "refuse"):
        if row.member_psn_no != me:
            raise Forbidden("only the family member themselves may consent or refuse")
        if row.status != "asked":
            raise StateConflict(f"the link is {row.status}")
        status = "active" if action == "consent" else "refused"
    elif action == "end":
        if row.status not in ("asked", "active"):
            raise StateConflict(f"the link is already {row.status}")
        status = "ended"
    else:
        raise InvalidInput("action", "must be consent, refuse or end")
    if tx.change("family_links", {"id": link_id, "status": row.status}, status=status,
                 decided_at=now) != 1:
        raise StateConflict(f"the link is no longer {row.status}: it changed meanwhile; "
                            "reload it and try again", "status")
    return _link_view(tx, tx.one("family_links", id=link_id), me)
