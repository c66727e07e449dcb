"""A kill -9 drill over a real federation (bench/bench_crash.py and tests/e2e/test_crash_drill.py).

Hospitals play planned cross-province visits through the gateways as a HIS would: a message
that gets no answer, or a `[peer_unavailable]` one, is sent again with the same msgid (the
gateway answers a retry from its message log or runs it again with the same derived ids); a
settlement still unanswered after `give_up` seconds is reversed (冲正, 2601). Meanwhile a killer
sends SIGKILL to the hub, the treating node or an insured node at random moments and restarts
it after a short outage. Afterwards `audit` reads every database: money on each side, msgids
still pending, what every visit ended as; and `IndexWatch` measures how far the hub's index is
from the insured ledgers while it happens, before reconciliation.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from medsettle.adapters.cli_demo import today_in_china
from medsettle.adapters.cli_reconcile import run_reconciliation
from medsettle.adapters.db import drill_queries as q
from medsettle.adapters.federation import load_keys
from medsettle.adapters.his.client import HisClient
from medsettle.adapters.his.err_msg import code_of
from medsettle.adapters.launcher import Federation
from medsettle.adapters.player import Player
from medsettle.sim.traffic import PlannedVisit

logger = logging.getLogger(__name__)
PROBLEMS = ("fen differ between the treating and insured ledgers", "visits settled more than once",
            "visits half reversed", "msgids pending", "reversals pending", "ledgers not balanced",
            "settlements missing at the hub", "nodes not up on the status board")
#: The error codes a HIS sends again (same msgid) after a pause: the insured place or the hub did
#: not answer, or the gateway asked to slow down.
TRANSIENT = frozenset({"peer_unavailable", "rate_limited"})


def transient(answer: Mapping[str, Any]) -> bool:
    """Whether a refused answer is worth sending again: its err_msg's code (`… [code] (…)`,
    after the clerk's Chinese lead) is one of TRANSIENT."""
    return answer.get("infcode") != 0 and code_of(str(answer.get("err_msg", ""))) in TRANSIENT


class RetryingHis(HisClient):
    """A HIS that sends a message again, unchanged, until it is answered or `give_up` seconds
    have passed; a settlement that never got an answer is then reversed with 2601."""

    give_up = 20.0
    reversed: list[str]

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        deadline = time.monotonic() + self.give_up
        while True:
            try:
                answer = super().send(envelope)
                if not transient(answer):
                    return answer
            except httpx.HTTPError:
                answer = None
            if time.monotonic() > deadline:
                break
            time.sleep(0.3)
        if envelope["infno"] in ("2207", "2304"):
            self._reverse(envelope)
        if answer is not None:
            return answer
        raise httpx.TransportError(f"{envelope['infno']} {envelope['msgid']}: no answer")

    def _reverse(self, settle: dict[str, Any]) -> None:
        data = settle["input"]["data"]
        reversal = self.envelope("2601", {"data": {"psn_no": data["psn_no"],
                                                   "omsgid": settle["msgid"],
                                                   "oinfno": settle["infno"]}},
                                 insuplc=settle["insuplc_admdvs"])
        deadline = time.monotonic() + 4 * self.give_up
        while time.monotonic() < deadline:
            try:
                answer = HisClient.send(self, reversal)
                if answer["infcode"] == 0:
                    self.reversed.append(settle["msgid"])
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        logger.warning("reversal unanswered", extra={"msgid": settle["msgid"]})


class ChaosPlayer(Player):
    """Player whose hospitals retry (RetryingHis)."""

    def __init__(self, urls: Mapping[str, str], give_up: float = 20.0) -> None:
        super().__init__(urls, httpx.Client(timeout=8, limits=httpx.Limits(max_connections=64)))
        self.give_up = give_up
        self.reversed: list[str] = []

    def his(self, visit: PlannedVisit) -> HisClient:
        with self._lock:
            client = self._clients.get(visit.fixmedins_code)
            if client is None:
                his = RetryingHis(self.urls[visit.treating_province], visit.fixmedins_code,
                                  visit.fixmedins_name, self.http)
                his.give_up, his.reversed = self.give_up, self.reversed
                self._clients[visit.fixmedins_code] = client = his
        if not client.sign_no:
            client.sign_in()
        return client


