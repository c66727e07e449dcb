"""The national hub (国家平台) as a FastAPI app: routing, node health, message log, index."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from prometheus_client import generate_latest
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.common import (
    SHA256_HEX,
    http_status,
    node_msgid,
    parse_object,
    required,
    required_text,
    signed_body,
    signed_by,
)
from medsettle.adapters.api.fan_out import limit_fan_out
from medsettle.adapters.api.fast_lane import FastLane
from medsettle.adapters.api.hub_anchors import add_anchor_routes
from medsettle.adapters.api.hub_clearing import add_clearing_routes
from medsettle.adapters.api.hub_index import add_index_routes
from medsettle.adapters.api.hub_locator import add_locator_routes
from medsettle.adapters.api.hub_supervision import add_supervision_routes
from medsettle.adapters.api.limits import RequestGuard
from medsettle.adapters.api.openapi import document
from medsettle.adapters.api.schemas import (
    CallRequest,
    Done,
    Greeted,
    LocateAnswer,
    LocateRequest,
    LocatorAnswer,
    LocatorRequest,
    NodesAnswer,
    RegisterRequest,
)
from medsettle.adapters.api.schemas_records import (
    AnchorAnswer,
    AnchorRequest,
    AnchorsAnswer,
    HitsAnswer,
    HitsRequest,
    IndexAnswer,
    IndexRecords,
    IndexRequest,
    IndexSeconds,
    RoundAnswer,
    RoundRequest,
)
from medsettle.adapters.db.engine import make_engine, migrate
from medsettle.adapters.db.store import Store
from medsettle.adapters.decision_courier import DecisionCourier
from medsettle.adapters.federation import Verifier, error_body
from medsettle.adapters.hub_journal import Journal
from medsettle.adapters.hub_link import HubLink
from medsettle.adapters.observability import Metrics
from medsettle.adapters.ratelimit import RateLimiter, burst
from medsettle.adapters.web.hub_pages import add_hub_console
from medsettle.core.errors import InvalidInput, MedSettleError
from medsettle.services import hub as svc
from medsettle.services.forwarding import Call, Forwarder, admit_call
from medsettle.services.hub_routing import RoutingTable

logger = logging.getLogger(__name__)
#: The HTTP status the hub answers a forwarded call with, by outcome (ok and error: 200).
OUTCOME_STATUS = {"timeout": 504, "unreachable": 503, "bad_answer": 503}
#: A province's endpoint: http://host[:port][/path]. No user, query or fragment (the hub appends
#: its paths: a query would swallow them and aim the hub's requests elsewhere), and no https:
#: the node-to-node links speak plain HTTP (TLS, where wanted, is a tunnel or proxy in front).
ENDPOINT = re.compile(r"http://(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,126}[A-Za-z0-9])?"
                      r"|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]{0,60})?",
                      re.ASCII)
#: The most locator hashes one request may publish (provinces send chunks of 5,000).
LOCATOR_MAX = 10_000


@dataclass
class HubConfig:
    """Settings of the hub, read once at start."""

    db_url: str
    keys: dict[str, str]
    call_timeout: float = 3.0
    stale_after: timedelta = field(default_factory=lambda: timedelta(seconds=15))
    allow_early_clearing: bool = False  # demos only: clear the current month so far
    peer_rate: float = 5000.0  # signed requests a second from each province (0: no limit)
    retell_seconds: float = 60.0  # how often untold supervision decisions are sent again


def now() -> datetime:
    """The hub's clock (UTC)."""
    return datetime.now(UTC)


