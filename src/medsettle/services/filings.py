"""Filing (备案) at the insured place: create, review, change, cancel, 补办, proxy (domain.md §3).

Used by the province's filing API (the insured person's app and the operator console) and by
the HIS referral transactions 2501/2502. The rules are the core's (`core.filing`); this module
loads the person's standing and filings, stores the outcome and numbers new filings.

Every change of a person's filings first holds the person's row (`Tx.lock_person`, as a
settlement does) and only then reads their filings and open stays: two changes of one person's
filings (an approval and a rejection, two changes, two long-term filings filed at once) run one
after the other, and the second finds what the first wrote. A stored filing is written back only
if it still has the status it was read with (StateConflict naming `status` otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from medsettle.core import codes
from medsettle.core import filing as rules
from medsettle.core import filing_actions as actions
from medsettle.core.errors import Forbidden, InvalidInput, NotFound, StateConflict
from medsettle.core.policy import PolicyBook
from medsettle.services.exchange import (
    FileReferral,
    ReferralFiled,
    ReferralRevoked,
    RevokeReferral,
)
from medsettle.services.ports import UnitOfWork
from medsettle.services.records import filing_from_row, filing_to_row

#: How far ahead a filing may start: a year is ample for filing before a planned move or
#: stay, and keeps every date the filing's life computes from its start (validity end, holding
#: period) within the calendar (9999-12-31 plus 180 days does not exist).
MAX_START_DAYS_AHEAD = 365


def _person(tx: UnitOfWork, psn_no: str) -> Any:
    person = tx.one("persons", psn_no=psn_no)
    if person is None:
        raise NotFound(f"person {psn_no} is not insured here")
    return person


def _held_person(tx: UnitOfWork, psn_no: str) -> Any:
    """The person, held until the transaction ends: taken before any read of their filings or
    stays by every change of them, so that such changes of one person run one at a time."""
    person = tx.lock_person(psn_no)
    if person is None:
        raise NotFound(f"person {psn_no} is not insured here")
    return person


def _filing_rules(book: PolicyBook, person: Any, on: date) -> rules.FilingRules:
    scheme = codes.scheme_of_insutype(person.insutype)
    return book.find(person.insu_admdvs, scheme, on).filing


def _standing(tx: UnitOfWork, person: Any) -> rules.PersonStanding:
    open_stays = tx.rows("insured_visits", psn_no=person.psn_no, visit_type="inpatient",
                         status="open")  # the open stays only, however long the history
    return rules.PersonStanding(insurance_active=person.insurance_active,
                                commitment_barred_until=person.commitment_barred_until,
                                open_inpatient_stay=bool(open_stays))


def _existing(tx: UnitOfWork, psn_no: str) -> list[rules.Filing]:
    return [filing_from_row(r._mapping) for r in tx.rows("filings", psn_no=psn_no)]


def _seq(tx: UnitOfWork, insu_admdvs: str, on: date) -> int:
    return tx.next_serial(f"filing:{insu_admdvs}:{on.isoformat()}")


def parse_request(doc: Mapping[str, Any], insu_admdvs: str, on: date) -> rules.FilingRequest:
    """A filing application from JSON; errors name the field."""
    try:
        category = rules.FilingCategory(str(doc.get("category")))
    except ValueError:
        raise InvalidInput("category", f"must be one of "
                                       f"{[c.value for c in rules.FilingCategory]}") from None
    try:
        channel = rules.FilingChannel(doc.get("channel", "app"))
    except ValueError:
        raise InvalidInput("channel", f"must be one of "
                                      f"{[c.value for c in rules.FilingChannel]}") from None
    destination = codes.validate_admdvs(doc.get("destination"), "destination")
    start = doc.get("start", on.isoformat())
    try:
        start_date = start if isinstance(start, date) else date.fromisoformat(str(start))
    except ValueError:
        raise InvalidInput("start", f"must be a date YYYY-MM-DD, not {start!r}") from None
    latest = on + timedelta(days=MAX_START_DAYS_AHEAD)
    if start_date > latest:
        raise InvalidInput("start", f"must be at most {MAX_START_DAYS_AHEAD} days ahead, by "
                                    f"{latest.isoformat()}; file nearer the time")
    materials = doc.get("materials", [])
    if not isinstance(materials, list) or not all(isinstance(m, str) for m in materials):
        raise InvalidInput("materials", "must be a list of material names")
    proxy_doc = doc.get("proxy")
    proxy = None
    if proxy_doc is not None:
        if not isinstance(proxy_doc, Mapping):
            raise InvalidInput("proxy", "must be an object")
        proxy = rules.ProxyInfo(agent_psn_no=str(proxy_doc.get("agent_psn_no", "")),
                                relationship=str(proxy_doc.get("relationship", "")),
                                consent_recorded=proxy_doc.get("consent_recorded") is True,
                                face_verified=proxy_doc.get("face_verified") is True)
    commitment = doc.get("commitment", False)
    if not isinstance(commitment, bool):
        raise InvalidInput("commitment", "must be true or false")
    return rules.FilingRequest(psn_no=str(doc.get("psn_no")), insu_admdvs=insu_admdvs,
                               category=category, destination=destination, start=start_date,
                               channel=channel, commitment=commitment,
                               materials=tuple(materials), proxy=proxy)


def create(tx: UnitOfWork, book: PolicyBook, doc: Mapping[str, Any], on: date) -> dict[str, Any]:
    """File in advance: commitment/material-free approved at once, with materials pending."""
    person = _held_person(tx, str(doc.get("psn_no")))
    request = parse_request(doc, person.insu_admdvs, on)
    filing = actions.submit_filing(request, _filing_rules(book, person, on), _standing(tx, person),
                                 _existing(tx, person.psn_no), on,
                                 _seq(tx, person.insu_admdvs, on))
    tx.add("filings", filing_to_row(filing))
    return filing_view(filing)


def create_post_hoc(tx: UnitOfWork, book: PolicyBook, doc: Mapping[str, Any],
                    on: date) -> dict[str, Any]:
    """补办: file after admission, back-dated within the region's limits."""
    person = _held_person(tx, str(doc.get("psn_no")))
    request = parse_request(doc, person.insu_admdvs, on)
    try:
        admission = date.fromisoformat(str(doc.get("admission_date")))
    except ValueError:
        raise InvalidInput("admission_date", "must be a date YYYY-MM-DD") from None
    settled = doc.get("discharge_settled", False)
    if not isinstance(settled, bool):
        raise InvalidInput("discharge_settled", "must be true or false")
    outcome = actions.submit_post_hoc_filing(
        request, admission, _filing_rules(book, person, on), _standing(tx, person),
        _existing(tx, person.psn_no), on, _seq(tx, person.insu_admdvs, on),
        discharge_settled=settled)
    tx.add("filings", filing_to_row(outcome.filing))
    return filing_view(outcome.filing) | {"settle_directly": outcome.settle_directly,
                                           "manual_reimbursement": outcome.manual_reimbursement}


