"""The province console's person page: an insured person found by person number or ID number,
masked; a case worker may show the ID number and name in the clear, which the audit log records
(services/personal_data.py). An auditor sees the masked values only."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from medsettle.adapters.province_node import ProvinceNode
from medsettle.adapters.web.app import Pages
from medsettle.core import codes
from medsettle.core.errors import InvalidInput, MedSettleError
from medsettle.services import personal_data as svc


def _is_id_number(text: str) -> bool:
    try:
        codes.validate_id_card(text.upper(), "q")
    except InvalidInput:
        return False
    return True


def add_person_page(pages: Pages, node: ProvinceNode) -> None:
    """GET /console/persons?q=<person number or ID number>[&unmask=1]."""
    app, store = pages.app, node.store

    @app.get("/console/persons", response_class=HTMLResponse, include_in_schema=False)
    async def persons(request: Request) -> HTMLResponse:
        operator = await pages.operator(request)
        text = (request.query_params.get("q") or "").strip()
        unmask = request.query_params.get("unmask") == "1"

        def look() -> dict[str, Any] | None:
            if not text:
                return None
            with store.tx() as tx:
                if _is_id_number(text):
                    return svc.find_person(tx, text, operator, unmask=unmask, now=node.clock())
                return svc.person_view(tx, text, operator, unmask=unmask, now=node.clock())
        try:
            person, error = await run_in_threadpool(look), None
        except MedSettleError as exc:
            person, error = None, str(exc)
        shown = person["psn_no"] if person else ("" if _is_id_number(text) else text)
        return pages.page(request, "province/person.html", operator, q=shown, person=person,
                          error=error, may_unmask=svc.may_unmask(operator))
