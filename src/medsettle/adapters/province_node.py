"""One province node (省级平台) as a running thing: its database, policies, catalogue, HIS gateway
and hub link, and the background loop (heartbeats, anchors, pending reversals). The HTTP face
is adapters/api/province.py."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from medsettle.adapters import locator_key
from medsettle.adapters.db import crypto
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.node_data import insured_id_numbers, load_catalogue
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import Verifier
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.his.gateway import HisGateway
from medsettle.adapters.index_catchup import CatchUp, repeat_after
from medsettle.adapters.insured_port import HubPort, InsuredRouter, certno_hash
from medsettle.adapters.observability import Metrics
from medsettle.adapters.peers import HubClient
from medsettle.adapters.ratelimit import RateLimiter, burst
from medsettle.adapters.supervision_files import load_threshold_book
from medsettle.core.catalogue import Catalogue
from medsettle.core.errors import MedSettleError, NotFound
from medsettle.core.policy import PolicyBook
from medsettle.core.served import ServedBook
from medsettle.services.anchors import Head, send_anchor
from medsettle.services.policy_sets import refresh as refresh_policies
from medsettle.services.supervision_realtime import use_thresholds
from medsettle.services.treating import Treating
from medsettle.services.treating_settle import pending_reversals, retry_pending_reversals

logger = logging.getLogger(__name__)


@dataclass
class ProvinceConfig:
    """Settings of a province node, read once at start."""

    region: str  # province code, e.g. "440000"
    db_url: str
    key: str
    hub_url: str | None = None
    public_url: str = ""
    peer_timeout: float = 3.0
    heartbeat_seconds: float = 2.0
    anchor_seconds: float = 300.0  # how often the chain head is sent (docs/security.md)
    sandbox: bool = False  # answer every insured place itself, no hub (docs/sandbox.md)
    his_rate: float = 1000.0  # messages a second per institution at the gateway (0: no limit)
    peer_rate: float = 5000.0  # signed requests a second from the hub (0: no limit)


def utc_now() -> datetime:
    """The node's clock (UTC)."""
    return datetime.now(UTC)


