"""How a province node reaches insured places: itself for its own insured, the hub for others."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from medsettle.adapters.locator_key import locator_hash
from medsettle.adapters.observability import Metrics
from medsettle.core.errors import InvalidInput, MedSettleError, NotFound, PeerUnavailable
from medsettle.core.jsonform import decode, encode
from medsettle.core.policy import PolicyBook
from medsettle.services.exchange import ANSWERS
from medsettle.services.insured_ops import run_op
from medsettle.services.ports import Database


def certno_hash(certno: str) -> str:
    """The locator key of an ID number: keyed with the provinces' shared locator key, so the
    hub neither sees the number nor can test guesses against what it keeps."""
    return locator_hash(certno)


class HubPort(Protocol):
    """How a province reaches the hub for its calls to other provinces: adapters.peers.HubClient
    over signed HTTP, or a simulated network (adapters/simulation)."""

    def call(self, to: str, op: str, msgid: str, payload: Mapping[str, Any]
             ) -> dict[str, Any]: ...

    def ask(self, path: str, doc: Mapping[str, Any], timeout: float | None = None) -> Any: ...


class InsuredRouter:
    """Implements services.treating.InsuredPort for one province node."""

    def __init__(self, region: str, db: Database, book: PolicyBook, hub: HubPort | None,
                 metrics: Metrics, clock: Callable[[], datetime],
                 answers_everyone: bool = False) -> None:
        self.region = region
        self.answers_everyone = answers_everyone  # sandbox: every insured place is this node
        self.db = db
        self.book = book
        self.hub = hub
        self.metrics = metrics
        self.clock = clock

    def call(self, insured_region: str, op: str, msgid: str, request: object) -> Any:
        """Run `op` at the insured place of `insured_region`: in process for this node's own
        insured persons, else through the hub as JSON (core/jsonform)."""
        province = insured_region[:2] + "0000"
        started = time.perf_counter()
        outcome = "ok"
        try:
            if province == self.region or self.answers_everyone:
                result = run_op(self.db, self.book, op, msgid, request, self.clock(),
                                caller=self.region)
                if op in ("settle", "cancel_settlement"):
                    self.metrics.settlements.labels("insured", op).inc()
                return result
            if self.hub is None:
                raise NotFound(f"no hub configured to reach province {province}")
            answer = self.hub.call(province, op, msgid, encode(request))
            try:
                return decode(ANSWERS[op], answer, "answer")
            except InvalidInput as exc:  # the peer's fault, not the hospital's
                raise PeerUnavailable(f"province {province} answered {op} malformed: "
                                      f"{exc}") from None
        except MedSettleError as exc:
            outcome = exc.code
            raise
        finally:
            where = "local" if province == self.region else "remote"
            self.metrics.peer_calls.labels(f"{op}:{where}", outcome).observe(
                time.perf_counter() - started)

    def locate(self, certno: str) -> str:
        """The insured region of an ID number: our own persons first, then the hub's locator."""
        with self.db.tx() as tx:
            person = tx.one("persons", certno=certno.upper())
        if person is not None:
            return str(person.insu_admdvs)
        if self.hub is None:
            raise NotFound("this ID number is not insured here and no hub is configured")
        result = self.hub.ask("/fed/v1/locate", {"certno_hash": certno_hash(certno)})
        if not isinstance(result, dict) or not isinstance(result.get("province"), str):
            raise PeerUnavailable("the national hub answered locate without a province")
        return str(result["province"])