@dataclass
class Killer:
    """Kills one of `victims` with SIGKILL every `every` seconds (± half), restarting it after
    `outage` seconds, until stopped."""

    fed: Federation
    victims: Sequence[str]
    every: float
    outage: float = 1.0
    seed: int = 1
    kills: Counter[str] = field(default_factory=Counter)
    last_kill: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        rng = random.Random(self.seed)
        while not self.stop.wait(self.every * rng.uniform(0.5, 1.5)):
            victim = rng.choice(self.victims)
            self.fed.kill(victim)
            self.kills[victim] += 1
            self.last_kill = time.monotonic()
            time.sleep(self.outage * rng.uniform(0.5, 1.5))
            revive(self.fed, victim)


def revive(fed: Federation, name: str, tries: int = 5) -> None:
    """Start a killed node again, trying again if it does not come up (a loaded machine)."""
    for _ in range(tries):
        try:
            fed.restart(name)
            return
        except (TimeoutError, RuntimeError):
            logger.warning("restart failed; trying again", extra={"node": name})
            proc = fed.procs.get(name)
            if proc is not None:
                fed.kill(name)
    raise RuntimeError(f"{name} did not come back after {tries} restarts")


def missing_from_index(fed: Federation, insured: Sequence[str]) -> list[dict[str, Any]]:
    """The settlement records at the insured nodes that the hub's index lacks."""
    indexed = q.indexed_ids(fed.dbs["hub"])
    return [r for region in insured for r in q.cross_province_insured(fed.dbs[region])
            if r["setl_id"] not in indexed]


def index_gap(fed: Federation, insured: Sequence[str]) -> tuple[int, int]:
    """(settlement records at the insured nodes the hub's index lacks, their fund in fen)."""
    missing = missing_from_index(fed, insured)
    return len(missing), sum(abs(r["fund_pay_sumamt"]) for r in missing)