def create_hub_app(config: HubConfig) -> FastAPI:
    """Build the hub's app: migrate its database, then serve."""
    engine = make_engine(config.db_url)
    migrate(engine, "hub")
    store = Store(engine)
    metrics = Metrics()
    link = HubLink(config.keys, config.call_timeout)
    courier = DecisionCourier(store, config.keys, now, config.retell_seconds,
                              config.stale_after)
    boot = {"boot": secrets.token_hex(8)}  # names this process: a node notices a restart

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        courier.start()
        yield
        courier.close()
        app.state.journal.close()
        link.close()

    app = FastAPI(title="MedSettle national hub", version="1", lifespan=lifespan)
    app.state.store = store
    verifier = Verifier(config.keys, limiter=RateLimiter(  # one nonce memory, one limit per node
        config.peer_rate, burst(config.peer_rate), "node"))
    add_anchor_routes(app, store, verifier, config.keys)

    async def authenticated(request: Request) -> tuple[str, dict[str, Any]]:
        return await signed_body(request, verifier)

    @app.exception_handler(MedSettleError)
    async def domain_error(_: Request, exc: MedSettleError) -> JSONResponse:
        status = http_status(exc)
        metrics.errors.labels(exc.code).inc()
        return JSONResponse(error_body(exc), status_code=status)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.error("request failed unexpectedly", exc_info=exc)
        metrics.errors.labels("internal").inc()
        return JSONResponse({"ok": False, "error": {"code": "internal", "message":
                                                    "internal error at the hub; see its log"}},
                            status_code=500)

    def in_tx(work: Callable[[Any], Any]) -> Any:
        with store.tx() as tx:
            return work(tx)

    @app.post("/fed/v1/register")
    async def register(request: Request) -> dict[str, Any]:
        node, doc = await authenticated(request)
        endpoint = required_text(doc, "endpoint", ENDPOINT, "http://host[:port][/path], with "
                                 "no query, user or fragment (node links are plain HTTP)")
        await run_in_threadpool(in_tx, lambda tx: svc.register(tx, node, endpoint, now()))
        routes.set(node, endpoint)
        courier.nudge()  # a province that restarted may have missed decisions
        return {"ok": True, "result": boot}

    @app.post("/fed/v1/heartbeat")
    async def heartbeat(request: Request) -> dict[str, Any]:
        node, _ = await authenticated(request)
        if await run_in_threadpool(in_tx, lambda tx: svc.heartbeat(tx, node, now())):
            courier.nudge()  # back after being down
        return {"ok": True, "result": boot}

    @app.post("/fed/v1/locator")
    async def add_locator(request: Request) -> dict[str, Any]:
        node, doc = await authenticated(request)
        hashes = locator_hashes(doc)
        added = await run_in_threadpool(in_tx,
                                        lambda tx: svc.add_locator(tx, node, hashes, now()))
        asked = {} if added.held is None else {"held": added.held, "twice": added.twice}
        return {"ok": True, "result": {"count": added.count, "elsewhere": [
            {"certno_hash": h, "province": p} for h, p in added.elsewhere], **asked}}

    @app.post("/fed/v1/locate")
    async def locate(request: Request) -> dict[str, Any]:
        _, doc = await authenticated(request)
        wanted = required_text(doc, "certno_hash", SHA256_HEX, "64 lowercase hex digits")
        province = await run_in_threadpool(in_tx, lambda tx: svc.locate(tx, wanted))
        return {"ok": True, "result": {"province": province}}

    @app.post("/fed/v1/call")
    async def forward(request: Request) -> JSONResponse:
        status, answer = await run_in_threadpool(call_route, request.url.path,
                                                 dict(request.headers), await request.body())
        return JSONResponse(answer, status_code=status)

    def call_route(path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        """The plain function behind /fed/v1/call (also served by the fast lane)."""
        try:
            sender = verifier.verify(headers, path, body)
            outcome, answer = forwarder.forward(read_call(sender, parse_object(body)))
            return OUTCOME_STATUS.get(outcome, 200), answer
        except MedSettleError as exc:
            metrics.errors.labels(exc.code).inc()
            return http_status(exc), error_body(exc)

    def lookup(province: str) -> str:
        return str(in_tx(lambda tx: svc.endpoint_of(tx, province)))

    def observe(op: str, outcome: str, seconds: float) -> None:
        metrics.peer_calls.labels(op, outcome).observe(seconds)
        metrics.requests.labels(op, outcome).inc()

    routes = RoutingTable(lookup)
    journal = Journal(store, now)
    app.state.journal = journal
    forwarder = Forwarder(store, routes, link, journal, now, config.call_timeout, observe)
    add_clearing_routes(app, store, config.keys, verifier,
                        allow_early=config.allow_early_clearing)
    add_index_routes(app, store, verifier, link)
    add_locator_routes(app, store)
    limit_fan_out(app)
    add_supervision_routes(app, store, config.keys, verifier)
    add_hub_console(app, store, config.keys, config.stale_after)
    app.state.hot_routes = {"/fed/v1/call": call_route}
    document(app, {("POST", "/fed/v1/register"): (RegisterRequest, Greeted),
                   ("POST", "/fed/v1/heartbeat"): (None, Greeted),
                   ("POST", "/fed/v1/locator"): (LocatorRequest, LocatorAnswer),
                   ("POST", "/fed/v1/locate"): (LocateRequest, LocateAnswer),
                   ("POST", "/fed/v1/call"): (CallRequest, None),
                   ("POST", "/fed/v1/anchor"): (AnchorRequest, AnchorAnswer),
                   ("POST", "/fed/v1/anchors/round"): (RoundRequest, RoundAnswer),
                   ("GET", "/fed/v1/anchors/{node}"): (None, AnchorsAnswer),
                   ("GET", "/fed/v1/index"): (None, IndexRecords),
                   ("GET", "/fed/v1/index/seconds"): (None, IndexSeconds),
                   ("POST", "/fed/v1/index"): (IndexRequest, IndexAnswer),
                   ("POST", "/fed/v1/supervision/hits"): (HitsRequest, HitsAnswer),
                   ("POST", "/fed/v1/journal/flush"): (None, Done),
                   ("GET", "/fed/v1/nodes"): (None, NodesAnswer)})

    def nodes_now() -> list[dict[str, Any]]:
        with store.read() as tx:
            return svc.board(tx, now(), config.stale_after)

    @app.get("/status")
    async def status_board() -> dict[str, Any]:
        """Up or down, for anyone (a load balancer, a dashboard): not where a node is
        reached, which only members of the federation learn (/fed/v1/nodes)."""
        nodes = [{k: n[k] for k in ("region", "status", "since")}
                 for n in await run_in_threadpool(nodes_now)]
        return {"nodes": nodes, "up": sum(n["status"] == "up" for n in nodes),
                "down": sum(n["status"] == "down" for n in nodes)}

    @app.get("/fed/v1/nodes", summary="The status board with each node's endpoint (signed)")
    async def nodes_board(request: Request) -> dict[str, Any]:
        signed_by(request, verifier)
        return {"ok": True, "result": await run_in_threadpool(nodes_now)}

    @app.get("/status.html", include_in_schema=False)
    def status_page() -> RedirectResponse:
        """The old status board: now the console's node board (sign-in required)."""
        return RedirectResponse("/console/nodes", status_code=308)

    @app.post("/fed/v1/journal/flush", summary="Write the queued message log and index now")
    async def flush(request: Request) -> dict[str, Any]:
        await authenticated(request)
        await run_in_threadpool(journal.flush)
        return {"ok": True}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "node": "hub"}

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    app.add_middleware(RequestGuard)  # body limits, no control characters in paths (outermost)
    return app


