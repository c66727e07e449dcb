"""Play planned visits through the HIS gateways, as hospitals would, and count the outcomes."""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from medsettle.adapters.his.client import HisClient, HisError, Patient, VisitFlow, beijing_now
from medsettle.sim.traffic import PlannedVisit


@dataclass
class Tally:
    """Outcomes by insured province: settled visits, failures by reason, money in fen."""

    visits: Counter[str] = field(default_factory=Counter)
    settled: Counter[str] = field(default_factory=Counter)
    refused_as_expected: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    medfee: Counter[str] = field(default_factory=Counter)
    funds: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rate(self, province: str | None = None) -> float:
        """Direct settlement rate: settled ÷ (settled + failed) of visits meant to settle."""
        settled = self.settled[province] if province else sum(self.settled.values())
        failed = self.failed[province] if province else sum(self.failed.values())
        return settled / (settled + failed) if settled + failed else 0.0


def fen(yuan: float) -> int:
    """A yuan amount from an answer, in fen."""
    return int((Decimal(str(yuan)) * 100).quantize(Decimal(1), ROUND_HALF_UP))


class Interrupted(Exception):
    """Ctrl-C reached a visit in flight: it sends no further message."""


class Player:
    """Sends each planned visit's messages to the treating province's gateway."""

    def __init__(self, urls: Mapping[str, str], http: httpx.Client | None = None) -> None:
        self.urls = urls
        self.http = http or httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64))
        self._clients: dict[str, HisClient] = {}
        self._lock = threading.Lock()
        self.tally = Tally()
        self.halted = threading.Event()  # set on Ctrl-C (or by a drill): no new visit starts
        self.interrupted = threading.Event()  # set on Ctrl-C: no visit sends another message

    def his(self, visit: PlannedVisit) -> HisClient:
        """The HIS of the visit's institution, signed in once."""
        with self._lock:
            client = self._clients.get(visit.fixmedins_code)
            if client is None:
                client = HisClient(self.urls[visit.treating_province], visit.fixmedins_code,
                                   visit.fixmedins_name, self.http)
                self._clients[visit.fixmedins_code] = client
        if not client.sign_no:
            client.sign_in()
        return client

    def play(self, visits: Sequence[PlannedVisit], concurrency: int = 16,
             on_done: Callable[[], None] | None = None) -> Tally:
        """Play every visit, `concurrency` persons at a time; returns the tally.

        A person is in one hospital at a time and their accumulators make the order of their
        visits matter, so each person's visits are played one after another, in plan order;
        different persons run in parallel. The same plan therefore settles the same amounts
        however the threads are scheduled."""
        def run(own: list[PlannedVisit]) -> None:
            for visit in own:
                if self.halted.is_set():
                    return
                self.play_one(visit)
                if on_done:
                    on_done()
        with ThreadPoolExecutor(concurrency) as pool:
            try:
                list(pool.map(run, by_person(visits)))
            except BaseException:  # Ctrl-C: drop the visits not started, and stop those in
                self.halted.set()  # flight before their next message (one answer at most)
                self.interrupted.set()
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return self.tally

    def play_one(self, visit: PlannedVisit) -> None:
        """1101 → register/admit → fees → (discharge) → settle, recording the outcome."""
        province = visit.insured_province
        try:
            his = self.his(visit)
            insuplc = visit.insuplc_admdvs if visit.cert_type == "03" else ""
            out = his.person(visit.cert_type, visit.cert_no, card_sn=visit.card_sn,
                             insuplc=insuplc)
            flow = VisitFlow(his, Patient.from_1101(out, visit.cert_type, visit.cert_no,
                                                    visit.card_sn))
            lines = [(line.code, line.pric, line.cnt) for line in visit.lines]
            info = self._settle(flow, visit, lines)
        except (HisError, httpx.HTTPError) as exc:
            self._record_failure(visit, exc)
            return
        except Interrupted:  # counted nowhere: the run is being stopped
            return
        with self.tally.lock:
            self.tally.visits[province] += 1
            self.tally.settled[province] += 1
            self.tally.medfee[province] += fen(info["medfee_sumamt"])
            self.tally.funds[province] += fen(info["fund_pay_sumamt"])

    def _settle(self, flow: VisitFlow, visit: PlannedVisit,
                lines: list[tuple[str, str, str]]) -> dict[str, float]:
        amount = str(sum((Decimal(p) * Decimal(c)).quantize(Decimal("0.01"), ROUND_HALF_UP)
                         for _, p, c in lines))
        now = beijing_now()
        steps: list[Callable[[], Any]]
        if visit.med_type == "21":
            admitted = min(visit.begntime, now - timedelta(minutes=1))  # filings start on the day
            steps = [lambda: flow.admit(begntime=admitted, emergency=visit.emergency),
                     lambda: flow.fees(lines, inpatient=True, when=admitted),
                     lambda: flow.discharge(now),
                     lambda: flow.settle(amount, inpatient=True, acct=visit.acct_used)]
        else:
            steps = [lambda: flow.register(med_type=visit.med_type, disease=visit.disease if
                                           visit.med_type.startswith("14") else "",
                                           begntime=now),
                     lambda: flow.fees(lines, when=now),
                     lambda: flow.settle(amount, acct=visit.acct_used)]
        for step in steps:  # Ctrl-C stops a visit in flight before its next message
            if self.interrupted.is_set():
                raise Interrupted
            result = step()
        info: dict[str, float] = result["setlinfo"]
        return info

    def _record_failure(self, visit: PlannedVisit, exc: Exception) -> None:
        province = visit.insured_province
        code = exc.code if isinstance(exc, HisError) else None
        reason = "http" if isinstance(exc, httpx.HTTPError) else (code or "other")
        with self.tally.lock:
            self.tally.visits[province] += 1
            if visit.expect != "settle" and reason in ("not_filed", "institution_suspended"):
                self.tally.refused_as_expected[province] += 1
            else:
                self.tally.failed[province] += 1
                self.tally.reasons[reason] += 1


def by_person(visits: Sequence[PlannedVisit]) -> list[list[PlannedVisit]]:
    """The visits grouped by person, each group in plan order, groups in order of first visit."""
    groups: dict[str, list[PlannedVisit]] = {}
    for visit in visits:
        groups.setdefault(visit.psn_no, []).append(visit)
    return list(groups.values())


def by_province(tally: Tally) -> dict[str, dict[str, int | float]]:
    """The tally as rows by insured province."""
    rows: dict[str, dict[str, int | float]] = defaultdict(dict)
    for province in sorted(tally.visits):
        rows[province] = {"visits": tally.visits[province], "settled": tally.settled[province],
                          "refused": tally.refused_as_expected[province],
                          "failed": tally.failed[province], "rate": tally.rate(province),
                          "medfee": tally.medfee[province], "funds": tally.funds[province]}
    return rows