@dataclass
class IndexWatch:
    """Samples the index gap every `every` seconds: the timeline of the hub's view being wrong,
    and for each settlement the samples that found it missing (first, last)."""

    fed: Federation
    insured: Sequence[str]
    every: float = 1.0
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    missing: dict[str, tuple[float, float]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop.wait(self.every):
            try:
                rows = missing_from_index(self.fed, self.insured)
            except Exception:  # a database being restarted under us: skip the sample
                continue
            self.sample(time.monotonic() - started, rows)

    def sample(self, at: float, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record one sample taken `at` seconds into the drill."""
        self.samples.append((at, len(rows), sum(abs(r["fund_pay_sumamt"]) for r in rows)))
        for row in rows:
            first, _ = self.missing.get(row["setl_id"], (at, at))
            self.missing[row["setl_id"]] = (first, at)

    def oldest(self) -> float:
        """The longest one settlement stayed missing, in seconds: from the first sample that
        found it missing to the last (a settlement seen in one sample only counts 0)."""
        return round(max((last - first for first, last in self.missing.values()), default=0.0),
                     1)

    def worst(self) -> tuple[int, int]:
        return max(((c, f) for _, c, f in self.samples), default=(0, 0))

    def longest(self) -> float:
        """The longest stretch, in seconds, over which every sample showed a gap."""
        longest, since = 0.0, None
        for at, count, _ in self.samples:
            if count and since is None:
                since = at
            elif not count and since is not None:
                longest, since = max(longest, at - since), None
        if since is not None and self.samples:
            longest = max(longest, self.samples[-1][0] - since)
        return round(longest, 1)


def audit(fed: Federation, treating: str, insured: Sequence[str],
          reversed_msgids: Sequence[str] = ()) -> dict[str, Any]:
    """What every database says after the drill: each problem counted (all must be 0)."""
    visits: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for region in (treating, *insured):
        for r in q.settlement_sides(fed.dbs[region]):
            if r["insu_admdvs"][:2] != r["mdtrtarea_admvs"][:2]:
                visits[r["mdtrt_id"]][r["role"]].append(r)
    problems: Counter[str] = Counter(dict.fromkeys(PROBLEMS, 0))
    outcomes: Counter[str] = Counter()
    for sides in visits.values():
        nets = {role: sum(r["fund_pay_sumamt"] + r["acct_pay"] for r in rows)
                for role, rows in sides.items()}
        if nets.get("treating", 0) != nets.get("insured", 0):
            problems["fen differ between the treating and insured ledgers"] += 1
        active = [r for r in sides.get("insured", []) if r["kind"] == "settle"
                  and r["status"] == "settled"]
        if len(active) > 1:
            problems["visits settled more than once"] += 1
        cancels = [r for r in sides.get("insured", []) if r["kind"] == "cancel"]
        settles = [r for r in sides.get("insured", []) if r["kind"] == "settle"]
        if len(cancels) > len(settles) or (not active and nets.get("insured", 0) != 0):
            problems["visits half reversed"] += 1
        outcomes["settled once" if active else "reversed"] += 1
    for region in (treating, *insured):
        pending = [r for r in q.message_responses(fed.dbs[region])
                   if '"pending": true' in json.dumps(r["response"])]
        problems["msgids pending"] += len(pending)
        problems["reversals pending"] += q.pending_reversals(fed.dbs[region])
        problems["ledgers not balanced"] += int(q.ledger_total(fed.dbs[region]) != 0)
    gap_count, gap_fen = index_gap(fed, insured)
    problems["settlements missing at the hub"] += gap_count
    board = {n["region"]: n["status"] for n in fed.status()["nodes"]}
    problems["nodes not up on the status board"] += sum(
        1 for region in (treating, *insured) if board.get(region) != "up")
    return {"visits": len(visits), "outcomes": dict(outcomes), "gap_fen": gap_fen,
            "reversed_by_his": len(reversed_msgids),
            "problems": {k: v for k, v in problems.items()},
            "ok": not any(problems.values())}


def settle_quietly(fed: Federation, treating: str, seconds: float = 60.0) -> float:
    """Wait until the treating node has no reversal pending (it retries them itself); the
    seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if not q.pending_reversals(fed.dbs[treating]):
            break
        time.sleep(0.5)
    return time.monotonic() - started


def run_drill(fed: Federation, visits: Sequence[PlannedVisit], treating: str,
              insured: Sequence[str], *, every: float, concurrency: int = 8,
              give_up: float = 20.0, seed: int = 1,
              minutes: float | None = None) -> dict[str, Any]:
    """Play `visits` while the killer works (no new visit starts after `minutes`); then
    reconcile and audit. The figures."""
    player = ChaosPlayer(fed.urls, give_up)
    killer = Killer(fed, ["hub", treating, *insured], every, seed=seed)
    watch = IndexWatch(fed, insured)
    threads = [threading.Thread(target=killer.run, daemon=True),
               threading.Thread(target=watch.run, daemon=True)]
    started = time.monotonic()
    if minutes is not None:
        threads.append(threading.Timer(minutes * 60, player.halted.set))
    for thread in threads:
        thread.start()
    try:
        tally = player.play(visits, concurrency)
    finally:  # also on Ctrl-C: no node is killed or restarted after this
        killer.stop.set()
    if minutes is not None:
        threads.pop().cancel()  # type: ignore[attr-defined]
    threads[0].join()
    played = time.monotonic() - started
    for name in ["hub", treating, *insured]:  # a restart the killer could not finish
        if name not in fed.procs or fed.procs[name].poll() is not None:
            fed.procs.pop(name, None)
            revive(fed, name)
    fed.wait_all_up(seconds=60)
    quiet = settle_quietly(fed, treating)
    time.sleep(5.0)  # the journal writes every 0.25 s; a catch-up follows a heartbeat (2 s)
    watch.stop.set()
    threads[1].join()
    before = index_gap(fed, insured)
    reports = run_reconciliation(today_in_china(), fed.hub_url, load_keys(fed.keys_path))
    fed.flush_hub_journal()
    result = audit(fed, treating, insured, player.reversed)
    result |= {
        "planned": len(visits), "played": sum(tally.visits.values()),
        "seconds": round(played, 1), "kills": dict(killer.kills),
        "settled_by_his": sum(tally.settled.values()), "failed_at_his": dict(tally.reasons),
        "reversals_pending_for_s": round(quiet, 1),
        "index_gap_worst": watch.worst(), "index_gap_longest_s": watch.longest(),
        "index_gap_oldest_row_s": watch.oldest(),
        "index_gap_before_reconciliation": before,
        "index_gap_after": index_gap(fed, insured),
        "reconciliation_findings": Counter(f.problem for r in reports for f in r.findings),
        "timeline": watch.samples}
    return result
