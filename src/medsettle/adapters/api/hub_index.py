"""The hub's settlement index over signed HTTP, for the daily three-way reconciliation (对账)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.common import jsonable, signed_body, signed_by
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import Verifier
from medsettle.core.calendar import business_date, day_bounds
from medsettle.core.errors import InvalidInput
from medsettle.services import hub as hub_svc

INDEX_COLUMNS = ("setl_id", "kind", "ref_setl_id", "mdtrt_id", "psn_no", "insu_admdvs",
                 "mdtrtarea_admvs", "fixmedins_code", "visit_type", "setl_time", "medfee_sumamt",
                 "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "msgid")


def _day(value: str | None, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(name, f"expected yyyy-MM-dd, got {value!r}") from None


def add_index_routes(app: FastAPI, store: Store, verifier: Verifier) -> None:
    """GET /fed/v1/index?day=&until= and POST /fed/v1/index {rows} (both signed by a node,
    the query string included)."""

    def read(first: date, last: date) -> list[dict[str, Any]]:
        journal = getattr(app.state, "journal", None)
        if journal is not None:
            journal.flush()
        start, end = day_bounds(first, last)
        with store.tx() as tx:
            rows = tx.rows("settlement_index", order_by="setl_time")
        return [jsonable({k: r._mapping[k] for k in INDEX_COLUMNS}) for r in rows
                if start <= r.setl_time < end and first <= business_date(r.setl_time)
                <= last]

    @app.get("/fed/v1/index", summary="Indexed settlements of business days (signed)")
    async def index(request: Request, day: str, until: str | None = None) -> dict[str, Any]:
        signed_by(request, verifier)
        first = _day(day, "day")
        last = _day(until, "until") if until else first
        if last < first or (last - first).days > 31:
            raise InvalidInput("until", "must be on or after day, at most 31 days later")
        return {"ok": True, "result": await run_in_threadpool(read, first, last)}

    @app.post("/fed/v1/index", summary="Confirm settlements in the index (signed)")
    async def confirm(request: Request) -> dict[str, Any]:
        node, doc = await signed_body(request, verifier)
        rows = doc.get("rows")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidInput("rows", "must be a list of index rows")
        parsed = [_row(r, f"rows[{i}]") for i, r in enumerate(rows)]

        def write() -> None:
            journal = getattr(app.state, "journal", None)
            if journal is not None:
                journal.flush()  # the log stays in the order things happened
            with store.tx() as tx:
                hub_svc.confirm_index(tx, node, parsed, datetime.now(UTC))
        await run_in_threadpool(write)
        return {"ok": True, "result": {"rows": len(parsed)}}


def _row(doc: dict[str, Any], field: str) -> dict[str, Any]:
    missing = [k for k in INDEX_COLUMNS if k not in doc and k != "ref_setl_id"]
    if missing:
        raise InvalidInput(f"{field}.{missing[0]}", "missing")
    row = {k: doc.get(k) for k in INDEX_COLUMNS}
    try:
        row["setl_time"] = datetime.fromisoformat(str(doc["setl_time"]))
    except ValueError:
        raise InvalidInput(f"{field}.setl_time", "must be an ISO time") from None
    for key in ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"):
        if type(row[key]) is not int:
            raise InvalidInput(f"{field}.{key}", "must be integer fen")
    return row

