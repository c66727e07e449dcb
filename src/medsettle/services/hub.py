"""The national hub's use cases: routing table, node health, message log, settlement index."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from medsettle.core import ledger
from medsettle.core.codes import province_of
from medsettle.core.errors import (
    Forbidden,
    InvalidInput,
    MedSettleError,
    NotFound,
    StateConflict,
)
from medsettle.core.jsonform import decode
from medsettle.services import refusals
from medsettle.services.exchange import Cancelled, Computed, Indexed, Reversed, SettleVisit
from medsettle.services.ports import Database, UnitOfWork

logger = logging.getLogger(__name__)


def register(tx: UnitOfWork, region: str, endpoint: str, now: datetime) -> None:
    """A province announces its endpoint; it is up from now."""
    if tx.one("nodes", region=region) is None:
        tx.add("nodes", {"region": region, "endpoint": endpoint, "status": "up", "since": now,
                         "last_seen": now, "registered_at": now})
    else:
        tx.change("nodes", {"region": region}, endpoint=endpoint, status="up", since=now,
                  last_seen=now)
    logger.info("node registered", extra={"region": region, "endpoint": endpoint})


def heartbeat(tx: UnitOfWork, region: str, now: datetime) -> bool:
    """A province is alive; a node that was down is up again from now (then True)."""
    node = tx.one("nodes", region=region)
    if node is None:
        raise NotFound(f"node {region} has not registered")
    if node.status != "up":
        tx.change("nodes", {"region": region}, status="up", since=now, last_seen=now)
        logger.info("node up again", extra={"region": region})
        return True
    tx.change("nodes", {"region": region}, last_seen=now)
    return False


def mark_down(tx: UnitOfWork, region: str, now: datetime, why: str) -> None:
    """A province failed to answer; the board shows it down until its next heartbeat."""
    node = tx.one("nodes", region=region)
    if node is not None and node.status == "up":
        tx.change("nodes", {"region": region}, status="down", since=now)
        logger.warning("node down", extra={"region": region, "why": why})


def endpoint_of(tx: UnitOfWork, region: str) -> str:
    """The endpoint of the province that owns `region` (routing by the first two digits)."""
    node = tx.one("nodes", region=region[:2] + "0000")
    if node is None:
        raise NotFound(f"no province node serves region {region}")
    return str(node.endpoint)


def board(tx: UnitOfWork, now: datetime, stale_after: timedelta) -> list[dict[str, Any]]:
    """The status board: every node, up or down and since when (silent nodes count as down)."""
    rows = []
    for node in tx.rows("nodes", order_by="region"):
        status, since = node.status, node.since
        if status == "up" and node.last_seen < now - stale_after:
            status, since = "down", node.last_seen
        rows.append({"region": node.region, "endpoint": node.endpoint, "status": status,
                     "since": since.isoformat(), "last_seen": node.last_seen.isoformat()})
    return rows



def message_row(*, msgid: str, op: str, from_region: str, to_region: str, outcome: str,
                latency_ms: int, now: datetime) -> dict[str, Any]:
    """One line of the hub's message log."""
    return {"msgid": msgid, "op": op, "from_region": from_region, "to_region": to_region,
            "outcome": outcome, "latency_ms": latency_ms, "at": now}


def index_rows(op: str, result: Mapping[str, Any], payload: Mapping[str, Any], msgid: str,
               now: datetime) -> list[dict[str, Any]]:
    """The clearing-index rows of a settlement, or of a cancel/reversal together with the
    settlement it cancels (amounts in fen): the hub never holds a cancel without its original,
    even when the original's own answer never reached it (a settle that timed out here)."""
    if op == "settle":
        computed = decode(Computed, result, "result")
        asked = decode(SettleVisit, payload, "payload")
        if computed.settlement_id is None:
            return []
        return [_index_row(Indexed(
            settlement_id=computed.settlement_id, kind="settle", visit_id=asked.visit_id,
            person_id=asked.person_id, insured_region=asked.insured_region,
            treating_region=asked.treating_region, institution=asked.institution,
            visit_type=asked.visit_type, settled_at=computed.settled_at or now,
            amounts=computed.amounts, msgid=msgid))]
    cancelled: Cancelled | None = None
    if op == "cancel_settlement":
        cancelled = decode(Cancelled, result, "result")
    elif op == "reverse":
        cancelled = decode(Reversed, result, "result").cancelled
    if cancelled is None:
        return []
    return [_index_row(cancelled.original), _index_row(cancelled.cancel)]


