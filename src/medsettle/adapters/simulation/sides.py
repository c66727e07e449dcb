"""Daily reconciliation (对账) in the simulation: services.reconcile's `Sides` over the simulated
network, each call what the HTTP routes of `medsettle reconcile` do (adapters/cli_reconcile.py)."""

from __future__ import annotations

from datetime import date
from typing import Any

from medsettle.adapters.db.records import settlement_row
from medsettle.adapters.federation import result_of
from medsettle.adapters.simulation.network import Network
from medsettle.adapters.simulation.nodes import HUB, SimHub, SimHubPort, SimProvince
from medsettle.core.jsonform import decode, encode
from medsettle.core.records import Role
from medsettle.services.exchange import Cancelled, CancelSettlement
from medsettle.services.reconcile import Record, by_insured_province, record_from

OPERATOR = "reconcile"


class SimSides:
    """The nodes and the hub's index as the reconciliation tool beside the hub reaches them."""

    def __init__(self, net: Network, provinces: tuple[str, ...]) -> None:
        self.net = net
        self.provinces = provinces

    def regions(self) -> list[str]:
        """The provinces of the federation."""
        return sorted(self.provinces)

    def settlements(self, region: str, role: str, first: date, last: date) -> list[Record]:
        """A node's records of `role` for first..last (GET /fed/v1/settlements)."""
        def read(node: SimProvince) -> list[Record]:
            with node.node.store.tx() as tx:
                return [record_from(settlement_row(r))
                        for r in tx.settlements_between(Role(role), first, last)]
        return self.net.call(OPERATOR, region, f"settlements {role} {first}", read)

    def hub_index(self, first: date, last: date) -> list[Record]:
        """The hub's index for first..last (GET /fed/v1/index)."""
        rows = self.net.call(OPERATOR, HUB, f"index {first}",
                             lambda hub: hub.index(first, last))
        return [record_from(r | {"status": ""}) for r in rows]

    def index_at_hub(self, records: list[Record]) -> dict[str, str]:
        """Index settlements at the hub (POST /fed/v1/index), as each one's insured province,
        as the CLI does; the cancels the hub held, with why."""
        def write(hub: SimHub) -> dict[str, str]:
            held: dict[str, str] = {}
            for region, group in by_insured_province(records).items():
                held |= hub.confirm(region, [r.index_row() | {"setl_time": r.setl_time}
                                             for r in group])
            return held
        return self.net.call(OPERATOR, HUB, f"confirm {len(records)} index rows", write)

    def reverse_at_insured(self, record: Record, msgid: str) -> str:
        """cancel_settlement at the insured node, through the hub as the treating province."""
        payload = encode(CancelSettlement(record.setl_id, "RV" + record.setl_id[2:]))
        if not record.cross_province:
            doc = {"from": "hub", "msgid": msgid, "payload": payload}
            answer: Any = result_of(self.net.call(
                OPERATOR, record.insured_province, f"cancel_settlement {msgid}",
                lambda node: node.federation_op("cancel_settlement", doc)))
        else:
            port = SimHubPort(record.treating_province, self.net)
            answer = port.call(record.insured_province, "cancel_settlement", msgid, payload)
        return decode(Cancelled, answer, "answer").cancel.settlement_id

    def save_report(self, region: str, day: date, balanced: bool,
                    report: dict[str, Any]) -> None:
        """Keep the report at the treating node (POST /fed/v1/reconciliation-reports)."""
        def write(node: SimProvince) -> None:
            with node.node.store.tx() as tx:
                tx.add("reconciliation_reports", {
                    "day": day, "scope": "hub", "counterpart": "hub", "balanced": balanced,
                    "report": report, "created_at": node.node.clock()})
        self.net.call(OPERATOR, region, f"report {day}", write)