def _held_filing(tx: UnitOfWork, filing_no: str) -> tuple[Any, Any] | None:
    """(its person, held, and the filing's row read again under that lock, so it is what a
    concurrent change left, not what it replaced), or None if there is no such filing."""
    found = tx.one("filings", filing_no=filing_no)
    if found is None:
        return None
    return _held_person(tx, found.psn_no), tx.one("filings", filing_no=filing_no)


def _stored(tx: UnitOfWork, filing_no: str) -> tuple[Any, rules.Filing]:
    """A filing and its person, held (`_held_filing`)."""
    held = _held_filing(tx, filing_no)
    if held is None:
        raise NotFound(f"filing {filing_no} does not exist")
    person, row = held
    return person, filing_from_row(row._mapping)


def _save(tx: UnitOfWork, before: rules.Filing, after: rules.Filing) -> None:
    """Store `after` in place of `before`, only if the stored filing still has `before`'s
    status: otherwise StateConflict, and nothing is written."""
    read_status = filing_to_row(before)["status"]
    if tx.change("filings", {"filing_no": before.filing_no, "status": read_status},
                 **filing_to_row(after)) != 1:
        raise StateConflict(f"filing {before.filing_no} is no longer {read_status}: it changed "
                            "meanwhile; reload it and try again", "status")


def held_row(tx: UnitOfWork, filing_no: str) -> dict[str, Any] | None:
    """A filing as a plain dict, read again once its person is held: the `before` of an
    audited change of it (services/audit.run_audited), so that the audit line holds what the
    change found, not what a concurrent change has just replaced."""
    held = _held_filing(tx, filing_no)
    return None if held is None else dict(held[1]._mapping)


