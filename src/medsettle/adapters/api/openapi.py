"""The OpenAPI of a node's app (served at /openapi.json, read at /docs with the Swagger UI files
under /static: no CDN), made to say what the routes really do.

FastAPI documents a 422 for every route with parameters, and no body for routes that read their
own; MedSettle's routes answer a bad value with 400 (common.http_status) and read their bodies
themselves. `document` therefore answers FastAPI's own parameter errors with 400 too (naming the
parameter), drops the 422s, declares each JSON route's error statuses with their body
(schemas.ErrorBody), and adds the request and answer schemas of schemas.py and his/schema.py.
Each federation operation gets a path of its own (POST /fed/v1/ops/person_info, …).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from medsettle.adapters.api.schemas import REF, ErrorBody, op_schemas
from medsettle.adapters.federation import error_body
from medsettle.core.errors import InvalidInput

#: The statuses a JSON route may answer besides 200, and what each means.
ERRORS = {
    "400": "bad input, naming the field; nothing changed",
    "401": "not authenticated: a node's signature or an operator's or person's token is "
           "missing or wrong",
    "403": "authenticated, but not allowed to do this",
    "404": "what the request names does not exist",
    "409": "conflicts with the current state (or a msgid reused for another request)",
    "503": "a node this request needs is unavailable; nothing changed",
}
#: Routes that answer 200 whatever they are sent (the HIS gateway) or take nothing.
ALWAYS_200 = frozenset({"/his", "/healthz", "/metrics", "/status"})
OPS_PATH = "/fed/v1/ops/{op}"
Schemas = Mapping[tuple[str, str], tuple[type[BaseModel] | None, type[BaseModel] | None]]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": REF.format(model=model.__name__)}


def document(app: FastAPI, schemas: Schemas) -> None:
    """Make `app`'s parameter errors 400 and its OpenAPI true; `schemas` gives (request,
    answer) models by (method, path)."""

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = [str(p) for p in first.get("loc", ()) if p not in ("path", "query", "body")]
        field = ".".join(where) or "request"
        return JSONResponse(error_body(InvalidInput(field, str(first.get("msg", "is invalid"))
                                                    .lower())), status_code=400)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app, schemas)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build(app: FastAPI, schemas: Schemas) -> dict[str, Any]:
    """The corrected OpenAPI document of `app`."""
    spec = get_openapi(title=app.title, version=app.version, routes=app.routes,
                       description=app.description)
    components: dict[str, Any] = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    models: dict[type[BaseModel], JsonSchemaMode] = {ErrorBody: "serialization"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if path not in ALWAYS_200 and "application/json" in responses.get(
                    "200", {}).get("content", {"application/json": {}}):
                for status, text in ERRORS.items():
                    responses.setdefault(status, {"description": text,
                                                  "content": _json(_ref(ErrorBody))})
            request, answer = schemas.get((method.upper(), path), (None, None))
            if request is not None:
                models[request] = "validation"
                before = operation.get("requestBody", {}).get("content", {})
                content = _json(_ref(request))
                if "example" in before.get("application/json", {}):
                    content["application/json"]["example"] = before["application/json"][
                        "example"]
                operation["requestBody"] = {"required": True, "content": content}
            if answer is not None:
                models[answer] = "serialization"
                others = {kind: body for kind, body in
                          responses["200"].get("content", {}).items() if kind != "application/json"}
                responses["200"]["content"] = _json(_ref(answer)) | others  # e.g. 9102's file
    for model, mode in models.items():
        schema = model.model_json_schema(ref_template=REF, mode=mode)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    if OPS_PATH in spec["paths"]:
        _expand_ops(spec, components)
    if "/fed/v1/call" in spec["paths"]:
        _describe_call(spec, components)
    return spec


def _one_of(schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique: list[dict[str, Any]] = []
    for schema in schemas:
        if schema not in unique:
            unique.append(schema)
    return unique


def _describe_call(spec: dict[str, Any], components: dict[str, Any]) -> None:
    """The hub's /fed/v1/call carries any operation's request and answers its answer."""
    ops, defs = op_schemas()
    components.update(defs)
    payloads = [request["properties"]["payload"] for request, _ in ops.values()]
    components["CallRequest"]["properties"]["payload"] = {
        "description": "the operation's request (POST /fed/v1/ops/{op} at the province)",
        "oneOf": _one_of(payloads)}
    answers = [answer for _, answer in ops.values()]
    spec["paths"]["/fed/v1/call"]["post"]["responses"]["200"] = {
        "description": "the province's answer to the operation, passed on",
        "content": _json({"oneOf": _one_of(answers)})}


def _expand_ops(spec: dict[str, Any], components: dict[str, Any]) -> None:
    """One path per federation operation, each with its request and answer schemas."""
    template = spec["paths"].pop(OPS_PATH)["post"]
    ops, defs = op_schemas()
    components.update(defs)
    for op, (request, answer) in ops.items():
        operation = {**template, "summary": f"Federation operation {op} (signed)",
                     "operationId": f"federation_{op}", "parameters": [],
                     "requestBody": {"required": True, "content": _json(request)},
                     "responses": {**template["responses"],
                                   "200": {"description": "the operation's answer",
                                           "content": _json(answer)}}}
        spec["paths"][f"/fed/v1/ops/{op}"] = {"post": operation}
