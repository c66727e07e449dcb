"""The hub operators' routes over the locator: the hashes more than one province published
(lookups of them name no province), and taking one province's publication back once the
provinces have found which one insures the person. Each removal is in the hub's audit log."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.auth import authenticate
from medsettle.adapters.api.common import SHA256_HEX, jsonable, parse_object
from medsettle.adapters.db.store import Store
from medsettle.core.codes import validate_admdvs
from medsettle.core.errors import InvalidInput
from medsettle.services import hub as svc
from medsettle.services.audit import Actor, run_audited


def _hash(value: str) -> str:
    if not SHA256_HEX.fullmatch(value):
        raise InvalidInput("certno_hash", "must be 64 lowercase hex digits")
    return value


def add_locator_routes(app: FastAPI, store: Store,
                       clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
    """GET /locator/contested, GET /locator/{certno_hash} and POST
    /locator/{certno_hash}/withdraw {"province": "440000"}: hub operators only."""

    @app.get("/locator/contested", summary="Hashes published by more than one province "
                                           "(hub operators)")
    async def contested(request: Request) -> dict[str, Any]:
        await authenticate(request, store, "hub", None)
        def read() -> list[dict[str, Any]]:
            with store.read() as tx:
                return svc.contested_hashes(tx)
        return {"ok": True, "result": jsonable(await run_in_threadpool(read))}

    @app.get("/locator/{certno_hash}", summary="The provinces that published a hash "
                                               "(hub operators)")
    async def claims(certno_hash: str, request: Request) -> dict[str, Any]:
        await authenticate(request, store, "hub", None)
        wanted = _hash(certno_hash)
        def read() -> list[dict[str, Any]]:
            with store.read() as tx:
                return svc.locator_claims(tx, wanted)
        return {"ok": True, "result": jsonable(await run_in_threadpool(read))}

    @app.post("/locator/{certno_hash}/withdraw",
              summary="Take one province's publication of a hash back (hub operators)")
    async def withdraw(certno_hash: str, request: Request) -> dict[str, Any]:
        operator = await authenticate(request, store, "hub", None)
        wanted = _hash(certno_hash)
        doc = parse_object(await request.body())
        province = doc.get("province")
        if not isinstance(province, str):
            raise InvalidInput("province", "the province whose publication is taken back, "
                                           "e.g. 440000")
        validate_admdvs(province, "province")
        after = await run_in_threadpool(
            run_audited, store, Actor.of(operator), "locator.withdraw",
            f"{wanted[:16]}… {province}",
            lambda tx: svc.withdraw_locator(tx, province, wanted), clock(),
            lambda tx: svc.locator_claims(tx, wanted))
        return {"ok": True, "result": jsonable(after)}