def _index_row(entry: Indexed) -> dict[str, Any]:
    amounts = entry.amounts
    return {"setl_id": entry.settlement_id, "kind": entry.kind, "ref_setl_id": entry.cancels,
            "mdtrt_id": entry.visit_id, "psn_no": entry.person_id,
            "insu_admdvs": entry.insured_region, "mdtrtarea_admvs": entry.treating_region,
            "fixmedins_code": entry.institution, "visit_type": entry.visit_type,
            "setl_time": entry.settled_at, "medfee_sumamt": amounts.medfee_sumamt,
            "fund_pay_sumamt": amounts.fund_pay_sumamt, "acct_pay": amounts.acct_pay,
            "psn_cash_pay": amounts.psn_cash_pay, "msgid": entry.msgid}


def write_journal(tx: UnitOfWork, messages: list[dict[str, Any]],
                  index: list[dict[str, Any]], now: datetime) -> None:
    """Write a batch of message-log lines and index rows (an index row is written once)."""
    _append_log(tx, messages)
    add_to_index(tx, index, now)


def _append_log(tx: UnitOfWork, messages: list[dict[str, Any]]) -> None:
    """Chain message-log lines after the last one and write them."""
    if not messages:
        return
    tx.next_serial("hub_messages")  # its row locks the log's end until we commit: a journal
    # flush and a catch-up (or several hub processes) append one after another, never both
    # at the same position, which failed one of them and lost its batch
    last = tx.rows_after("hub_messages", "id", 0, limit=1, descending=True)
    seq, prev_hash = (int(last[0].id), str(last[0].hash)) if last else (0, ledger.GENESIS)
    for message in messages:
        seq += 1
        message["id"], message["prev_hash"] = seq, prev_hash
        prev_hash = message["hash"] = ledger.record_hash(prev_hash, seq, _log_fields(message))
    tx.add_many("hub_messages", messages)


#: Asks a treating province for its records of settlement ids (the hub's signed GET
#: /fed/v1/settlements?role=treating&ids=…): each a mapping with the index row's fields.
TreatingRecords = Callable[[str, list[str]], Sequence[Mapping[str, Any]]]
#: At most this many cancels in one question to a treating province (two ids each: the
#: cancel and the settlement it cancels; the province answers at most 500 ids).
ASK_CHUNK = 250
#: How many treating provinces are asked at once.
ASK_AT_ONCE = 8


def confirm_with_treating(db: Database, sender: str, rows: list[dict[str, Any]],
                          now: datetime, ask: TreatingRecords) -> dict[str, str]:
    """POST /fed/v1/index with the treating province's word on each cancel the index does not
    hold yet (unconfirmed_cancels). The insured province alone could otherwise cancel a genuine
    settlement at the hub and so not be charged for it at clearing (the hub cannot tell that
    from a catch-up of a lost cancel).

    The rows are checked first (confirm_index: nothing is written if one is refused). A cancel
    the treating province does not confirm, or could not be asked about, is held: not indexed,
    named with why in the returned {setl_id: why}; its settlement stays charged until the cancel
    reaches the hub by its forward (the treating node's retry) or the daily reconciliation
    finds it at both nodes. Everything else is indexed."""
    with db.read() as tx:
        _check_sender(sender, rows)
        _check_cancels(tx, rows)
        asking = [r for r in rows if r["kind"] == "cancel"
                  and province_of(str(r["mdtrtarea_admvs"])) != province_of(sender)
                  and tx.one("settlement_index", setl_id=r["setl_id"]) is None]
    held: dict[str, str] = {}
    questions = [(province, cancels[start:start + ASK_CHUNK])
                 for province, cancels in _by_treating_province(asking).items()
                 for start in range(0, len(cancels), ASK_CHUNK)]
    for answer in _ask_all(ask, questions):
        held |= answer
    for setl_id, why in held.items():
        logger.warning("cancel held from the index", extra={
            "province": sender, "setl_id": setl_id, "why": why})
    with db.tx() as tx:
        confirm_index(tx, sender, [r for r in rows if r["setl_id"] not in held], now)
    return held


