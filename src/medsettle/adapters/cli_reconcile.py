"""`medsettle reconcile`: the daily three-way reconciliation (对账) treating node ↔ hub ↔ insured
node, run next to the hub (it needs the hub's database for the settlement index and the node
keys file to sign its calls).

Node lists are fetched over HTTP (`GET /fed/v1/settlements`, signed as the hub); a one-sided
settlement at the insured node is reversed with `cancel_settlement` through the hub's
`/fed/v1/call`, signed as the treating province; each treating node stores its report
(`POST /fed/v1/reconciliation-reports`).
"""

from __future__ import annotations

import json
import logging
from datetime import date
from http.client import HTTPException
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table as RichTable

from medsettle.adapters.cli_errors import FAILED, fail, status_of
from medsettle.adapters.cli_nodes import keys_file
from medsettle.adapters.peers import HubClient, SignedClient
from medsettle.core.errors import InvalidInput, MedSettleError, PeerBadAnswer, PeerUnavailable
from medsettle.core.jsonform import decode, encode
from medsettle.core.money import fen_to_yuan
from medsettle.services.exchange import Cancelled, CancelSettlement
from medsettle.services.reconcile import (
    DayReport,
    Record,
    by_insured_province,
    reconcile_day,
    record_from,
    unique_records,
)

logger = logging.getLogger(__name__)


class HttpSides:
    """services.reconcile.Sides over the federation: the nodes and the hub's index by signed
    HTTP. It holds the node keys, as an operator tool beside the hub does."""

    def __init__(self, hub_url: str, keys: dict[str, str], timeout: float = 10.0) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.keys = keys
        self.timeout = timeout
        self.as_hub = SignedClient("hub", timeout)
        self.endpoints: dict[str, str] = {}

    def regions(self) -> list[str]:
        """The provinces registered at the hub (its signed node board, which names where each
        is reached; asked as the first province whose key the tool holds)."""
        if not self.endpoints:
            provinces = [r for r in self.keys if r != "hub"]
            if not provinces:
                raise InvalidInput("--keys", "has no province's key to ask the hub with")
            sender = min(provinces)
            board = self._signed(self.hub_url, sender, self.keys[sender], "GET",
                                 "/fed/v1/nodes")
            if not isinstance(board, list) or not all(
                    isinstance(n, dict) and isinstance(n.get("region"), str)
                    and isinstance(n.get("endpoint"), str) for n in board):
                raise PeerBadAnswer("the hub answered /fed/v1/nodes without a list of nodes")
            self.endpoints = {n["region"]: n["endpoint"] for n in board}
        return sorted(self.endpoints)

    def _signed(self, url: str, sender: str, key: str, method: str, path: str,
                doc: Any = None, query: str = "") -> Any:
        """One signed request (its path, `query` and body); the answer's result, or the peer's
        error raised here (an answer that is not a JSON object: PeerUnavailable)."""
        client = self.as_hub if sender == "hub" else SignedClient(sender, self.timeout)
        try:
            return client.result(method, url, path, key, doc, query=query.lstrip("?"),
                                 peer=url)
        finally:
            if client is not self.as_hub:
                client.close()

    def _node(self, region: str, method: str, path: str, doc: Any = None,
              query: str = "") -> Any:
        """A province node, signed as the hub with that province's key."""
        return self._signed(self.endpoints[region], "hub", self.keys[region], method, path, doc,
                            query)

    def settlements(self, region: str, role: str, first: date, last: date) -> list[Record]:
        """A node's records of `role` for first..last."""
        query = f"?day={first.isoformat()}&until={last.isoformat()}&role={role}"
        rows = self._node(region, "GET", "/fed/v1/settlements", query=query)
        return [record_from(r) for r in rows]

    def _hub(self, method: str, path: str, doc: Any = None, query: str = "",
             region: str | None = None) -> Any:
        """The hub, signed as `region` (the first registered province if None)."""
        region = region or next(iter(self.regions()))
        return self._signed(self.hub_url, region, self.keys[region], method, path, doc, query)

    def hub_index(self, first: date, last: date) -> list[Record]:
        """The hub's settlement index for first..last (it flushes its journal first): asked as
        each province, which the hub answers with the rows that province is a party to."""
        query = f"?day={first.isoformat()}&until={last.isoformat()}"
        return unique_records(record_from(r | {"status": ""})
                              for region in self.regions()
                              for r in self._hub("GET", "/fed/v1/index", query=query,
                                                 region=region))

    def index_at_hub(self, records: list[Record]) -> dict[str, str]:
        """Confirm settlements at the hub: write their index rows (once per setl_id), signed
        as each settlement's insured province, the only one the hub takes them from. The
        cancels the hub held (their treating province did not confirm them), with why."""
        held: dict[str, str] = {}
        for region, group in by_insured_province(records).items():
            answer = self._hub("POST", "/fed/v1/index",
                               {"rows": [r.index_row() for r in group]}, region=region)
            held |= {str(h["setl_id"]): str(h["why"]) for h in answer.get("held", [])}
        return held

    def reverse_at_insured(self, record: Record, msgid: str) -> str:
        """cancel_settlement at the insured node: through the hub for a cross-province record
        (signed as the treating province, so the hub indexes the cancel), else directly.
        Returns the cancel's settlement id."""
        payload = encode(CancelSettlement(record.setl_id, "RV" + record.setl_id[2:]))
        if not record.cross_province:
            doc = {"from": "hub", "msgid": msgid, "payload": payload}
            answer = self._node(record.insured_province, "POST",
                                "/fed/v1/ops/cancel_settlement", doc)
        else:
            region = record.treating_province
            client = HubClient(self.hub_url, region, self.keys[region], timeout=10.0)
            try:
                answer = client.call(record.insured_province, "cancel_settlement", msgid,
                                     payload)
            finally:
                client.close()
        return decode(Cancelled, answer, "answer").cancel.settlement_id

    def save_report(self, region: str, day: date, balanced: bool,
                    report: dict[str, Any]) -> None:
        """Store the report in the treating node's reconciliation_reports."""
        if region not in self.endpoints:
            raise PeerUnavailable(f"province {region} is not registered at the hub")
        self._node(region, "POST", "/fed/v1/reconciliation-reports",
                   {"day": day.isoformat(), "scope": "hub", "counterpart": "hub",
                    "balanced": balanced, "report": report})

    def anchor_round(self) -> dict[str, str]:
        """Have the hub take every province's chain head now (docs/security.md: a run of
        reconciliation is also an anchor round). Best effort: a failure is logged."""
        try:
            outcomes: dict[str, str] = self._hub("POST", "/fed/v1/anchors/round", {})["anchors"]
        except (MedSettleError, OSError, HTTPException, KeyError, TypeError) as exc:
            logger.warning("anchor round after reconciliation failed", extra={"why": str(exc)})
            return {}
        logger.info("anchors taken after reconciliation", extra={"anchors": outcomes})
        return outcomes

    def close(self) -> None:
        """Close connections."""
        self.as_hub.close()


