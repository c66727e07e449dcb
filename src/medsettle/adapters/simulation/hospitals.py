"""Hospitals' HIS systems in the simulation: the real HIS client (adapters/his/client.py) over
the simulated network, on the simulated clock, and the life of one visit as a HIS plays it.

A visit is a generator: it sends one message, then yields how many seconds the HIS waits before
its next move. A message without an answer (lost, late, the node crashed) is retried with the
same msgid a few times, as the interface allows; a state-changing one still unanswered is then
reversed (冲正, 2601), retried until the reversal is answered. Every answer is one the HIS would
see: a refusal ends the visit, an `[internal]` answer is a failure of the run.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from medsettle.adapters.his.client import HisClient, HisError, Patient, VisitFlow
from medsettle.adapters.simulation.network import Network, SimClock
from medsettle.core.errors import PeerUnavailable
from medsettle.sim.traffic import PlannedVisit

CHINA = ZoneInfo("Asia/Shanghai")
Steps = Generator[float, None, Any]
_NO_HTTP = httpx.Client()  # the base class wants one; the simulated HIS never opens it


class InternalAnswer(Exception):
    """The gateway answered `[internal]`: a bug, never an answer to what the HIS sent."""


class SimHis(HisClient):
    """One institution's HIS talking to its province's gateway over the simulated network."""

    def __init__(self, region: str, code: str, name: str, net: Network,
                 clock: SimClock) -> None:
        super().__init__(f"sim://{region}", code, name, _NO_HTTP)
        self.region = region
        self.net = net
        self.clock = clock
        self.serial = 0
        self.sent: dict[str, dict[str, Any]] = {}

    def local_now(self) -> Any:
        """The HIS's wall clock: Beijing time, naive."""
        return self.clock.now().astimezone(CHINA).replace(tzinfo=None)

    def msgid(self) -> str:
        """fixmedins_code(12) + yyyyMMddHHmmss(14) + serial(4), from the simulated clock."""
        self.serial += 1
        return f"{self.fixmedins_code}{self.local_now():%Y%m%d%H%M%S}{self.serial % 10000:04d}"

    def envelope(self, infno: str, input: dict[str, Any], *, insuplc: str = "",
                 msgid: str | None = None) -> dict[str, Any]:
        """The base envelope, stamped with the simulated time; a message sent again is the
        same envelope (a HIS resends what it sent, not a new body under the old msgid)."""
        if msgid is not None and msgid in self.sent:
            return self.sent[msgid]
        env = super().envelope(infno, input, insuplc=insuplc, msgid=msgid)
        env["inf_time"] = f"{self.local_now():%Y-%m-%d %H:%M:%S}"
        self.sent[env["msgid"]] = env
        if len(self.sent) > 4096:
            del self.sent[next(iter(self.sent))]
        return env

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """One envelope to the gateway; PeerUnavailable when no answer comes."""
        raw = json.dumps(envelope, ensure_ascii=False).encode()
        answer: dict[str, Any] = self.net.call(
            f"his:{self.fixmedins_code}", self.region,
            f"{envelope['infno']} {envelope['msgid']}", lambda node: node.his(raw))
        if "[internal]" in str(answer.get("err_msg", "")):
            raise InternalAnswer(f"{envelope['infno']} {envelope['msgid']}: {answer['err_msg']}")
        return answer


@dataclass
class VisitLog:
    """What the HIS knows at the end of one visit."""

    planned: PlannedVisit
    state: str = "planned"  # settled | cancelled | reversed | refused | abandoned
    msgids: list[tuple[str, str]] = field(default_factory=list)  # (infno, msgid) as sent
    setl_id: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        """The HIS has nothing more to do for this visit."""
        return self.state in ("settled", "cancelled", "reversed", "refused", "abandoned")


@dataclass(frozen=True)
class Habits:
    """How a HIS behaves: retries of an unanswered message, waits, later cancels."""

    retries: int = 2          # resends with the same msgid before reversing
    wait: float = 5.0         # seconds between a HIS's moves
    cancel_share: float = 0.1  # settled visits cancelled (2208/2305) a little later
    #: A cancel refused because a node did not answer is sent again as it was ("same"); "new"
    #: sends a new message, which can leave the settlement cancelled at the insured place only
    #: (docs/simulation.md, "What the simulator found").
    cancel_when_busy: str = "same"


def total_yuan(visit: PlannedVisit) -> str:
    """The visit's fees in yuan, as the HIS sums them."""
    return str(sum((Decimal(line.pric) * Decimal(line.cnt)).quantize(
        Decimal("0.01"), ROUND_HALF_UP) for line in visit.lines))


