"""Loading a province's own parameter sets (参保地政策) into its node: propose, approve (four eyes,
双人复核), reject; and handing the approved sets to the node's book (core/served.ServedBook).

A set is proposed by one province operator (`medsettle policy load`, or an upload in the
console) and takes effect only when a different operator of the same province approves it; it
is then used from its `valid_from` by every running node of the province without a restart:
the approving node hands it over at once, the others within a poll (`refresh`). Each step is one
audit line in the same transaction as the step. Stored documents are never changed: a correction
is a new set. A settlement names the set it used by id and content hash, so changing the set in
force never changes a past settlement.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from medsettle.core import codes
from medsettle.core.calendar import business_date
from medsettle.core.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    OwnProposal,
    PolicyFileError,
    PolicyInvalid,
    PolicyNotInForce,
    StateConflict,
)
from medsettle.core.operators import Operator
from medsettle.core.policy import (
    ParameterSet,
    PolicyBook,
    check_parameter_set,
    check_year_start_change,
    parse_parameter_set,
)
from medsettle.core.policy_view import Item, describe, diff, notices
from medsettle.core.served import ServedBook
from medsettle.services.audit import Actor, run_audited
from medsettle.services.ports import Database, UnitOfWork

logger = logging.getLogger(__name__)
STATUSES = ("proposed", "approved", "rejected", "withdrawn")
#: The columns of a stored set that say what it is and where it stands (not its document).
SUMMARY = ("id", "set_id", "insu_admdvs", "scheme", "valid_from", "valid_until",
           "content_hash", "source", "status", "proposed_by", "proposed_at", "approved_by",
           "approved_at", "rejected_by", "rejected_at", "withdrawn_by", "withdrawn_at", "note")


@dataclass(frozen=True, slots=True)
class Review:
    """A stored set as a reviewer sees it: its row, the parsed set, the set it is compared with
    (the one in force on its valid_from without it; None if none) and the difference."""

    row: Mapping[str, Any]
    parameters: ParameterSet
    compared_with: ParameterSet | None
    differences: list[tuple[Item, str]]
    notice: dict[str, str]  # the provenance notice by language


def normalized(doc: object) -> Any:
    """A document as the database keeps it: JSON (dates as ISO text). Its content hash is the
    same as the YAML's (core.policy.content_hash reads dates as ISO text)."""
    try:
        return json.loads(json.dumps(doc, ensure_ascii=False, default=_iso))
    except (TypeError, ValueError) as exc:
        raise InvalidInput("document", f"cannot be kept as JSON: {exc}") from None


