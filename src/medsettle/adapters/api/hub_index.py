"""The hub's settlement index over signed HTTP: for the daily three-way reconciliation (对账)
and for the insured nodes' index catch-ups (adapters/index_catchup.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.api.common import MSGID as ID
from medsettle.adapters.api.common import jsonable, signed_body, signed_by
from medsettle.adapters.db.store import Store
from medsettle.adapters.federation import Verifier
from medsettle.adapters.hub_link import HubLink
from medsettle.core.calendar import day_bounds
from medsettle.core.codes import validate_admdvs
from medsettle.core.errors import InvalidInput, NotFound, PeerBadAnswer
from medsettle.services import hub as hub_svc

INDEX_COLUMNS = ("setl_id", "kind", "ref_setl_id", "mdtrt_id", "psn_no", "insu_admdvs",
                 "mdtrtarea_admvs", "fixmedins_code", "visit_type", "setl_time", "medfee_sumamt",
                 "fund_pay_sumamt", "acct_pay", "psn_cash_pay", "msgid")


def _day(value: str | None, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(name, f"expected yyyy-MM-dd, got {value!r}") from None


#: How long the hub waits for a treating province's word on confirmed cancels (the provinces are
#: asked at once, so a request waits about this long however many are slow: well under the
#: 10 s the reconciliation tool and the 30 s the index catch-up wait for the answer).
ASK_TIMEOUT = 3.0
#: The longest window a node may ask the counts of (a catch-up looks back 30 minutes).
SECONDS_WINDOW = timedelta(hours=1)


def _moment(value: str | None, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(name, f"expected an ISO time with its offset, got {value!r}"
                           ) from None
    if moment.tzinfo is None:
        raise InvalidInput(name, f"expected an ISO time with its offset, got {value!r}")
    return moment


def add_index_routes(app: FastAPI, store: Store, verifier: Verifier, link: HubLink) -> None:
    """GET /fed/v1/index?day=&until=, GET /fed/v1/index/seconds?since=&until= and POST
    /fed/v1/index {rows}, each signed by a node (the query string included) and limited to
    what that node is a party to. A confirmed cancel is first checked with its treating
    province over `link` (services.hub.confirm_with_treating)."""

    def flush() -> None:
        journal = getattr(app.state, "journal", None)
        if journal is not None:
            journal.flush()  # what was forwarded is read, and the log stays in time order

    def read(first: date, last: date, node: str) -> list[dict[str, Any]]:
        flush()
        with store.read() as tx:
            rows = tx.index_between(*day_bounds(first, last), party=node)
        return [jsonable({k: r._mapping[k] for k in INDEX_COLUMNS}) for r in rows]

    def seconds(since: datetime, until: datetime, node: str) -> dict[str, int]:
        flush()
        with store.read() as tx:
            return tx.cross_province_seconds("settlement_index", node, since, until)

    @app.get("/fed/v1/index", summary="Indexed settlements of business days (signed)")
    async def index(request: Request, day: str, until: str | None = None) -> dict[str, Any]:
        """The rows of the days whose insured or treating province is the caller."""
        node = signed_by(request, verifier)
        first = _day(day, "day")
        last = _day(until, "until") if until else first
        if last < first or (last - first).days > 31:
            raise InvalidInput("until", "must be on or after day, at most 31 days later")
        return {"ok": True, "result": await run_in_threadpool(read, first, last, node)}

    @app.get("/fed/v1/index/seconds",
             summary="How many of the caller's insured's settlements are indexed, per second")
    async def index_seconds(request: Request, since: str, until: str) -> dict[str, Any]:
        """Per UTC second of [since, until), the index rows whose insured province is the
        caller: an index catch-up sends only the seconds where the hub holds fewer."""
        node = signed_by(request, verifier)
        start, end = _moment(since, "since"), _moment(until, "until")
        if not start < end <= start + SECONDS_WINDOW:
            raise InvalidInput("until", "must be after since, at most an hour later")
        counts = await run_in_threadpool(seconds, start, end, node)
        return {"ok": True, "result": {"seconds": counts}}

    @app.post("/fed/v1/index", summary="Confirm settlements in the index (signed)")
    async def confirm(request: Request) -> dict[str, Any]:
        """Settlements of the caller's own insured, indexed once per setl_id."""
        node, doc = await signed_body(request, verifier)
        rows = doc.get("rows")
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InvalidInput("rows", "must be a list of index rows")
        parsed = [_row(r, f"rows[{i}]") for i, r in enumerate(rows)]

        def write() -> dict[str, str]:
            flush()
            return hub_svc.confirm_with_treating(store, node, parsed, datetime.now(UTC),
                                                 ask_treating)
        held = await run_in_threadpool(write)
        return {"ok": True, "result": {
            "rows": len(parsed) - len(held),
            "held": [{"setl_id": setl_id, "why": why} for setl_id, why in held.items()]}}

    def ask_treating(province: str, ids: list[str]) -> list[dict[str, Any]]:
        """A treating province's records of settlement ids (hub-signed, as for 对账)."""
        key = link.keys.get(province)
        if key is None:
            raise NotFound(f"the hub holds no key of province {province}")
        with store.read() as tx:
            endpoint = hub_svc.endpoint_of(tx, province)
        answer = link.client.result(
            "GET", endpoint, "/fed/v1/settlements", key,
            query=urlencode({"role": "treating", "ids": ",".join(ids)}),
            timeout=ASK_TIMEOUT, peer=f"province {province}")
        if not isinstance(answer, list) or not all(isinstance(r, dict) for r in answer):
            raise PeerBadAnswer(f"province {province} answered no list of records")
        return answer