class VisitPlay:
    """One planned visit played by its institution's HIS."""

    def __init__(self, his: SimHis, log: VisitLog, rng: random.Random, habits: Habits) -> None:
        self.his = his
        self.log = log
        self.rng = rng
        self.habits = habits

    def wait(self) -> float:
        """A think time of the HIS, in seconds."""
        return self.rng.uniform(0.5, 2.0) * self.habits.wait

    def send(self, infno: str, act: Callable[[str], Any], *, reversible: bool,
             keep_trying: bool = False, when_busy: str = "new") -> Steps:
        """Send one message; "ok" with the output, "refused" with the error, or "unanswered"
        (reversed first, when the message changes state). A message without an answer is sent
        again as it was (same msgid, same body). One refused because another node did not
        answer (nothing was kept of it) is sent again as a new message (`when_busy` "new"),
        as it was ("same"), or given up ("stop")."""
        msgid = self.his.msgid()
        attempts = 10_000 if keep_trying else 1 + self.habits.retries
        last: Any = None
        for attempt in range(attempts):
            if attempt:
                yield min(300.0, self.wait() * attempt)
            self.log.msgids.append((infno, msgid))
            try:
                return "ok", act(msgid)
            except HisError as exc:
                self.log.notes.append(f"{infno} refused: {str(exc)[:80]}")
                if "[peer_unavailable]" not in str(exc) or when_busy == "stop":
                    return "refused", exc
                last = exc  # another node did not answer: nothing was kept; try again
                if when_busy == "new":
                    msgid = self.his.msgid()
            except PeerUnavailable:
                self.log.notes.append(f"{infno} {msgid} unanswered")
                last = None
        if last is not None:  # the last answer was a refusal: nothing to reverse
            return "refused", last
        if reversible:
            yield from self.reverse(msgid, infno)
        return "unanswered", msgid

    def reverse(self, omsgid: str, oinfno: str) -> Steps:
        """2601 until it is answered (a transient refusal is retried with the same msgid)."""
        flow = self.flow
        msgid = self.his.msgid()
        for attempt in range(10_000):
            yield min(300.0, self.wait() * (attempt + 1))
            try:
                out = flow.reverse(omsgid, oinfno, msgid=msgid)
                self.log.notes.append(f"2601 of {oinfno} {omsgid}: {out}")
                return
            except HisError as exc:
                if "[peer_unavailable]" not in str(exc):
                    self.log.notes.append(f"2601 of {oinfno} refused: {str(exc)[:80]}")
                    return
            except PeerUnavailable:
                pass

    def play(self) -> Steps:
        """The visit: sign in, 1101, register or admit, fees, (discharge), settle, maybe cancel."""
        v, his, log = self.planned, self.his, self.log
        if not his.sign_no:
            outcome, _ = yield from self.send("9001", lambda m: his.sign_in(), reversible=False)
            if outcome != "ok":
                log.state = "refused"
                return
            yield self.wait()
        insuplc = v.insuplc_admdvs if v.cert_type == "03" else ""
        outcome, out = yield from self.send("1101", lambda m: his.person(
            v.cert_type, v.cert_no, card_sn=v.card_sn, insuplc=insuplc), reversible=False)
        if outcome != "ok":
            log.state = "refused"
            return
        self.flow = VisitFlow(his, Patient.from_1101(out, v.cert_type, v.cert_no, v.card_sn))
        yield self.wait()
        yield from self.treat()

    @property
    def planned(self) -> PlannedVisit:
        """The visit as planned."""
        return self.log.planned

    def treat(self) -> Steps:
        """Register or admit, upload fees, settle."""
        v, flow = self.planned, self.flow
        inpatient = v.med_type == "21"
        begins = self.his.local_now()
        lines = [(line.code, line.pric, line.cnt) for line in v.lines]
        if inpatient:
            opened = yield from self.send("2401", lambda m: flow.admit(
                begntime=begins, emergency=v.emergency, msgid=m), reversible=True)
        else:
            opened = yield from self.send("2201", lambda m: flow.register(
                med_type=v.med_type, disease=v.disease if v.med_type.startswith("14") else "",
                begntime=begins, msgid=m), reversible=True)
        if not (yield from self._went_on(opened)):
            return
        yield self.wait()
        uploaded = yield from self.send("2301" if inpatient else "2204", lambda m: flow.fees(
            lines, inpatient=inpatient, when=begins, msgid=m), reversible=True)
        if not (yield from self._went_on(uploaded)):
            return
        yield self.wait()
        if inpatient:
            left = yield from self.send("2402", lambda m: flow.discharge(
                self.his.local_now(), msgid=m), reversible=False, keep_trying=True,
                when_busy="same")
            if not (yield from self._went_on(left)):
                return
            yield self.wait()
        yield from self.settle(inpatient)

    def _went_on(self, result: tuple[str, Any]) -> Steps:
        """Whether the visit goes on after a step; the visit's state when it does not."""
        outcome, _ = result
        if outcome == "ok":
            return True
        self.log.state = "refused" if outcome == "refused" else "abandoned"
        return False
        yield  # a generator

    def settle(self, inpatient: bool) -> Steps:
        """2207/2304, then sometimes a cancel (2208/2305) a little later."""
        flow, log = self.flow, self.log
        amount = total_yuan(self.planned)
        outcome, out = yield from self.send("2304" if inpatient else "2207", lambda m: flow.settle(
            amount, inpatient=inpatient, acct=self.planned.acct_used, msgid=m), reversible=True,
            when_busy="stop")
        if outcome == "unanswered":
            log.state = "reversed"
            return
        if outcome == "refused":
            log.state = "refused"
            return
        log.setl_id = str(out["setlinfo"]["setl_id"])
        log.state = "settled"
        if self.rng.random() >= self.habits.cancel_share:
            return
        yield 20 * self.wait()
        outcome, _ = yield from self.send("2305" if inpatient else "2208", lambda m: flow.cancel(
            log.setl_id, inpatient=inpatient, msgid=m), reversible=False, keep_trying=True,
            when_busy=self.habits.cancel_when_busy)
        if outcome == "ok":
            log.state = "cancelled"


def start_time(visit: PlannedVisit) -> Any:
    """When the visit's first message is sent (UTC), from its planned local time."""
    return visit.begntime.replace(tzinfo=CHINA).astimezone(UTC)