def _ask_all(ask: TreatingRecords, questions: list[tuple[str, list[dict[str, Any]]]]
             ) -> list[dict[str, str]]:
    """Each question's held cancels, the questions asked at once: a slow treating province
    costs the request its own timeout once, not once per province (the catch-up and the
    reconciliation tool wait for the answer)."""
    def one(province: str, chunk: list[dict[str, Any]]) -> dict[str, str]:
        try:
            found = ask(province, [i for c in chunk for i in (c["setl_id"], c["ref_setl_id"])])
        except MedSettleError as exc:
            return {c["setl_id"]: f"the treating province {province} could not be asked: {exc}"
                    for c in chunk}
        return unconfirmed_cancels(chunk, found)
    if len(questions) <= 1:
        return [one(*q) for q in questions]
    with ThreadPoolExecutor(min(len(questions), ASK_AT_ONCE)) as pool:
        return list(pool.map(lambda q: one(*q), questions))


def unconfirmed_cancels(cancels: list[dict[str, Any]], treating: Sequence[Mapping[str, Any]]
                        ) -> dict[str, str]:
    """The cancels (index rows) that the treating province's records of them and of the
    settlements they cancel do not confirm, with why. A cancel is confirmed when the treating
    province holds a cancel of the same id, undoing the same settlement by the same amounts; or
    when it holds neither (a settle whose answer never reached it, reversed: it claims nothing
    for the visit, and the settlement and its cancel net to nothing at clearing)."""
    records = {str(r["setl_id"]): r for r in treating}
    held: dict[str, str] = {}
    for cancel in cancels:
        record = records.get(cancel["setl_id"])
        if record is None:
            if cancel["ref_setl_id"] in records:
                held[cancel["setl_id"]] = ("the treating province holds the settlement, "
                                           "not this cancel")
        elif record["kind"] != "cancel" or record["ref_setl_id"] != cancel["ref_setl_id"] \
                or any(record[k] != cancel[k] for k in CANCEL_AMOUNTS):
            held[cancel["setl_id"]] = "the treating province's cancel differs"
    return held


