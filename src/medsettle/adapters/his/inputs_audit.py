"""Inputs of the pre-event and in-event audit (事前事中): 3101 and 3103.

The national message is `{"data": {"syscode", "task_id", "trig_scen", "rule_ids",
"patient_dtos": [...]}}`: each patient (`patn_id`, the psn_no) names the current visit
(`curr_mdtrt_id`) and may carry encounters (`fsi_encounter_dtos`) whose orders
(`fsi_order_dtos`) are not billed yet. Some clients send `patient_dtos` beside `data` instead of
inside it; both are read. MedSettle audits a visit it knows (registered with 2201/2401), with its
uploaded unsettled fee lines and the orders of the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from medsettle.adapters.his.inputs_common import validate_id
from medsettle.adapters.his.inputs_fees import COUNT_MAX, PRICE_MAX
from medsettle.adapters.his.reader import Node
from medsettle.core.codes import catalogue_code_kind
from medsettle.core.errors import InvalidInput
from medsettle.core.supervision.hits import RULES

_RULE_ID = re.compile(r"R[0-9]{2}", re.ASCII)
#: At most this many patients and orders per message (a window's batch, not a month).
MAX_PATIENTS, MAX_ORDERS = 50, 500


@dataclass(frozen=True, slots=True)
class AuditOrder:
    """An order (处方/医嘱) not billed yet: its id, national catalogue code, quantity and price."""

    rx_id: str
    hilist_code: str
    hilist_name: str
    cnt: Decimal
    pric: Decimal


@dataclass(frozen=True, slots=True)
class AuditPatient:
    """One patient of the message and the visit to audit."""

    patn_id: str  # psn_no
    mdtrt_id: str
    orders: tuple[AuditOrder, ...]


@dataclass(frozen=True, slots=True)
class Audit:
    """3101/3103: the patients to audit, which rules (None: every real-time rule), the task."""

    task_id: str
    trig_scen: str | None
    rule_ids: frozenset[str] | None
    patients: tuple[AuditPatient, ...]


def _rule_ids(node: Node) -> frozenset[str] | None:
    raw = node.data.get("rule_ids")
    if raw in (None, "", [], "null"):
        return None
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise InvalidInput(node.at("rule_ids"), "must be a list of rule ids such as [\"R03\"] "
                                                "or a comma-separated string")
    wanted = frozenset(i.strip() for i in items)
    bad = sorted(i for i in wanted if _RULE_ID.fullmatch(i) is None or i not in RULES)
    if bad:
        raise InvalidInput(node.at("rule_ids"), f"{bad[0]!r} is not a rule id R01–R12")
    return wanted


def _order(node: Node) -> AuditOrder:
    code = node.text("hilist_code", maxlen=50)
    catalogue_code_kind(code, node.at("hilist_code"))
    return AuditOrder(rx_id=node.code("rx_id", validate_id), hilist_code=code,
                      hilist_name=node.opt_text("hilist_name", maxlen=200) or "",
                      cnt=node.decimal("cnt", places=4, maximum=COUNT_MAX),
                      pric=node.decimal("pric", places=6, maximum=PRICE_MAX))


def _patient(node: Node) -> AuditPatient:
    mdtrt_id = node.code("curr_mdtrt_id", validate_id)
    orders: list[AuditOrder] = []
    for encounter in node.items("fsi_encounter_dtos", required=False, max_items=MAX_PATIENTS):
        encounter_id = encounter.opt_code("mdtrt_id", validate_id)
        if encounter_id is not None and encounter_id != mdtrt_id:
            continue  # an earlier visit, given as history: MedSettle reads its own records
        orders += [_order(o) for o in encounter.items("fsi_order_dtos", required=False,
                                                      max_items=MAX_ORDERS)]
    if len(orders) > MAX_ORDERS:
        raise InvalidInput(node.at("fsi_encounter_dtos"), f"has {len(orders)} orders; at most "
                                                          f"{MAX_ORDERS} allowed")
    return AuditPatient(patn_id=node.code("patn_id", validate_id), mdtrt_id=mdtrt_id,
                        orders=tuple(orders))


def parse_audit(input: dict[str, object]) -> Audit:
    """3101/3103 `{"data": {task_id, trig_scen?, rule_ids?, patient_dtos: [...]}}`."""
    data = Node(input, "input").child("data")
    holder = data if "patient_dtos" in data.data else Node(input, "input")
    patients = holder.items("patient_dtos", required=True, max_items=MAX_PATIENTS)
    return Audit(task_id=data.opt_text("task_id", maxlen=50) or "",
                 trig_scen=data.opt_text("trig_scen", maxlen=3), rule_ids=_rule_ids(data),
                 patients=tuple(_patient(p) for p in patients))