def decide(tx: UnitOfWork, filing_no: str, approve: bool, reason: str, on: date) -> dict[str, Any]:
    """An operator approves or rejects a filing under review."""
    _, filing = _stored(tx, filing_no)
    decided = actions.approve(filing, on) if approve else actions.reject(filing, on, reason)
    _save(tx, filing, decided)
    return filing_view(decided)


def change(tx: UnitOfWork, book: PolicyBook, filing_no: str, destination: object,
           on: date) -> dict[str, Any]:
    """Move a filing to a new destination (long-term only after the minimum holding period)."""
    person, filing = _stored(tx, filing_no)
    new_destination = codes.validate_admdvs(destination, "destination")
    old, new = actions.change_filing(filing, new_destination, _filing_rules(book, person, on),
                                   _standing(tx, person), on, _seq(tx, person.insu_admdvs, on))
    _save(tx, filing, old)
    tx.add("filings", filing_to_row(new))
    return filing_view(new) | {"supersedes": old.filing_no}


def cancel(tx: UnitOfWork, book: PolicyBook, filing_no: str, on: date) -> dict[str, Any]:
    """Cancel a filing (never during an open inpatient stay)."""
    person, filing = _stored(tx, filing_no)
    cancelled = actions.cancel_filing(filing, _filing_rules(book, person, on), _standing(tx, person),
                                    on)
    _save(tx, filing, cancelled)
    return filing_view(cancelled)


def of_person(tx: UnitOfWork, psn_no: str) -> list[dict[str, Any]]:
    """Every filing of a person, newest first."""
    _person(tx, psn_no)
    found = _existing(tx, psn_no)
    return [filing_view(f) for f in sorted(found, key=lambda f: f.applied_on, reverse=True)]


def referral_from_his(tx: UnitOfWork, book: PolicyBook, req: FileReferral, on: date,
                      caller: str) -> ReferralFiled:
    """2501: a designated institution files a referral (转诊) with its referral proof. An
    institution of the insured province refers to any other province; one of another province
    (through the hub) only into its own, and the filing remembers who made it."""
    person = _held_person(tx, req.person_id)
    destination = codes.validate_admdvs(req.destination, "destination")
    if (codes.province_of(caller) != codes.province_of(person.insu_admdvs)
            and codes.province_of(destination) != codes.province_of(caller)):
        raise Forbidden(f"destination: province {caller} may file a referral only into its "
                        f"own province, not to {destination}")
    doc = {"psn_no": req.person_id, "category": "referral", "channel": "counter",
           "destination": destination, "start": req.begins,
           "materials": ["referral_proof"]}
    request = parse_request(doc, person.insu_admdvs, on)
    filing = actions.submit_filing(request, _filing_rules(book, person, on), _standing(tx, person),
                                 _existing(tx, person.psn_no), on,
                                 _seq(tx, person.insu_admdvs, on))
    filing = actions.approve(filing, on)  # the referring hospital's proof is the review
    tx.add("filings", filing_to_row(filing) | {"filed_by_node": codes.province_of(caller),
                                               "filed_by_institution": req.institution})
    return ReferralFiled(filing.filing_no)


def revoke_from_his(tx: UnitOfWork, book: PolicyBook, req: RevokeReferral, on: date,
                    caller: str) -> ReferralRevoked:
    """2502: revoke a referral filing of this person, made through 2501 by the same
    institution (a hospital never revokes the person's own long-term or temporary filing, nor
    another hospital's referral: those are the person's, the agency's or that hospital's act)."""
    row = tx.one("filings", filing_no=req.filing_no)
    if row is None or row.psn_no != req.person_id or row.category != "referral":
        raise NotFound(f"filing {req.filing_no} is not a referral filing of this person")
    filed_by = (row.filed_by_node, row.filed_by_institution)
    if filed_by != (codes.province_of(caller), req.institution):
        raise Forbidden(f"filing {req.filing_no} was not filed through 2501 by "
                        f"{req.institution}: only the institution that filed a referral "
                        "revokes it (the agency cancels any filing)")
    cancel(tx, book, req.filing_no, on)
    return ReferralRevoked(req.filing_no)


def filing_view(filing: rules.Filing) -> dict[str, Any]:
    """A filing as JSON."""
    row = filing_to_row(filing)
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
