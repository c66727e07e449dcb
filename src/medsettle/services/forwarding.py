"""What the hub forwards between provinces (docs/federation.md "What the hub forwards").

The hub forwards only what a treating place (就医地) may ask of an insured place (参保地), to a
province other than the sender's own, and a visit or settlement it opens must be in the sender's
province. That the caller owns the visit or settlement it names is checked by the insured node.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from medsettle.core.codes import province_of, validate_admdvs
from medsettle.core.errors import Forbidden, InvalidInput

logger = logging.getLogger(__name__)

#: The operations a treating place may ask of an insured place through the hub.
FORWARDED_OPS = frozenset({"person_info", "open_visit", "cancel_visit", "change_visit",
                           "pre_settle", "settle", "cancel_settlement", "reverse",
                           "accumulations", "file_referral", "revoke_filing"})
#: The operations whose payload names the treating region (`treating_region`).
TREATING_AREA_OPS = frozenset({"open_visit", "pre_settle", "settle"})


@dataclass(frozen=True, slots=True)
class Call:
    """One call the hub has agreed to forward: `target` is the insured province's code."""

    sender: str
    target: str
    op: str
    msgid: str
    payload: Mapping[str, Any]


def admit_call(sender: str, to: str, op: str, msgid: str, payload: Mapping[str, Any]) -> Call:
    """The call to forward from node `sender`, or why the hub refuses it: InvalidInput naming
    `op` or `to` (or payload.treating_region), Forbidden for the sender's own province or a
    treating region in another province."""
    if op not in FORWARDED_OPS:
        raise InvalidInput("op", f"{op[:40]!r} is not an operation the hub forwards; one of "
                           f"{', '.join(sorted(FORWARDED_OPS))}")
    target = province_of(validate_admdvs(to, "to"))
    if target == sender:
        raise Forbidden(f"to: province {sender} handles its own insured persons; the hub does "
                        "not forward to the sender's own province")
    if op in TREATING_AREA_OPS:
        area = validate_admdvs(payload.get("treating_region"), "payload.treating_region")
        if province_of(area) != sender:
            logger.warning("call for another province's treating region refused",
                           extra={"sender": sender, "op": op, "treating_region": area})
            raise Forbidden(f"payload.treating_region: {area} is not in the sender's province "
                            f"{sender}")
    return Call(sender, target, op, msgid, payload)