def _by_treating_province(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(province_of(str(row["mdtrtarea_admvs"])), []).append(row)
    return grouped


def _check_sender(sender: str, rows: list[dict[str, Any]]) -> None:
    """Only the insured province confirms (Forbidden otherwise): it holds the settlement's
    record, and an index row is what the monthly clearing charges it for."""
    for i, row in enumerate(rows):
        if province_of(str(row["insu_admdvs"])) != province_of(sender):
            raise Forbidden(f"rows[{i}].insu_admdvs: {row['insu_admdvs']} is not insured by "
                            f"{sender}; a province confirms only its own insured's settlements")


def confirm_index(tx: UnitOfWork, sender: str, rows: list[dict[str, Any]],
                  now: datetime) -> int:
    """Index settlements a reconciliation or a node's catch-up found missing from the index
    (confirm_with_treating asks the treating province about cancels first). Each new one gets
    its line in the message log, from `sender` (the hub's log verifies only if every indexed
    settlement has one). Returns how many were new. Only the insured province confirms
    (Forbidden otherwise, nothing written)."""
    _check_sender(sender, rows)
    _check_cancels(tx, rows)
    new = add_to_index(tx, rows, now)
    _append_log(tx, [message_row(msgid=str(r["msgid"]), op="index", from_region=sender,
                                 to_region="hub", outcome="ok", latency_ms=0, now=now)
                     for r in new])
    return len(new)


#: What a cancel shares with the settlement it cancels, and the amounts it undoes exactly.
CANCEL_SAME = ("psn_no", "insu_admdvs", "mdtrtarea_admvs", "fixmedins_code", "mdtrt_id")
CANCEL_AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


def _check_cancels(tx: UnitOfWork, rows: list[dict[str, Any]]) -> None:
    """A confirmed cancel undoes a settlement the index holds (or the same request brings) of
    the same person, provinces and institution, by exactly its amounts: InvalidInput naming
    `rows[i].ref_setl_id` otherwise. An insured province could otherwise lower what it owes a
    treating province with cancels of nothing, or of more than was settled."""
    batch = {row["setl_id"]: row for row in rows}
    for i, row in enumerate(rows):
        if row["kind"] != "cancel":
            continue
        ref = row["ref_setl_id"]
        held = tx.one("settlement_index", setl_id=ref)
        original = batch.get(ref) or (None if held is None else dict(held._mapping))
        if original is None or original["kind"] != "settle":
            raise InvalidInput(f"rows[{i}].ref_setl_id", f"{ref} is not an indexed settlement: "
                                                         "send the settlement with its cancel")
        if any(original[k] != row[k] for k in CANCEL_SAME) or any(
                abs(row[k]) != original[k] for k in CANCEL_AMOUNTS):
            raise InvalidInput(f"rows[{i}].ref_setl_id", f"the cancel does not undo {ref}: "
                                                         "another visit, person or amounts")


def add_to_index(tx: UnitOfWork, rows: list[dict[str, Any]], now: datetime
                 ) -> list[dict[str, Any]]:
    """Index settlements once per setl_id (the first row of an id stays); a new row of a month
    already cleared is booked for the next clearing (refusals.book_late). Returns the rows this
    transaction indexed."""
    unique = {row["setl_id"]: row for row in reversed(rows)}
    ordered = list(reversed(unique.values()))
    inserted = tx.add_new("settlement_index", ordered, "setl_id")
    new = [row for row in ordered if row["setl_id"] in inserted]
    refusals.book_late(tx, new, now)
    return new


def _log_fields(message: Mapping[str, Any]) -> dict[str, Any]:
    """What a message-log line's hash covers."""
    return {k: message[k] for k in ("msgid", "op", "from_region", "to_region", "outcome",
                                    "latency_ms", "at")}


@dataclass(frozen=True)
class LocatorAdded:
    """What publishing locator hashes came to."""

    count: int  # hashes in the request
    elsewhere: list[tuple[str, str]]  # (hash, another province that insures the person too)
    held: int | None = None  # an ask: hashes the locator holds for the province
    twice: int | None = None  # an ask: its persons the hub knows another province insures too


def add_locator(tx: UnitOfWork, province: str, hashes: list[str], now: datetime
                ) -> LocatorAdded:
    """Record which province insures each hashed ID number (the hub keeps nothing else). A hash
    the locator holds for another province means the person is insured in both (重复参保): it
    is remembered, and told to whichever of the two publishes it next, so each can find the
    person among its own. An empty request asks: how many hashes the hub holds for the
    province, and how many of its persons it knows to be insured twice, which let the province
    skip sending them again (adapters/province_node.publish_locator); a publication of millions
    of hashes in chunks does not count them for every chunk."""
    if not hashes:
        return LocatorAdded(0, [], tx.count("locator", province=province),
                            _insured_twice(tx, province))
    owners = _holders(tx, hashes)
    owners |= _claim(tx, province, sorted({h for h in hashes if h not in owners}))
    foreign = sorted({h for h in hashes if owners.get(h, province) != province})
    tx.add_ignore("locator_also", [{"certno_hash": h, "province": province, "found_at": now,
                                    "holder": owners[h]} for h in foreign])
    ours = [h for h in hashes if owners.get(h, province) == province]
    also = [(str(r.certno_hash), str(r.province))
            for r in tx.rows_in("locator_also", "certno_hash", list(ours))
            if r.province != province]
    elsewhere = sorted({(h, owners[h]) for h in foreign} | set(also))
    if elsewhere:
        logger.info("persons insured in two provinces", extra={"province": province,
                                                               "count": len(elsewhere)})
    return LocatorAdded(len(hashes), elsewhere)


def _claim(tx: UnitOfWork, province: str, hashes: list[str]) -> dict[str, str]:
    """Hold `hashes` (none held when read) for `province`; the holder of each: the province,
    or the one whose publication inserted it first (the insert waits for that one to commit,
    then skips it; it is then contested like any hash held for another province)."""
    owners: dict[str, str] = {}
    for _ in range(3):
        won = tx.add_new("locator", [{"certno_hash": h, "province": province}
                                     for h in hashes], "certno_hash")
        owners |= {str(h): province for h in won}
        lost = [h for h in hashes if h not in won]
        owners |= _holders(tx, lost)
        hashes = [h for h in lost if h not in owners]  # withdrawn meanwhile: claim again
        if not hashes:
            return owners
    raise StateConflict("the locator changed while these hashes were published; publish "
                        "them again", "hashes")


def _holders(tx: UnitOfWork, hashes: list[str]) -> dict[str, str]:
    """Which province the locator holds each of `hashes` for (those it holds)."""
    if not hashes:
        return {}
    return {str(r.certno_hash): str(r.province)
            for r in tx.rows_in("locator", "certno_hash", list(hashes))}


def _insured_twice(tx: UnitOfWork, province: str) -> int:
    """How many pairs (one of the province's persons, another province insuring them too) the
    hub knows: as the province that published a held hash again, or as the one it is held
    for."""
    return tx.count("locator_also", province=province) + tx.count("locator_also",
                                                                 holder=province)


def locate(tx: UnitOfWork, certno_hash: str) -> str:
    """The province insuring a hashed ID number, when exactly one province published it. A hash
    published by two (insured twice, 重复参保, or claimed by a province that does not insure
    the person: every province holds the locator key) names no one: the first to publish does
    not win, and the hospital names the insured place itself (StateConflict)."""
    row = tx.one("locator", certno_hash=certno_hash)
    if row is None:
        raise NotFound("no province insures this ID number (locator index)")
    if tx.rows("locator_also", certno_hash=certno_hash):
        raise StateConflict("more than one province published this ID number (insured twice, "
                            "重复参保): send insuplc_admdvs, the insured place on the person's "
                            "card or e-voucher")
    return str(row.province)


def locator_claims(tx: UnitOfWork, certno_hash: str) -> list[dict[str, Any]]:
    """Who published a hash: the province the locator holds it for first, then each other
    province that published it too, oldest first (what an operator sees before removing one)."""
    held = tx.one("locator", certno_hash=certno_hash)
    if held is None:
        return []
    also = tx.rows("locator_also", order_by="found_at", certno_hash=certno_hash)
    return [{"province": str(held.province), "holder": True, "found_at": None}] + [
        {"province": str(r.province), "holder": False, "found_at": r.found_at} for r in also]


def contested_hashes(tx: UnitOfWork, limit: int = 500) -> list[dict[str, Any]]:
    """The hashes published by more than one province, the newest found first (a person insured
    twice, 重复参保, or a province that published a hash it does not insure): lookups of them
    name no province until an operator removes a claim (withdraw_locator)."""
    found = tx.rows_after("locator_also", "found_at", None, limit=limit, descending=True)
    return [{"certno_hash": str(r.certno_hash), "province": str(r.province),
             "holder": r.holder, "found_at": r.found_at} for r in found]


def withdraw_locator(tx: UnitOfWork, province: str, certno_hash: str) -> list[dict[str, Any]]:
    """Take `province`'s publication of a hash back (an operator, once the provinces have found
    which one insures the person: a person who moved insurance, or a province that published a
    hash it should not have). If the locator held the hash for that province, it now holds it
    for the province that published it next (oldest first); a hash left with one province is
    found by lookups again. NotFound if the province had not published it. The claims after."""
    held = tx.one("locator", certno_hash=certno_hash)
    if tx.remove("locator_also", certno_hash=certno_hash, province=province) == 0:
        if held is None or held.province != province:
            raise NotFound(f"province {province} has not published this hash", "province")
        heirs = tx.rows("locator_also", order_by="found_at", certno_hash=certno_hash)
        if heirs:
            heir = str(heirs[0].province)
            tx.remove("locator_also", certno_hash=certno_hash, province=heir)
            tx.change("locator", {"certno_hash": certno_hash}, province=heir)
            tx.change("locator_also", {"certno_hash": certno_hash}, holder=heir)
        else:
            tx.remove("locator", certno_hash=certno_hash)
    return locator_claims(tx, certno_hash)
