"""The simulated federation's nodes: the real province node and the hub's real forwarding, each
over its own SQLite file, wired to the simulated network instead of HTTP.

A province is a `ProvinceNode` (its gateway, treating and insured use cases, policies and
catalogue) whose calls to other provinces go through `SimHubPort`. The hub is the forwarding
use case (`services.forwarding.Forwarder`), its batched message log and index (`Journal`,
flushed on the simulated clock) and its routing table, as `adapters/api/hub.py` wires them.
Documents cross the network as JSON, as over HTTP. A node object holds only what a process
holds in memory: a crash drops it and a restart builds a new one over the same database file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import orjson
from sqlalchemy import Engine

from medsettle.adapters.api.hub import read_call
from medsettle.adapters.api.hub_index import INDEX_COLUMNS
from medsettle.adapters.api.province import run_federation_op
from medsettle.adapters.db.engine import make_engine
from medsettle.adapters.db.records import settlement_row
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import error_body, result_of
from medsettle.adapters.hub_journal import Journal
from medsettle.adapters.insured_port import certno_hash
from medsettle.adapters.peers import dumps
from medsettle.adapters.province_node import ProvinceConfig, ProvinceNode
from medsettle.adapters.simulation.network import Network, SimClock
from medsettle.core.calendar import day_bounds
from medsettle.core.catalogue import Catalogue
from medsettle.core.errors import InvalidInput, MedSettleError, PeerUnreachable
from medsettle.core.jsonform import encode
from medsettle.core.policy import PolicyBook
from medsettle.core.records import Role
from medsettle.services import hub as hub_service
from medsettle.services.forwarding import Forwarder
from medsettle.services.hub_routing import RoutingTable

HUB = "hub"


def wire(doc: Any) -> Any:
    """A document as the other side reads it off the wire (JSON: dates and decimals as text)."""
    return orjson.loads(dumps(doc))


class SimHubPort:
    """A province's link to the hub over the simulated network (adapters.insured_port.HubPort)."""

    def __init__(self, region: str, net: Network) -> None:
        self.region = region
        self.net = net

    def call(self, to: str, op: str, msgid: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Ask province `to` to run `op` through the hub; its result, or its error raised here."""
        doc = wire({"to": to, "op": op, "msgid": msgid, "payload": payload})
        answer = self.net.call(self.region, HUB, f"{op} {msgid} →{to}",
                               lambda hub: hub.forward(self.region, doc))
        result = result_of(answer)
        if not isinstance(result, dict):
            raise PeerUnreachable(f"province {to} answered {op} without a result object")
        return result

    def ask(self, path: str, doc: Mapping[str, Any], timeout: float | None = None) -> Any:
        """The hub's locator (the only other hub route a settlement needs)."""
        if path != "/fed/v1/locate":
            raise InvalidInput("path", f"the simulated hub does not serve {path}")
        wanted = str(doc["certno_hash"])
        return result_of(self.net.call(self.region, HUB, "locate",
                                       lambda hub: hub.locate(wanted)))


class SimPeerLink:
    """The hub's link to provinces over the simulated network (services.forwarding.PeerLink)."""

    def __init__(self, net: Network) -> None:
        self.net = net

    def send(self, target: str, endpoint: str, op: str, doc: Mapping[str, Any]
             ) -> dict[str, Any]:
        """Run `op` at province `target`; its answer document."""
        sent = wire(doc)
        answer: dict[str, Any] = wire(self.net.call(HUB, target, f"{op} {doc.get('msgid')}",
                                                    lambda node: node.federation_op(op, sent)))
        return answer


class SimProvince:
    """One province node as a process holds it."""

    def __init__(self, region: str, engine: Engine, catalogue: Catalogue, book: PolicyBook,
                 clock: SimClock, net: Network) -> None:
        self.region = region
        config = ProvinceConfig(region=region, db_url=str(engine.url), key="sim")
        self.node = ProvinceNode(config, book, clock.now, hub_port=SimHubPort(region, net),
                                 schema_ready=True, engine=engine, catalogue=catalogue)

    @property
    def engine(self) -> Engine:
        """The node's database engine."""
        return self.node.store.engine

    def his(self, raw: bytes) -> dict[str, Any]:
        """One HIS envelope through the node's gateway; the answer as the HIS reads it."""
        answer: dict[str, Any] = wire(self.node.gateway.handle(raw, {}))
        return answer

    def federation_op(self, op: str, doc: dict[str, Any]) -> dict[str, Any]:
        """What POST /fed/v1/ops/{op} answers (adapters/api/province.py, after the signature)."""
        try:
            return {"ok": True, "result": encode(run_federation_op(self.node, op, doc))}
        except MedSettleError as exc:
            return error_body(exc)

    def close(self) -> None:
        """Let go of the database (the process is gone)."""
        self.engine.dispose()


class SimHub:
    """The national hub's forwarding, message log and index as a process holds them."""

    def __init__(self, engine: Engine, clock: SimClock, net: Network) -> None:
        self.net = net
        self.store = Store(engine)
        self.clock = clock.now
        self.routes = RoutingTable(self._endpoint)
        self.journal = Journal(self.store, clock.now, background=False)
        self.forwarder = Forwarder(self.store, self.routes, SimPeerLink(net), self.journal,
                                   clock.now, net.faults.timeout, timer=clock.seconds)

    def _endpoint(self, province: str) -> str:
        with self.store.tx() as tx:
            return hub_service.endpoint_of(tx, province)

    def forward(self, sender: str, doc: dict[str, Any]) -> dict[str, Any]:
        """What POST /fed/v1/call answers (adapters/api/hub.py, after the signature)."""
        try:
            _, answer = self.forwarder.forward(read_call(sender, doc))
        except MedSettleError as exc:
            return error_body(exc)
        relayed: dict[str, Any] = wire(answer)
        return relayed

    def locate(self, wanted: str) -> dict[str, Any]:
        """What POST /fed/v1/locate answers."""
        try:
            with self.store.tx() as tx:
                return {"ok": True, "result": {"province": hub_service.locate(tx, wanted)}}
        except MedSettleError as exc:
            return error_body(exc)

    def index(self, first: date, last: date) -> list[dict[str, Any]]:
        """The index rows of business days first..last (the journal written first): what
        GET /fed/v1/index answers the provinces, together."""
        self.journal.flush()
        with self.store.tx() as tx:
            rows = tx.index_between(*day_bounds(first, last))
        return [{k: r._mapping[k] for k in INDEX_COLUMNS} for r in rows]

    def confirm(self, sender: str, rows: list[dict[str, Any]]) -> dict[str, str]:
        """What POST /fed/v1/index does: index settlements once per setl_id, each new one with
        its line in the message log (the journal written first, as the hub does), a cancel
        only as its treating province confirms it. The cancels held, with why."""
        self.journal.flush()
        return hub_service.confirm_with_treating(self.store, sender, rows, self.clock(),
                                                 self._treating_records)

    def _treating_records(self, province: str, ids: list[str]) -> list[dict[str, Any]]:
        """What GET /fed/v1/settlements?role=treating&ids=… answers the hub."""
        def read(node: SimProvince) -> list[dict[str, Any]]:
            with node.node.store.read() as tx:
                return [settlement_row(r) for r in tx.settlements_with_ids(Role.TREATING, ids)]
        return self.net.call(HUB, province, f"settlements of {len(ids)} ids", read)

    @property
    def engine(self) -> Engine:
        """The hub's database engine."""
        return self.store.engine

    def close(self) -> None:
        """Let go of the database; what the journal still held is lost, as in a crash."""
        self.engine.dispose()


def register_provinces(hub_url: str, provinces: Mapping[str, list[str]],
                       now: Callable[[], Any]) -> None:
    """The hub's routing table and locator index as if every province had joined (their ID
    numbers hashed, as a joining node publishes them)."""
    store = Store(make_engine(hub_url))
    with store.tx() as tx:
        for region, certnos in sorted(provinces.items()):
            hub_service.register(tx, region, f"sim://{region}", now())
            hub_service.add_locator(tx, region, [certno_hash(c) for c in certnos], now())
    store.engine.dispose()
