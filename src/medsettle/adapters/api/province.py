"""A province node's HTTP face (省级平台): the HIS gateway, the federation operations of its
insured persons, the filing and money APIs and the console. ProvinceConfig and ProvinceNode
(re-exported here) are in adapters/province_node.py."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import generate_latest
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.common import (
    http_status,
    node_msgid,
    parse_object,
    required,
)
from medsettle.adapters.api.fast_lane import FastLane, RawBody, Route
from medsettle.adapters.api.limits import RequestGuard, his_body_limit
from medsettle.adapters.api.openapi import document
from medsettle.adapters.api.province_anchors import add_anchor_exchange
from medsettle.adapters.api.province_filings import add_filing_routes
from medsettle.adapters.api.province_money import add_money_routes
from medsettle.adapters.api.province_persons import add_person_routes
from medsettle.adapters.api.province_supervision import add_supervision_routes
from medsettle.adapters.api.schemas import Done, Health
from medsettle.adapters.api.schemas_claims import CLAIM_SCHEMAS
from medsettle.adapters.api.schemas_filings import FILING_SCHEMAS
from medsettle.adapters.api.schemas_records import (
    DecisionAnswer,
    DecisionRequest,
    ExchangeAnswer,
    ExchangeRequest,
    PaidInstitutions,
    ReportRequest,
    SettlementRecords,
    StoredReports,
)
from medsettle.adapters.federation import error_body
from medsettle.adapters.his.envelope import FileAnswer
from medsettle.adapters.his.schema import HisRequest, HisResponse
from medsettle.adapters.province_node import ProvinceConfig, ProvinceNode
from medsettle.adapters.web.app_pages import add_person_app
from medsettle.adapters.web.province_pages import add_province_console
from medsettle.core.codes import validate_province
from medsettle.core.errors import InvalidInput, MedSettleError
from medsettle.core.jsonform import decode, encode
from medsettle.services.exchange import REQUESTS, Cancelled, Computed, Reversed
from medsettle.services.insured_ops import run_op

logger = logging.getLogger(__name__)
__all__ = ["ProvinceConfig", "ProvinceNode", "create_province_app"]


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
    async def his(request: Request) -> Response:
        """One national-interface envelope (infno, msgid, …, input) in; infcode, err_msg and
        output out. Always HTTP 200, as the national interface does; infcode < 0 is failure."""
        status, doc = await run_in_threadpool(routes["/his"], request.url.path,
                                              dict(request.headers), await request.body())
        if isinstance(doc, RawBody):  # 9102: the file itself
            return Response(doc.content, status_code=status, media_type=doc.media_type,
                            headers=doc.headers)
        return JSONResponse(doc, status_code=status)

    @app.post("/fed/v1/ops/{op}", summary="Federation operation for this node's insured persons")
    async def federation_op(op: str, request: Request) -> JSONResponse:
        status, doc = await run_in_threadpool(routes["/fed/v1/ops/"], request.url.path,
                                              dict(request.headers), await request.body())
        return JSONResponse(doc, status_code=status)

    routes = hot_routes(node)
    app.state.hot_routes = routes
    document(app, {("POST", "/his"): (HisRequest, HisResponse),
                   ("GET", "/healthz"): (None, Health),
                   ("GET", "/fed/v1/settlements"): (None, SettlementRecords),
                   ("POST", "/fed/v1/anchor-exchange"): (ExchangeRequest, ExchangeAnswer),
                   ("POST", "/fed/v1/reconciliation-reports"): (ReportRequest, Done),
                   ("GET", "/api/v1/reconciliation-reports"): (None, StoredReports),
                   ("POST", "/fed/v1/supervision/decisions"): (DecisionRequest,
                                                               DecisionAnswer),
                   ("POST", "/fed/v1/clearing/{month}/pay-institutions"): (None,
                                                                           PaidInstitutions),
                   **FILING_SCHEMAS, **CLAIM_SCHEMAS})
    add_filing_routes(app, node)
    add_money_routes(app, node)
    add_anchor_exchange(app, node)
    add_person_routes(app, node)
    add_supervision_routes(app, node)
    add_province_console(node, app)
    add_person_app(node, app)  # the insured person's app: /app and /api/v1/me (after: sessions)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        with node.store.tx() as tx:
            persons = tx.count("persons")
        return {"status": "ok", "node": node.config.region, "persons": persons,
                "catalogue": len(node.treating.catalogue), "joined": node.joined.is_set()}

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(generate_latest(node.metrics.registry),
                        media_type="text/plain; version=0.0.4")

    app.add_middleware(RequestGuard)  # body limits, no control characters in paths (outermost)
    return app


def hot_routes(node: ProvinceNode) -> dict[str, Route]:
    """The plain functions behind the routes every settlement crosses (served by the FastAPI
    routes above, and by the fast lane in front of them: adapters/api/fast_lane.py)."""

    def his(path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        answer = node.gateway.handle(body, headers)
        if isinstance(answer, FileAnswer):
            return 200, RawBody(answer.content, headers={
                "content-disposition": file_disposition(answer.filename)})
        return 200, answer

    def federation(path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        try:
            node.verifier.verify(headers, path, body)
            return 200, {"ok": True, "result": encode(run_federation_op(
                node, path.rsplit("/", 1)[-1], parse_object(body)))}
        except MedSettleError as exc:
            node.metrics.errors.labels(exc.code).inc()
            return http_status(exc), error_body(exc)

    return {"/his": his, "/fed/v1/ops/": federation}


def file_disposition(filename: str) -> str:
    """The Content-Disposition of a downloaded file: its name, kept exact for any client."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def run_federation_op(node: ProvinceNode, op: str, doc: dict[str, Any]) -> object:
    """One federation operation the hub forwarded: for its caller (`from`), by its msgid, on
    its payload read into the operation's typed request."""
    sender = required(doc, "from", str)
    caller = sender if sender == "hub" else validate_province(sender, "from")
    msgid = node_msgid(doc, op)
    kind = REQUESTS.get(op)
    if kind is None:
        raise InvalidInput("op", f"unknown federation operation {op[:40]!r}")
    typed: object = decode(kind, required(doc, "payload", dict))
    result = run_op(node.store, node.book, op, msgid, typed, node.clock(), caller)
    if isinstance(result, Cancelled) or (isinstance(result, Computed) and op == "settle") or (
            isinstance(result, Reversed) and result.cancelled is not None):
        node.metrics.settlements.labels("insured", op).inc()
    return result