def serve_hub_app(config: HubConfig) -> FastLane:
    """The hub's app as served: the forward in the fast lane, FastAPI behind."""
    app = create_hub_app(config)
    return FastLane(app, app.state.hot_routes)


def read_call(sender: str, doc: Mapping[str, Any]) -> Call:
    """A /fed/v1/call document: its fields (400 naming the first bad one), then what the hub
    agrees to forward for `sender` (services.forwarding.admit_call)."""
    to = required(doc, "to", str)
    op = required(doc, "op", str)
    msgid = node_msgid(doc, op)
    payload = required(doc, "payload", dict)
    return admit_call(sender, to, op, msgid, payload)


def locator_hashes(doc: Mapping[str, Any]) -> list[str]:
    """The `hashes` of a locator document: a list of SHA-256 hex digests (400 naming the first
    bad entry)."""
    hashes = required(doc, "hashes", list)
    if len(hashes) > LOCATOR_MAX:
        raise InvalidInput("hashes", f"has {len(hashes)} entries; at most {LOCATOR_MAX} allowed")
    for i, value in enumerate(hashes):
        if not isinstance(value, str) or SHA256_HEX.fullmatch(value) is None:
            raise InvalidInput(f"hashes[{i}]", "must be 64 lowercase hex digits")
    return hashes