def run_reconciliation(day: date, hub_url: str, keys: dict[str, str]) -> list[DayReport]:
    """Reconcile one day across the federation; returns the reports (also saved at the nodes)."""
    sides = HttpSides(hub_url, keys)
    try:
        reports = reconcile_day(sides, day)
        sides.anchor_round()
        return reports
    finally:
        sides.close()


def _yuan(amounts: dict[str, int] | None) -> str:
    if amounts is None:
        return "—"
    return f"{fen_to_yuan(amounts['medfee_sumamt'])} / {fen_to_yuan(amounts['fund_pay_sumamt'])}"


def render(reports: list[DayReport], console: Console) -> None:
    """Print the reports as a Rich table: one row per finding, a line per balanced province."""
    table = RichTable(title="对账 treating ↔ hub ↔ insured (medfee / fund, ¥)")
    for column in ("treating", "setl_id", "problem", "action", "outcome", "treating side",
                   "hub", "insured side"):
        table.add_column(column)
    for report in reports:
        if report.balanced:
            counts = report.counts
            table.add_row(report.treating_province, "", "balanced", "", "",
                          str(counts.get("treating", 0)), str(counts.get("hub", 0)),
                          str(counts.get("insured", 0)))
        for f in report.findings:
            table.add_row(report.treating_province, f.setl_id, f.problem, f.action, f.outcome,
                          _yuan(f.sides["treating"]), _yuan(f.sides["hub"]),
                          _yuan(f.sides["insured"]))
    console.print(table)


def reconcile_command(
        day: Annotated[str, typer.Option(help="business day yyyy-MM-dd (Asia/Shanghai)")],
        hub: Annotated[str, typer.Option(help="the hub's URL")] = "http://127.0.0.1:8000",
        keys: Annotated[Path, typer.Option(help="node keys file")] = Path("var/keys.json"),
        as_json: Annotated[bool, typer.Option("--json", help="print the reports as JSON")]
        = False) -> None:
    """Daily reconciliation: find one-sided settlements, reverse or confirm them, report."""
    console = Console()
    try:
        try:
            on = date.fromisoformat(day)
        except ValueError:
            raise InvalidInput("--day", f"expected yyyy-MM-dd, got {day!r}") from None
        if not hub.startswith(("http://", "https://")):
            raise InvalidInput("--hub", f"must be an http:// or https:// URL, not {hub!r}")
        node_keys = keys_file(keys)
        reports = run_reconciliation(on, hub, node_keys)
    except MedSettleError as exc:
        fail(str(exc), status_of(exc))
    except (OSError, HTTPException) as exc:
        fail(f"a node cannot be reached: {exc}", FAILED)
    if as_json:
        typer.echo(json.dumps([r.as_doc() for r in reports], ensure_ascii=False, indent=1))
    else:
        render(reports, console)
    if any(f.outcome == "failed" for r in reports for f in r.findings):
        raise typer.Exit(1)
