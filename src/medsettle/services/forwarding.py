"""What the hub forwards between provinces (docs/federation.md "What the hub forwards").

The hub forwards only what a treating place (就医地) may ask of an insured place (参保地), to a
province other than the sender's own, and a visit or settlement it opens must be in the sender's
province. That the caller owns the visit or settlement it names is checked by the insured node.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from medsettle.core.codes import province_of, validate_admdvs
from medsettle.core.errors import (
    Forbidden,
    InvalidInput,
    PeerBadAnswer,
    PeerTimedOut,
    PeerUnavailable,
    PeerUnreachable,
)
from medsettle.services.hub import index_rows, mark_down, message_row
from medsettle.services.hub_routing import RoutingTable
from medsettle.services.ports import Database

logger = logging.getLogger(__name__)

#: The operations a treating place may ask of an insured place through the hub.
FORWARDED_OPS = frozenset({"person_info", "open_visit", "cancel_visit", "change_visit",
                           "pre_settle", "settle", "cancel_settlement", "reverse",
                           "accumulations", "file_referral", "revoke_filing",
                           # reads for the insured person's app (services/directory.py)
                           "institutions", "settlement_lines"})
#: The payload field, by operation, naming a region that must lie in the sender's province:
#: the treating region of a visit or settlement, the destination of a referral it files.
SENDER_AREA_FIELDS = {"open_visit": "treating_region", "pre_settle": "treating_region",
                      "settle": "treating_region", "file_referral": "destination"}
#: Calls whose payload names the insured region: the hub indexes a settlement under it, and
#: the monthly clearing charges that province, so it must be the province the call goes to.
INSURED_AREA_OPS = frozenset({"pre_settle", "settle"})


@dataclass(frozen=True, slots=True)
class Call:
    """One call the hub has agreed to forward: `target` is the insured province's code."""

    sender: str
    target: str
    op: str
    msgid: str
    payload: Mapping[str, Any]


def admit_call(sender: str, to: str, op: str, msgid: str, payload: Mapping[str, Any]) -> Call:
    """The call to forward from node `sender`, or why the hub refuses it: InvalidInput naming
    `op` or `to` (or the payload field it checks), Forbidden for the sender's own province, a
    treating region or referral destination in another province than the sender's or an
    insured region in another than the one the call goes to."""
    if op not in FORWARDED_OPS:
        raise InvalidInput("op", f"{op[:40]!r} is not an operation the hub forwards; one of "
                           f"{', '.join(sorted(FORWARDED_OPS))}")
    target = province_of(validate_admdvs(to, "to"))
    if target == sender:
        raise Forbidden(f"to: province {sender} handles its own insured persons; the hub does "
                        "not forward to the sender's own province")
    if op in SENDER_AREA_FIELDS:
        _region_in(payload, SENDER_AREA_FIELDS[op], sender, sender, op, "the sender's province")
    if op in INSURED_AREA_OPS:
        _region_in(payload, "insured_region", target, sender, op, "the province called")
    return Call(sender, target, op, msgid, payload)


def _region_in(payload: Mapping[str, Any], name: str, province: str, sender: str, op: str,
               which: str) -> None:
    """`payload.<name>`, a region code, lies in `province`, else Forbidden naming it."""
    area = validate_admdvs(payload.get(name), f"payload.{name}")
    if province_of(area) != province:
        logger.warning("call naming a region outside its province refused",
                       extra={"sender": sender, "op": op, name: area})
        raise Forbidden(f"payload.{name}: {area} is not in {which} {province}")


class PeerLink(Protocol):
    """How the hub reaches a province: a signed request to its endpoint, the province's answer
    (a JSON object) back, or PeerTimedOut / PeerUnreachable / PeerBadAnswer."""

    def send(self, target: str, endpoint: str, op: str, doc: Mapping[str, Any]
             ) -> dict[str, Any]: ...


class JournalPort(Protocol):
    """The hub's message log and settlement index, written in batches off the request path."""

    def add(self, message: dict[str, Any], index: list[dict[str, Any]]) -> None: ...


#: What happened to a forwarded call, by the kind of trouble (the message log's outcome).
OUTCOMES: dict[type[PeerUnavailable], str] = {PeerTimedOut: "timeout",
                                             PeerUnreachable: "unreachable",
                                             PeerBadAnswer: "bad_answer"}


@dataclass
class Forwarder:
    """The hub's forward use case: route a call to the insured province, log it, index the
    settlement it made, and mark a province that does not answer down."""

    db: Database
    routes: RoutingTable
    link: PeerLink
    journal: JournalPort
    clock: Callable[[], datetime]
    call_timeout: float
    observe: Callable[[str, str, float], None] = lambda op, outcome, seconds: None
    timer: Callable[[], float] = time.perf_counter  # the latency clock (a simulation: its own)

    def forward(self, call: Call) -> tuple[str, dict[str, Any]]:
        """The outcome (ok, error, timeout, unreachable, bad_answer) and the answer to relay."""
        endpoint = self.routes.endpoint_of(call.target)
        doc = {"from": call.sender, "msgid": call.msgid, "payload": call.payload}
        started = self.timer()
        try:
            answer = self.link.send(call.target, endpoint, call.op, doc)
            outcome = "ok" if answer.get("ok") else "error"
        except PeerUnavailable as exc:
            outcome = next((o for k, o in OUTCOMES.items() if isinstance(exc, k)), "unreachable")
            answer = {"ok": False, "error": {"code": "peer_unavailable",
                                             "message": self._why(call.target, outcome, exc)}}
        seconds = self.timer() - started
        self.observe(call.op, outcome, seconds)
        now = self.clock()
        self.journal.add(message_row(msgid=call.msgid, op=call.op, from_region=call.sender,
                                     to_region=call.target, outcome=outcome,
                                     latency_ms=int(seconds * 1000), now=now),
                         self._index(call, answer, now) if outcome == "ok" else [])
        if outcome in ("timeout", "unreachable"):
            with self.db.tx() as tx:
                mark_down(tx, call.target, now, outcome)
        if outcome not in ("ok", "error"):
            self.routes.forget(call.target)  # the next call reads the endpoint again
        return outcome, answer

    def _why(self, target: str, outcome: str, exc: PeerUnavailable) -> str:
        if outcome == "timeout":
            return f"province {target} did not answer within {self.call_timeout:g} s"
        return str(exc)

    @staticmethod
    def _index(call: Call, answer: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
        result = answer.get("result")
        if not isinstance(result, dict):
            return []
        try:
            return index_rows(call.op, result, call.payload, call.msgid, now)
        except InvalidInput as exc:  # a malformed answer is logged, not indexed
            logger.warning("answer not indexed", extra={"msgid": call.msgid, "why": str(exc)})
            return []
