"""A province's operators look up its insured persons (services/personal_data.py): masked by
default, `?unmask=true` for a role that may, each such read in the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI

from medsettle.adapters.api.auth import operator_dependency
from medsettle.adapters.api.common import in_tx
from medsettle.adapters.province_node import ProvinceNode
from medsettle.core.operators import Operator
from medsettle.services import personal_data as svc


def add_person_routes(app: FastAPI, node: ProvinceNode) -> None:
    """GET /api/v1/persons/{psn_no} and GET /api/v1/persons?certno= (operators, audited)."""
    who = Depends(operator_dependency(node.store, "province", node.config.region))

    @app.get("/api/v1/persons/{psn_no}", summary="An insured person (masked unless ?unmask=true)")
    def one(psn_no: str, unmask: bool = False, operator: Operator = who) -> Any:
        return in_tx(node.store, lambda tx: svc.person_view(tx, psn_no, operator, unmask=unmask,
                                                            now=node.clock()))

    @app.get("/api/v1/persons", summary="Find an insured person by ID number (audited)")
    def find(certno: str, unmask: bool = False, operator: Operator = who) -> Any:
        return in_tx(node.store, lambda tx: svc.find_person(tx, certno, operator, unmask=unmask,
                                                            now=node.clock()))