#: The text columns of an index row and their most characters (printable ASCII, no spaces).
ID_COLUMNS = {"setl_id": 30, "mdtrt_id": 30, "psn_no": 30, "fixmedins_code": 12,
              "visit_type": 12, "msgid": 30}
AMOUNTS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")
MAX_FEN = 10**12  # ¥10 bn: more than any one settlement


def _row(doc: dict[str, Any], field: str) -> dict[str, Any]:
    """One index row a province confirms, every field checked (InvalidInput naming
    `rows[i].<field>`): the monthly clearing charges provinces by these rows."""
    missing = [k for k in INDEX_COLUMNS if k not in doc and k != "ref_setl_id"]
    if missing:
        raise InvalidInput(f"{field}.{missing[0]}", "missing")
    row: dict[str, Any] = {k: doc.get(k) for k in INDEX_COLUMNS}
    for key, most in ID_COLUMNS.items():
        if not isinstance(row[key], str) or ID.fullmatch(row[key]) is None \
                or len(row[key]) > most:
            raise InvalidInput(f"{field}.{key}", f"must be 1-{most} printable ASCII characters")
    if row["kind"] not in ("settle", "cancel"):
        raise InvalidInput(f"{field}.kind", "must be settle or cancel")
    for key in ("insu_admdvs", "mdtrtarea_admvs"):
        validate_admdvs(row[key], f"{field}.{key}")
    ref = row["ref_setl_id"]
    if row["kind"] == "cancel" and not (isinstance(ref, str) and ID.fullmatch(ref)
                                        and len(ref) <= 30):
        raise InvalidInput(f"{field}.ref_setl_id", "a cancel names the settlement it cancels")
    if row["kind"] == "settle" and ref is not None:
        raise InvalidInput(f"{field}.ref_setl_id", "a settlement cancels nothing: null")
    try:
        moment = datetime.fromisoformat(str(doc["setl_time"]))
    except ValueError:
        raise InvalidInput(f"{field}.setl_time", "must be an ISO time") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{field}.setl_time", "must carry its UTC offset")
    row["setl_time"] = moment
    for key in AMOUNTS:
        value = row[key]
        if type(value) is not int or abs(value) > MAX_FEN:
            raise InvalidInput(f"{field}.{key}", f"must be integer fen, at most {MAX_FEN}")
        if row["kind"] == "settle" and value < 0:
            raise InvalidInput(f"{field}.{key}", "a settlement's amounts are not negative")
    return row