class ProvinceNode:
    """Everything one province node runs: database, policies, catalogue, gateway, hub link."""

    def __init__(self, config: ProvinceConfig, book: PolicyBook | None = None,
                 clock: Callable[[], datetime] = utc_now, *, hub_port: HubPort | None = None,
                 schema_ready: bool = False, engine: Engine | None = None,
                 catalogue: Catalogue | None = None) -> None:
        """`hub_port` replaces the HTTP link to the hub for calls to other provinces (a
        simulated network); `schema_ready` skips the migration check of a database known to be
        at the newest schema (a simulation's copies of one migrated template); `engine` is one
        already open on `config.db_url` and `catalogue` the one its database holds, already
        read (a simulation restarts nodes over the same files many times)."""
        self.config = config
        self.clock = clock
        self.store = Store(engine or make_engine(config.db_url))
        if not schema_ready:
            migrate(self.store.engine, "province")
        crypto.configure_from_environment()  # the data key (read at import); loud if dev
        locator_key.configure_from_environment()  # the provinces' shared key; loud if dev
        self.book = ServedBook(book or load_policy_book())  # approved sets first, then the seed
        refresh_policies(self.book, self.store)
        use_thresholds(load_threshold_book())  # supervision's real-time rules
        self.metrics = Metrics()
        self.hub = (HubClient(config.hub_url, config.region, config.key, config.peer_timeout)
                    if config.hub_url else None)
        self.router = InsuredRouter(config.region, self.store, self.book, hub_port or self.hub,
                                    self.metrics, clock, answers_everyone=config.sandbox)
        self.treating = Treating(self.store, config.region, self.router,
                                 catalogue or load_catalogue(self.store, config.region))
        self.gateway = HisGateway(self.treating, self.metrics, clock,
                                  RateLimiter(config.his_rate, burst(config.his_rate),
                                              "institution"))
        self._stop = threading.Event()
        #: Set once the node registered with the hub and published its locator (and again after
        #: a hub that forgot it took it back): before that, no other province can find its
        #: insured persons, so a launcher waits for it rather than for the hub's "up".
        self.joined = threading.Event()
        self._locator_mark: tuple[int, int] | None = None  # (persons, held) when last sent
        # when the hub's index may lack rows of ours
        self.catch_up = CatchUp(again=repeat_after(config.region))
        self.metrics.watch_catch_up(lambda: self.hub is not None and self.catch_up.owed())
        self.metrics.watch_reversals(lambda: pending_reversals(self.store))
        self.verifier = Verifier(  # the signed requests the hub sends here
            {"hub": config.key},
            limiter=RateLimiter(config.peer_rate, burst(config.peer_rate), "node"))

    def reload_catalogue(self) -> int:
        """Re-read the catalogue after it changed; returns its size."""
        self.treating.catalogue = load_catalogue(self.store, self.config.region)
        return len(self.treating.catalogue)

    def refresh_policies(self) -> None:
        """Serve parameter sets approved since the last look (e.g. by `medsettle policy
        approve`, or another worker of this province); a failure is logged, the book kept."""
        try:
            refresh_policies(self.book, self.store)
        except Exception:  # a bad stored set must not stop heartbeats and reversals
            logger.exception("approved parameter sets could not be served")

    def join_federation(self) -> None:
        """Register with the hub and publish the locator index of our insured ID numbers."""
        if self.hub is None:
            return
        self.catch_up.heard(self.hub.ask("/fed/v1/register",
                                         {"endpoint": self.config.public_url}))
        self.publish_locator()

    def publish_locator(self, *, unless_held: bool = False) -> None:
        """Send the hub the keyed hashes of our insured persons' ID numbers (it keeps each
        once): at joining, and again when something may be missing there.

        With `unless_held`, first ask (an empty request) how many the hub holds for us: nothing
        is sent while our persons are as many as at the last publication, the hub holds at
        least what it held after it, and it knows of no more of our persons insured twice than
        we do. So a short outage of the hub costs no pass over every sealed ID number, a hub
        that lost its locator (an upgrade) gets it again, persons loaded since get sent, a
        person another province insures too is learnt of (the hub's answer names them), and a
        hash the hub keeps for another province does not make every look send everything
        again."""
        if self.hub is None:
            return
        with self.store.read() as tx:
            persons, known = tx.count("persons"), tx.count("insured_elsewhere")
        if unless_held and self._locator_mark is not None:
            asked = self.hub.ask("/fed/v1/locator", {"hashes": []})
            held, twice = asked.get("held"), asked.get("twice", 0)
            marked_persons, marked_held = self._locator_mark
            if (persons == marked_persons and isinstance(held, int) and held >= marked_held
                    and isinstance(twice, int) and twice <= known):
                return
        ids = insured_id_numbers(self.store)
        elsewhere = []
        for start in range(0, len(ids), 5000):
            chunk = {certno_hash(certno): psn_no for psn_no, certno in ids[start:start + 5000]}
            answer = self.hub.ask("/fed/v1/locator", {"hashes": list(chunk)}, timeout=30)
            elsewhere += [(chunk[e["certno_hash"]], str(e["province"]))
                          for e in answer.get("elsewhere", []) if e.get("certno_hash") in chunk]
        held = self.hub.ask("/fed/v1/locator", {"hashes": []},  # counted once, after all
                            timeout=30).get("held")
        self._locator_mark = (persons, held) if isinstance(held, int) else None
        if elsewhere:
            with self.store.tx() as tx:
                tx.add_ignore("insured_elsewhere", [
                    {"psn_no": psn_no, "province": province, "found_at": self.clock()}
                    for psn_no, province in elsewhere])
        logger.info("locator published", extra={"persons": persons, "held": held,
                                                "insured_elsewhere": len(elsewhere)})

    def background(self) -> None:
        """Heartbeats to the hub (the first one after joining sends the index catch-up,
        adapters/index_catchup.py); every `anchor_seconds` the ledger's chain head (skipped when
        empty or unchanged) and a look whether the hub's locator holds every person insured
        here (persons loaded while the node runs reach it so); retries of pending reversals;
        until stopped."""
        joined, anchor_due = False, self.clock()
        anchored: Head | None = None
        while not self._stop.wait(0 if not joined else self.config.heartbeat_seconds):
            self.refresh_policies()
            try:
                if not joined:
                    self.join_federation()
                    joined = True
                    self.joined.set()
                elif self.hub is not None:
                    # a NotFound here: the hub forgot us (we join again)
                    self.catch_up.heard(self.hub.ask("/fed/v1/heartbeat", {}))
                    if self.catch_up.due(self.clock()):
                        sent, fresh = self.catch_up.send(self.store, self.hub, self.clock())
                        logger.info("index caught up at the hub", extra={"rows": sent})
                        if fresh:
                            self.publish_locator(unless_held=True)
                    if self.clock() >= anchor_due:
                        anchored = send_anchor(self.store, self.hub.post, anchored, self.clock())
                        self.publish_locator(unless_held=True)  # persons loaded while running
                        anchor_due = self.clock() + timedelta(seconds=self.config.anchor_seconds)
                retry_pending_reversals(self.treating, self.clock())
            except (MedSettleError, OSError) as exc:
                logger.warning("hub unreachable or refusing", extra={"why": str(exc)})
                self.catch_up.lost()
                self._stop.wait(1.0)
                joined = joined and not isinstance(exc, NotFound)
                if not joined:
                    self.joined.clear()
            except Exception:  # a bug must not stop heartbeats and reversals for good
                logger.exception("background round failed")
                self._stop.wait(1.0)

    def start(self) -> None:
        """Start the background thread."""
        threading.Thread(target=self.background, name="federation", daemon=True).start()

    def stop(self) -> None:
        """Stop the background thread and close connections."""
        self._stop.set()
        if self.hub is not None:
            self.hub.close()