def serve_province_app(node: ProvinceNode, *, background: bool = True) -> FastLane:
    """The province node's app as served: the hot routes in the fast lane, FastAPI behind."""
    app = create_province_app(node, background=background)
    return FastLane(app, app.state.hot_routes,
                    limits={"/his": his_body_limit(node.config.region, node.clock)})


HIS_OPENAPI: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {
    "example": {"infno": "9001", "msgid": "H44030400123202403151030000001",
                "mdtrtarea_admvs": "440300", "insuplc_admdvs": "", "recer_sys_code": "MBS_LOCAL",
                "infver": "V1.0", "opter_type": "1", "opter": "D0107", "opter_name": "收费员甲",
                "inf_time": "2024-03-15 10:30:00", "fixmedins_code": "H44030400123",
                "fixmedins_name": "深圳示例医院", "sign_no": "",
                "input": {"signIn": {"opter_no": "D0107", "mac": "00-16-3E-00-00-01",
                                     "ip": "10.0.0.8"}}}}}},
    "responses": {"200": {"description": "The answer envelope; a 9102 download that succeeds "
                                         "answers the file itself.",
                          "content": {"application/json": {"schema": {"type": "object"}},
                                      "application/octet-stream": {
                                          "schema": {"type": "string", "format": "binary"}}}}}}
