"""A province node (省级平台) as a FastAPI app: the HIS gateway, the federation operations of its
insured persons, and the filing API."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import generate_latest
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.common import (
    http_status,
    node_msgid,
    required,
    signed_body,
)
from medsettle.adapters.api.province_filings import add_filing_routes
from medsettle.adapters.api.province_money import add_money_routes
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.node_data import insured_id_numbers, load_catalogue
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import Verifier, error_body
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.his.gateway import HisGateway
from medsettle.adapters.insured_port import InsuredRouter, certno_hash
from medsettle.adapters.observability import Metrics
from medsettle.adapters.peers import HubClient
from medsettle.adapters.web.province_pages import add_province_console
from medsettle.core.codes import validate_province
from medsettle.core.errors import InvalidInput, MedSettleError, NotFound
from medsettle.core.jsonform import decode, encode
from medsettle.core.policy import PolicyBook
from medsettle.core.served import ServedBook
from medsettle.services.exchange import REQUESTS, Cancelled, Computed, Reversed
from medsettle.services.insured_ops import run_op
from medsettle.services.policy_sets import refresh as refresh_policies
from medsettle.services.treating import Treating
from medsettle.services.treating_settle import retry_pending_reversals

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
    anchor_seconds: float = 86400.0  # how often the chain head is sent to the hub (daily)


def utc_now() -> datetime:
    """The node's clock (UTC)."""
    return datetime.now(UTC)


class ProvinceNode:
    """Everything one province node runs: database, policies, catalogue, gateway, hub link."""

    def __init__(self, config: ProvinceConfig, book: PolicyBook | None = None,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.config = config
        self.clock = clock
        self.store = Store(make_engine(config.db_url))
        migrate(self.store.engine, "province")
        self.book = ServedBook(book or load_policy_book())  # approved sets first, then the seed
        refresh_policies(self.book, self.store)
        self.metrics = Metrics()
        self.hub = (HubClient(config.hub_url, config.region, config.key, config.peer_timeout)
                    if config.hub_url else None)
        self.router = InsuredRouter(config.region, self.store, self.book, self.hub, self.metrics,
                                    clock)
        self.treating = Treating(self.store, config.region, self.router,
                                 load_catalogue(self.store, config.region))
        self.gateway = HisGateway(self.treating, self.metrics, clock)
        self._stop = threading.Event()
        self.verifier = Verifier({"hub": config.key})  # the signed requests the hub sends here

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
        self.hub.ask("/fed/v1/register", {"endpoint": self.config.public_url})
        certnos = insured_id_numbers(self.store)
        for start in range(0, len(certnos), 5000):
            chunk = [certno_hash(c) for c in certnos[start:start + 5000]]
            self.hub.ask("/fed/v1/locator", {"hashes": chunk}, timeout=30)

    def background(self) -> None:
        """Heartbeats to the hub, the ledger's chain head every `anchor_seconds` (skipped when
        empty or unchanged), and retries of pending reversals, until stopped."""
        from datetime import timedelta

        from medsettle.services.anchors import Head, send_anchor

        joined, anchor_due = False, self.clock()
        anchored: Head | None = None
        while not self._stop.wait(0 if not joined else self.config.heartbeat_seconds):
            self.refresh_policies()
            try:
                if not joined:
                    self.join_federation()
                    joined = True
                elif self.hub is not None:
                    self.hub.ask("/fed/v1/heartbeat", {})  # NotFound: the hub forgot us
                    if self.clock() >= anchor_due:
                        anchored = send_anchor(self.store, self.hub.post, anchored, self.clock())
                        anchor_due = self.clock() + timedelta(seconds=self.config.anchor_seconds)
                retry_pending_reversals(self.treating, self.clock())
            except (MedSettleError, OSError) as exc:
                logger.warning("hub unreachable or refusing", extra={"why": str(exc)})
                self._stop.wait(1.0)
                joined = joined and not isinstance(exc, NotFound)
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


def create_province_app(node: ProvinceNode, *, background: bool = True) -> FastAPI:
    """The HTTP face of a province node."""
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if background:
            node.start()
        yield
        node.stop()

    app = FastAPI(title=f"MedSettle province node {node.config.region}", version="1",
                  lifespan=lifespan)
    app.state.node = node

    @app.exception_handler(MedSettleError)
    async def domain_error(request: Request, exc: MedSettleError) -> JSONResponse:
        status = http_status(exc)
        node.metrics.errors.labels(exc.code).inc()
        challenge = status == 401 and request.url.path.startswith("/api/")
        return JSONResponse(error_body(exc), status_code=status,
                            headers={"WWW-Authenticate": 'Bearer realm="medsettle"'}
                            if challenge else None)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.error("request failed unexpectedly", exc_info=exc)
        node.metrics.errors.labels("internal").inc()
        return JSONResponse({"ok": False, "error": {"code": "internal", "message":
                                                    "internal error at the node; nothing changed"}},
                            status_code=500)

    @app.post("/his", summary="HIS gateway (interface.md)", openapi_extra=HIS_OPENAPI)
    async def his(request: Request) -> JSONResponse:
        """One national-interface envelope (infno, msgid, …, input) in; infcode, err_msg and
        output out. Always HTTP 200, as the national interface does; infcode < 0 is failure."""
        body = await request.body()
        return JSONResponse(await run_in_threadpool(node.gateway.handle, body,
                                                    dict(request.headers)))

    @app.post("/fed/v1/ops/{op}", summary="Federation operation for this node's insured persons")
    async def federation_op(op: str, request: Request) -> JSONResponse:
        _, doc = await signed_body(request, node.verifier)
        sender = required(doc, "from", str)
        caller = sender if sender == "hub" else validate_province(sender, "from")
        msgid = node_msgid(doc, op)
        kind = REQUESTS.get(op)
        if kind is None:
            raise InvalidInput("op", f"unknown federation operation {op[:40]!r}")
        typed: object = decode(kind, required(doc, "payload", dict))
        result = await run_in_threadpool(run_op, node.store, node.book, op, msgid, typed,
                                         node.clock(), caller)
        if isinstance(result, Cancelled) or (isinstance(result, Computed) and op == "settle") or (
                isinstance(result, Reversed) and result.cancelled is not None):
            node.metrics.settlements.labels("insured", op).inc()
        return JSONResponse({"ok": True, "result": encode(result)})

    add_filing_routes(app, node)
    add_money_routes(app, node)
    add_province_console(node, app)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        with node.store.tx() as tx:
            persons = tx.count("persons")
        return {"status": "ok", "node": node.config.region, "persons": persons,
                "catalogue": len(node.treating.catalogue)}

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(node.metrics.registry),
                        media_type="text/plain; version=0.0.4")

    return app


HIS_OPENAPI: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "required": ["infno", "msgid", "mdtrtarea_admvs",
                                              "fixmedins_code", "input"]},
    "example": {"infno": "9001", "msgid": "H44030400123202403151030000001",
                "mdtrtarea_admvs": "440300", "insuplc_admdvs": "", "recer_sys_code": "MBS_LOCAL",
                "infver": "V1.0", "opter_type": "1", "opter": "D0107", "opter_name": "收费员甲",
                "inf_time": "2024-03-15 10:30:00", "fixmedins_code": "H44030400123",
                "fixmedins_name": "深圳示例医院", "sign_no": "",
                "input": {"signIn": {"opter_no": "D0107", "mac": "00-16-3E-00-00-01",
                                     "ip": "10.0.0.8"}}}}}}}