def _iso(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value")


def errors_of(doc: object, source: str) -> list[PolicyFileError]:
    """Every error of a document loaded into a province node, each by key: those of any
    parameter set (core.policy.check_parameter_set), then an id that does not start with the
    set's own region code (`<insu_admdvs>-<scheme>-<label>`), so that no loaded set takes the id
    of another region's set."""
    errors = check_parameter_set(doc, source)
    if errors or not isinstance(doc, Mapping):
        return errors
    set_id, region = doc["id"], doc["insu_admdvs"]
    if not set_id.startswith(f"{region}-"):
        return [PolicyFileError(source, "id", f"must start with the set's region code, "
                                              f"{region}- (e.g. {region}-{doc['scheme']}-2026), "
                                              f"not {set_id!r}")]
    return []


def validate(doc: object, source: str) -> ParameterSet:
    """The parameter set of a document, or PolicyInvalid listing every error by key
    (`errors_of`)."""
    errors = errors_of(doc, source)
    if errors:
        raise PolicyInvalid(errors)
    return parse_parameter_set(doc, source)


def check_province(ps: ParameterSet, province: str) -> None:
    """A province node loads sets of its own regions only."""
    if codes.province_of(ps.insu_admdvs) != province:
        raise Forbidden(f"{ps.id} is a set of region {ps.insu_admdvs}; this node loads the sets "
                        f"of province {province} only")


def propose(store: Database, doc: object, source: str, operator: Operator, now: datetime,
            province: str, book: PolicyBook | None = None) -> dict[str, Any]:
    """Propose a parameter set: validated (every error by key), of this province, not the same
    as one proposed or approved already; given the node's `book`, also one whose medical year
    fits the sets it would follow and precede (`check_medical_year`, checked again at
    approval). Audited as `policy.propose`."""
    kept = normalized(doc)
    ps = validate(kept, source)
    check_province(ps, province)
    _may_change(operator, province)

    def work(tx: UnitOfWork) -> dict[str, Any]:
        for row in tx.rows("policy_sets", insu_admdvs=ps.insu_admdvs, scheme=ps.scheme):
            if row.content_hash == ps.content_hash and row.status != "rejected":
                raise StateConflict(f"the same parameter set is already {row.status} as "
                                    f"#{row.id}")
        if book is not None:
            check_medical_year(tx, book, ps)
        set_row = tx.next_serial("policy_sets")  # the id, known before the row is written
        tx.add("policy_sets", {
            "id": set_row, "set_id": ps.id, "insu_admdvs": ps.insu_admdvs, "scheme": ps.scheme,
            "valid_from": ps.valid_from, "valid_until": ps.valid_until,
            "content_hash": ps.content_hash, "document": kept, "source": source[:200],
            "status": "proposed", "proposed_by": operator.name, "proposed_at": now, "note": ""})
        return _summary(tx.one("policy_sets", id=set_row))
    result: dict[str, Any] = run_audited(store, Actor.of(operator), "policy.propose",
                                         lambda r: f"#{r['id']} {r['set_id']}", work, now)
    logger.info("policy set proposed", extra={"policy_set": result["id"], "by": operator.name})
    return result


def approve(store: Database, book: ServedBook, set_row: int, operator: Operator, now: datetime,
            province: str) -> dict[str, Any]:
    """Approve a proposed set: by a province operator other than its proposer. Audited as
    `policy.approve`; the node's book serves the set from now on (from its valid_from)."""
    _may_change(operator, province)

    def work(tx: UnitOfWork) -> dict[str, Any]:
        row = _proposed(tx, set_row, province)
        if row.proposed_by == operator.name:
            raise OwnProposal(f"operator {operator.name} proposed #{set_row} and may not approve "
                              "it too: a second operator of the province approves (four eyes)")
        check_medical_year(tx, book, stored_set(row))
        _set_status(tx, set_row, "proposed", "approved", approved_by=operator.name,
                    approved_at=now)
        return _summary(tx.one("policy_sets", id=set_row))
    result: dict[str, Any] = run_audited(
        store, Actor.of(operator), "policy.approve", lambda r: f"#{r['id']} {r['set_id']}", work,
        now, lambda tx: _summary_or_none(tx, set_row))
    refresh(book, store)
    logger.info("policy set approved", extra={"policy_set": set_row, "by": operator.name})
    return result


def reject(store: Database, set_row: int, operator: Operator, note: str, now: datetime,
           province: str) -> dict[str, Any]:
    """Reject a proposed set (its proposer may withdraw it so, too); a reason is required.
    Audited as `policy.reject`."""
    _may_change(operator, province)
    why = " ".join(note.split())
    if not why:
        raise InvalidInput("reason", "say why the parameter set is rejected")

    def work(tx: UnitOfWork) -> dict[str, Any]:
        _proposed(tx, set_row, province)
        _set_status(tx, set_row, "proposed", "rejected", rejected_by=operator.name,
                    rejected_at=now, note=why[:1000])
        return _summary(tx.one("policy_sets", id=set_row))
    result: dict[str, Any] = run_audited(
        store, Actor.of(operator), "policy.reject", lambda r: f"#{r['id']} {r['set_id']}", work,
        now, lambda tx: _summary_or_none(tx, set_row))
    return result


def withdraw(store: Database, book: ServedBook, set_row: int, operator: Operator, note: str,
             now: datetime, province: str) -> dict[str, Any]:
    """Withdraw an approved set before its valid_from (a reason is required): the node stops
    serving it at once. A set already in force is never withdrawn: a newer set supersedes it, so
    that every settlement stays explained by the set served on its day. Audited as
    `policy.withdraw`."""
    _may_change(operator, province)
    why = " ".join(note.split())
    if not why:
        raise InvalidInput("reason", "say why the parameter set is withdrawn")
    today = business_date(now)

    def work(tx: UnitOfWork) -> dict[str, Any]:
        row = _stored_row(tx, set_row, province, hold=True)
        if row.status != "approved":
            raise StateConflict(f"parameter set #{set_row} is {row.status}; only an approved set "
                                "is withdrawn (a proposed one is rejected)")
        if row.valid_from <= today:
            raise StateConflict(f"parameter set #{set_row} is in force since {row.valid_from}: "
                                "load a newer set to supersede it; a set in force is not "
                                "withdrawn")
        _set_status(tx, set_row, "approved", "withdrawn", withdrawn_by=operator.name,
                    withdrawn_at=now, note=why[:1000])
        return _summary(tx.one("policy_sets", id=set_row))
    result: dict[str, Any] = run_audited(
        store, Actor.of(operator), "policy.withdraw", lambda r: f"#{r['id']} {r['set_id']}",
        work, now, lambda tx: _summary_or_none(tx, set_row))
    refresh(book, store)
    logger.info("policy set withdrawn", extra={"policy_set": set_row, "by": operator.name})
    return result


def check_medical_year(tx: UnitOfWork, book: PolicyBook, ps: ParameterSet) -> None:
    """PolicyInvalid naming `year_start` if `ps`, served as if approved now, would take over
    from a set (or hand over to one) whose medical year starts on another day in a way that
    gives two medical years the same label (core.policy.check_year_start_change): stored
    accumulators are kept by that label, so the change is refused rather than relabelled."""
    seed = book.seed if isinstance(book, ServedBook) else book
    rows = sorted(tx.rows("policy_sets", insu_admdvs=ps.insu_admdvs, scheme=ps.scheme,
                          status="approved"), key=lambda row: (row.approved_at, row.id))
    approved = [stored_set(row) for row in rows]
    served = ServedBook(seed)  # what the node would serve with `ps` approved last
    served.serve([*approved, ps], None)
    start = ps.valid_from
    before = _in_force(served, ps, start - timedelta(days=1))
    try:
        if before is not None and before is not ps:
            check_year_start_change(before, ps, start, ps)
        ends = [s.valid_from for s in approved if s.valid_from > start]
        end = min([*ends, *([ps.valid_until] if ps.valid_until else [])], default=None)
        after = None if end is None else _in_force(served, ps, end)
        if end is not None and after is not None and after is not ps:
            check_year_start_change(ps, after, end, ps)
    except PolicyFileError as exc:
        raise PolicyInvalid([exc]) from None


def _in_force(served: ServedBook, ps: ParameterSet, on: date) -> ParameterSet | None:
    try:
        return served.find(ps.insu_admdvs, ps.scheme, on)
    except PolicyNotInForce:
        return None


def _may_change(operator: Operator, province: str) -> None:
    if operator.role != "province" or operator.region != province:
        raise Forbidden(f"operator {operator.name} may not change the parameter sets of "
                        f"province {province}: only its province operators may")


def _stored_row(tx: UnitOfWork, set_row: int, province: str, *, hold: bool = False) -> Any:
    """The stored set; held until the transaction ends (`Tx.hold`) by a step that changes it."""
    row = _held(tx, set_row) if hold else tx.one("policy_sets", id=set_row)
    if row is None or codes.province_of(row.insu_admdvs) != province:
        raise NotFound(f"no parameter set #{set_row} at this node")
    return row


def _proposed(tx: UnitOfWork, set_row: int, province: str) -> Any:
    """The proposed set, held: an approve and a reject (or two approvals) of one proposal
    take turns, and the second finds it decided."""
    row = _stored_row(tx, set_row, province, hold=True)
    if row.status != "proposed":
        raise StateConflict(f"parameter set #{set_row} is {row.status} already; only a proposed "
                            "set is approved or rejected")
    return row


def _set_status(tx: UnitOfWork, set_row: int, before: str, status: str,
                **values: object) -> None:
    """Write the set's next status only if it still has the status the step read."""
    changed = tx.change("policy_sets", {"id": set_row, "status": before}, status=status,
                        **values)
    if changed != 1:
        raise StateConflict(f"parameter set #{set_row} changed meanwhile; it is no longer "
                            f"{before}")


def _summary(row: Any) -> dict[str, Any]:
    return {name: row._mapping[name] for name in SUMMARY}


def _held(tx: UnitOfWork, set_row: int) -> Any:
    """The stored set held until the transaction ends, or None (also for a number beyond the
    id column: `tx.hold` asks nothing then)."""
    return tx.hold("policy_sets", id=set_row)


def _summary_or_none(tx: UnitOfWork, set_row: int) -> dict[str, Any] | None:
    """The audit line's `before`: the row read under its lock, as the change then finds it."""
    row = _held(tx, set_row)
    return None if row is None else _summary(row)


def listing(tx: UnitOfWork) -> list[dict[str, Any]]:
    """Every stored set, newest first, without its document."""
    return [_summary(row) for row in tx.rows_after("policy_sets", "id", 0, limit=500,
                                                   descending=True)]


def review(tx: UnitOfWork, book: ServedBook, set_row: int, province: str) -> Review:
    """A stored set with the difference against the set in force on its valid_from without it
    (the same list as `medsettle policy diff`), and its provenance notice."""
    row = _stored_row(tx, set_row, province)
    ps = stored_set(row)
    served = next((s for s in book.approved(ps.insu_admdvs, ps.scheme)
                   if s.source == ps.source), None)
    try:
        current: ParameterSet | None = book.in_force_besides(ps.insu_admdvs, ps.scheme,
                                                             ps.valid_from, served)
    except PolicyNotInForce:
        current = None
    return Review(_summary(row), ps, current, compare(current, ps), notices(ps))


def compare(current: ParameterSet | None, new: ParameterSet) -> list[tuple[Item, str]]:
    """The difference list of `new` against `current` (policy_view.diff: current's items with
    the new value beside them); every item of `new` when nothing is in force."""
    if current is None:
        return [(Item(item.key, item.label, "—", item.doc_key), item.value)
                for item in describe(new)]
    return diff(current, new)


_parsed: dict[tuple[int, str], ParameterSet] = {}
_parsed_lock = threading.Lock()


def stored_set(row: Any) -> ParameterSet:
    """The parameter set of a stored row (parsed once per process); its source names the row,
    e.g. `policy_sets#12 (440100-resident-2026.yaml)`."""
    key = (int(row.id), str(row.content_hash))
    found = _parsed.get(key)
    if found is None:
        found = parse_parameter_set(row.document, f"policy_sets#{row.id} ({row.source})")
        with _parsed_lock:
            _parsed[key] = found
    return found


def refresh(book: ServedBook, store: Database) -> bool:
    """Hand the approved sets to `book` if they changed since it last got them (the counts of
    approved and withdrawn rows: an approved set is never changed, and leaves only by being
    withdrawn); True if they did. A stored set
    that no longer validates stops here (PolicyFileError naming the row), and the book keeps
    what it served."""
    with store.tx() as tx:
        version = (tx.count("policy_sets", status="approved"),
                   tx.count("policy_sets", status="withdrawn"))
        if version == book.version:
            return False
        rows = sorted(tx.rows("policy_sets", status="approved"),
                      key=lambda row: (row.approved_at, row.id))
    book.serve([stored_set(row) for row in rows], version)
    logger.info("approved parameter sets served", extra={"approved": version[0]})
    return True
