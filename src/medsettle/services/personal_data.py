"""An operator's view of an insured person (参保人): masked unless the operator's role may read
personal data and asks to see it; every read in the clear is written to the audit log.

ID numbers (身份证号) and names are stored sealed (adapters/db/crypto.py); this is the one place
an operator reads them back. A case worker of the province (role `province`) may ask for the
clear values (`unmask`); an auditor sees them masked and is refused the clear ones. Finding a
person by ID number is itself a read of personal data (it ties the number to the person) and
is audited too.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from medsettle.core.errors import Forbidden, NotFound
from medsettle.core.operators import Operator
from medsettle.core.privacy import mask_id, mask_name, pseudonym
from medsettle.services.audit import Actor, record
from medsettle.services.person_auth import checked_certno
from medsettle.services.ports import UnitOfWork

logger = logging.getLogger(__name__)
#: The operator roles that may read ID numbers and names in the clear.
UNMASK_ROLES = frozenset({"province"})


def may_unmask(operator: Operator) -> bool:
    """Whether the operator's role may read personal data in the clear."""
    return operator.role in UNMASK_ROLES


def person_view(tx: UnitOfWork, psn_no: str, operator: Operator, *, unmask: bool,
                now: datetime) -> dict[str, Any]:
    """The person's record as the operator may see it (masked, or in the clear and audited)."""
    row = tx.one("persons", psn_no=psn_no)
    if row is None:
        raise NotFound(f"no person {psn_no} is insured here", field="psn_no")
    return _shown(tx, row, operator, unmask, now, "person.read")


def find_person(tx: UnitOfWork, certno: object, operator: Operator, *, unmask: bool,
                now: datetime) -> dict[str, Any]:
    """The person with this ID number (found by its keyed hash); the lookup is audited."""
    number = checked_certno(certno)
    row = tx.one("persons", certno=number)
    if row is None:
        raise NotFound("no person insured here has this ID number", field="certno")
    return _shown(tx, row, operator, unmask, now, "person.find")


def _shown(tx: UnitOfWork, row: Any, operator: Operator, unmask: bool, now: datetime,
           action: str) -> dict[str, Any]:
    if unmask and not may_unmask(operator):
        raise Forbidden(f"unmask: role {operator.role} may not read ID numbers and names in "
                        "the clear")
    view = {"psn_no": row.psn_no, "name": row.psn_name if unmask else mask_name(row.psn_name),
            "certno": row.certno if unmask else mask_id(row.certno), "gend": row.gend,
            "birth_year": row.brdy.year, "insu_admdvs": row.insu_admdvs,
            "insutype": row.insutype, "psn_type": row.psn_type,
            "insurance_active": bool(row.insurance_active), "masked": not unmask}
    if unmask or action == "person.find":
        fields = ["certno", "psn_name"] if unmask else []
        record(tx, Actor.of(operator), action, f"person:{row.psn_no}", None,
               {"unmasked": fields}, now)
        logger.info("personal data read", extra={"operator": operator.name, "action": action,
                                                  "person": pseudonym(row.psn_no),
                                                  "unmasked": bool(fields)})
    return view
