"""Visits and settlements as rows: the one place their records meet the schema's column names
(which follow the national interface: mdtrt_id, setl_id, psn_no, …)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from medsettle.adapters.db import lane
from medsettle.adapters.db import tables as t
from medsettle.adapters.db.statements import (
    fee_lines_to,
    inserting,
    matching,
    param,
    person_treated_in,
    persons_records_elsewhere,
    select_where,
    visit_to_settled,
)
from medsettle.core.benefits import AMOUNT_FIELDS, Amounts
from medsettle.core.calendar import day_bounds
from medsettle.core.jsonform import decode, encode
from medsettle.core.records import (
    Identity,
    InsuredVisit,
    Role,
    SettlementKind,
    SettlementRecord,
    SettlementStatus,
    StoredLine,
    TreatedVisit,
    VisitStatus,
)

#: Record field → column, where the names differ.
SETTLEMENT_COLUMNS = {"settlement_id": "setl_id", "cancels": "ref_setl_id", "visit_id": "mdtrt_id",
                      "person_id": "psn_no", "insured_region": "insu_admdvs",
                      "treating_region": "mdtrtarea_admvs", "institution": "fixmedins_code",
                      "settled_at": "setl_time", "balance": "balc",
                      "invoice_no": "invono"}
TREATED_VISIT_COLUMNS = {"visit_id": "mdtrt_id", "person_id": "psn_no",
                         "insured_region": "insuplc_admdvs", "institution": "fixmedins_code",
                         "hospital_no": "ipt_otp_no", "begins": "begntime", "ends": "endtime"}
INSURED_VISIT_COLUMNS = {"visit_id": "mdtrt_id", "person_id": "psn_no",
                         "treating_region": "mdtrtarea_admvs", "institution": "fixmedins_code",
                         "begins": "begntime"}


def columns(names: Mapping[str, str], values: Mapping[str, Any]) -> dict[str, Any]:
    """Record field names → column names (enums as their values)."""
    return {names.get(k, k): (v.value if hasattr(v, "value") else v) for k, v in values.items()}


def settlement_row(s: SettlementRecord) -> dict[str, Any]:
    """The settlements row of a record."""
    return {"setl_id": s.settlement_id, "role": s.role.value, "kind": s.kind.value,
            "ref_setl_id": s.cancels, "status": s.status.value, "mdtrt_id": s.visit_id,
            "psn_no": s.person_id, "insu_admdvs": s.insured_region,
            "mdtrtarea_admvs": s.treating_region, "fixmedins_code": s.institution,
            "med_type": s.med_type, "visit_type": s.visit_type, "insutype": s.insutype,
            "setl_time": s.settled_at, "medical_year": s.medical_year,
            **s.amounts.as_dict(), "balc": s.balance, "policy_id": s.policy_id,
            "policy_hash": s.policy_hash, "benefit_class": s.benefit_class,
            "delta": None if s.delta is None else dict(s.delta), "msgid": s.msgid,
            "invono": s.invoice_no}


def settlement_of(row: Any) -> SettlementRecord:
    """The record of a settlements row."""
    m = row._mapping
    return SettlementRecord(
        settlement_id=m["setl_id"], role=Role(m["role"]), kind=SettlementKind(m["kind"]),
        status=SettlementStatus(m["status"]), visit_id=m["mdtrt_id"], person_id=m["psn_no"],
        insured_region=m["insu_admdvs"], treating_region=m["mdtrtarea_admvs"],
        institution=m["fixmedins_code"], med_type=m["med_type"], visit_type=m["visit_type"],
        insutype=m["insutype"], settled_at=m["setl_time"], medical_year=m["medical_year"],
        amounts=Amounts(**{name: int(m[name]) for name in AMOUNT_FIELDS}), msgid=m["msgid"],
        cancels=m["ref_setl_id"], balance=int(m["balc"]), policy_id=m["policy_id"] or "",
        policy_hash=m["policy_hash"] or "", benefit_class=m["benefit_class"] or "",
        delta=m["delta"], invoice_no=m["invono"] or "")


def treated_visit_row(v: TreatedVisit) -> dict[str, Any]:
    """The visits row of a treating place's record."""
    return {"mdtrt_id": v.visit_id, "psn_no": v.person_id, "insuplc_admdvs": v.insured_region,
            "fixmedins_code": v.institution, "med_type": v.med_type,
            "visit_type": v.visit_type, "disease": v.disease, "ipt_otp_no": v.hospital_no,
            "begntime": v.begins, "endtime": v.ends, "status": v.status.value,
            "emergency": v.emergency, "benefit_class": v.benefit_class,
            "insutype": v.insutype,
            "person": {} if v.person is None else encode(v.person),
            "manual_reimbursement": v.manual, "manual_reason": v.manual_reason,
            "reversal_pending": v.reversal_pending, "msgid": v.msgid,
            "reversal_attempts": v.reversal_attempts, "reversal_next_at": v.reversal_next_at}


def treated_visit_of(row: Any) -> TreatedVisit:
    """The record of a visits row."""
    m = row._mapping
    return TreatedVisit(
        visit_id=m["mdtrt_id"], person_id=m["psn_no"], insured_region=m["insuplc_admdvs"],
        institution=m["fixmedins_code"], med_type=m["med_type"], visit_type=m["visit_type"],
        hospital_no=m["ipt_otp_no"], begins=m["begntime"], status=VisitStatus(m["status"]),
        insutype=m["insutype"], msgid=m["msgid"], disease=m["disease"], ends=m["endtime"],
        emergency=bool(m["emergency"]), benefit_class=m["benefit_class"],
        person=decode(Identity, m["person"], "person") if m["person"] else None,
        manual_reason=(m["manual_reason"] or "manual reimbursement")
        if m["manual_reimbursement"] else None,
        reversal_pending=m["reversal_pending"],
        reversal_attempts=int(m["reversal_attempts"] or 0),
        reversal_next_at=m["reversal_next_at"])


def insured_visit_row(v: InsuredVisit) -> dict[str, Any]:
    """The insured_visits row of an insured place's record."""
    return {"mdtrt_id": v.visit_id, "psn_no": v.person_id,
            "mdtrtarea_admvs": v.treating_region, "fixmedins_code": v.institution,
            "visit_type": v.visit_type, "med_type": v.med_type, "begntime": v.begins,
            "status": v.status.value, "benefit_class": v.benefit_class,
            "emergency": v.emergency}


def insured_visit_of(row: Any) -> InsuredVisit:
    """The record of an insured_visits row."""
    m = row._mapping
    return InsuredVisit(
        visit_id=m["mdtrt_id"], person_id=m["psn_no"], treating_region=m["mdtrtarea_admvs"],
        institution=m["fixmedins_code"], visit_type=m["visit_type"], med_type=m["med_type"],
        begins=m["begntime"], status=VisitStatus(m["status"]),
        benefit_class=m["benefit_class"], emergency=bool(m["emergency"]))


def line_row(line: StoredLine) -> dict[str, Any]:
    """The fee_details row of a stored line."""
    return {"mdtrt_id": line.visit_id, "feedetl_sn": line.serial, "chrg_bchno": line.batch,
            "med_list_codg": line.code, "medins_list_codg": line.hospital_code,
            "name": line.name, "pric": str(line.price), "cnt": str(line.count),
            "cls": line.cls, "chrgitm_lv": line.level, "selfpay_prop": str(line.selfpay_prop),
            "lmt_pric": None if line.cap_price is None else str(line.cap_price),
            "restricted_ok": line.restricted_ok, "amt": line.amount,
            "full_amt": line.full_self_paid, "over_amt": line.over_cap,
            "pre_amt": line.preselfpay, "inscp_amt": line.in_scope,
            "fee_ocur_time": line.occurred_at, "status": "active" if line.active else "cancelled",
            "setl_id": line.settlement_id}


def line_of(row: Any) -> StoredLine:
    """The stored line of a fee_details row."""
    m = row._mapping
    return StoredLine(
        visit_id=m["mdtrt_id"], serial=m["feedetl_sn"], batch=m["chrg_bchno"],
        code=m["med_list_codg"], hospital_code=m["medins_list_codg"], name=m["name"] or "",
        price=Decimal(m["pric"]), count=Decimal(m["cnt"]), cls=m["cls"],
        level=m["chrgitm_lv"], selfpay_prop=Decimal(m["selfpay_prop"]),
        cap_price=None if m["lmt_pric"] is None else Decimal(m["lmt_pric"]),
        restricted_ok=bool(m["restricted_ok"]), amount=int(m["amt"]),
        full_self_paid=int(m["full_amt"]), over_cap=int(m["over_amt"]),
        preselfpay=int(m["pre_amt"]), in_scope=int(m["inscp_amt"]),
        occurred_at=m["fee_ocur_time"], active=m["status"] == "active",
        settlement_id=m["setl_id"])


class RecordQueries:
    """Reading and writing visit and settlement records inside a transaction (mixed into
    store.Tx, whose `conn` it uses)."""

    conn: Connection
    dialect: str
    driver_lane: lane.Lane | None  # PostgreSQL: the driver lane of this transaction

    def run(self, query: Any, values: Mapping[str, Any] | Sequence[Mapping[str, Any]]
            ) -> lane.Rows:
        """Run a statement with bound values, one row or several: on PostgreSQL a cached one
        (adapters/db/statements.py) on the driver's cursor (lane.py), anything else through
        SQLAlchemy. Its result has first(), rows, scalar_one() and rowcount."""
        if self.driver_lane is not None:
            return self.driver_lane.run(query, values)
        return self.conn.execute(query, values)

    if TYPE_CHECKING:
        def change(self, name: Any, /, keys: Mapping[str, object], **values: object) -> int:
            """Update the rows matching `keys` (store.Tx)."""

    # --- settlements -------------------------------------------------------------------------
    def settlement(self, settlement_id: str, role: Role) -> SettlementRecord | None:
        """One place's record of a settlement, or None."""
        row = self.run(select_where(t.settlements, ("setl_id", "role")), {
            param("setl_id"): settlement_id, param("role"): role.value}).first()
        return None if row is None else settlement_of(row)

    def settlements(self, role: Role, **keys: object) -> list[SettlementRecord]:
        """The records of `role` whose fields (visit_id, msgid, person_id, …) equal `keys`,
        oldest first."""
        wanted = columns(SETTLEMENT_COLUMNS, keys) | {"role": role.value}
        found = self.run(*matching(t.settlements, wanted, "setl_time"))
        return [settlement_of(r) for r in found]

    def settlements_between(self, role: Role, first: date, last: date,
                            institution: str | None = None) -> list[SettlementRecord]:
        """The records of `role` (of an institution) whose business date is in first..last,
        in time order."""
        return self.settlements_in(role, *day_bounds(first, last), institution=institution)

    def settlements_with_ids(self, role: Role, ids: Sequence[str]) -> list[SettlementRecord]:
        """The records of `role` among the settlement ids `ids`, in time order."""
        table = t.settlements
        query = select(table).where(table.c.role == role.value, table.c.setl_id.in_(list(ids)))
        return [settlement_of(r) for r in self.conn.execute(query.order_by(table.c.setl_time))]

    def settlements_in(self, role: Role, start: datetime, end: datetime,
                       institution: str | None = None) -> list[SettlementRecord]:
        """The records of `role` (of an institution) settled in [start, end), in time order."""
        table = t.settlements
        query = select(table).where(table.c.role == role.value, table.c.setl_time >= start,
                                    table.c.setl_time < end)
        if institution is not None:
            query = query.where(table.c.fixmedins_code == institution)
        return [settlement_of(r) for r in self.conn.execute(query.order_by(table.c.setl_time))]

    def settled_elsewhere(self, person_id: str, role: Role, on: date, province: str
                          ) -> list[SettlementRecord]:
        """The person's settlements (kind settle, still settled) of `role` whose business date
        is `on` and which were treated outside `province` (a region code: its first two
        digits), in time order. One day's other provinces only, however long the person's
        history and however often they were treated in `province` that day."""
        start, end = day_bounds(on, on)
        found = self.run(persons_records_elsewhere(t.settlements), {
            "person": person_id, "role": role.value, "kind": SettlementKind.SETTLE.value,
            "status": SettlementStatus.SETTLED.value, "start": start, "end": end,
            "province": province[:2]})
        return [settlement_of(r) for r in found]

    def add_settlement(self, record: SettlementRecord) -> None:
        """Insert a record."""
        self.run(inserting(t.settlements), settlement_row(record))

    def mark_settlement(self, settlement_id: str, role: Role, status: SettlementStatus) -> None:
        """Change a record's status (a settlement cancelled)."""
        self.change(t.settlements, {"setl_id": settlement_id, "role": role.value},
                    status=status.value)

    # --- the treating place's visits ---------------------------------------------------------
    def treated_visit(self, visit_id: str) -> TreatedVisit | None:
        """The treating place's record of a visit, or None."""
        row = self.run(select_where(t.visits, ("mdtrt_id",)),
                       {param("mdtrt_id"): visit_id}).first()
        return None if row is None else treated_visit_of(row)

    def treated_visits(self, **keys: object) -> list[TreatedVisit]:
        """The treating place's visits whose fields equal `keys`, in admission order."""
        wanted = columns(TREATED_VISIT_COLUMNS, keys)
        found = self.run(*matching(t.visits, wanted, "begntime"))
        return [treated_visit_of(r) for r in found]

    def visits_awaiting_reversal(self) -> list[TreatedVisit]:
        """Visits marked for manual reimbursement whose settle or registration answer never
        came: the reversals still to send, found through a partial index of those few rows."""
        v = t.visits
        found = self.conn.execute(select(v).where(v.c.reversal_pending.is_not(None),
                                                  v.c.manual_reimbursement.is_(True))
                                  .order_by(v.c.begntime))
        return [treated_visit_of(r) for r in found]

    def add_treated_visit(self, visit: TreatedVisit) -> None:
        """Insert a treating place's visit."""
        self.run(inserting(t.visits), treated_visit_row(visit))

    def change_treated_visit(self, visit_id: str, **changes: object) -> None:
        """Change fields of a treating place's visit (manual_reason also sets the flag)."""
        values = columns(TREATED_VISIT_COLUMNS, changes)
        if "manual_reason" in changes:
            values["manual_reimbursement"] = changes["manual_reason"] is not None
        self.change(t.visits, {"mdtrt_id": visit_id}, **values)

    # --- the insured place's visits ----------------------------------------------------------
    def insured_visit(self, visit_id: str) -> InsuredVisit | None:
        """The insured place's record of a visit, or None."""
        row = self.run(select_where(t.insured_visits, ("mdtrt_id",)),
                       {param("mdtrt_id"): visit_id}).first()
        return None if row is None else insured_visit_of(row)

    def treated_in(self, person_id: str, province: str) -> bool:
        """Whether the insured place has a visit of the person treated in `province` (a region
        code: its first two digits)."""
        return self.run(person_treated_in(t.insured_visits), {
            "person": person_id, "province": province[:2]}).first() is not None

    def add_insured_visit(self, visit: InsuredVisit) -> None:
        """Insert an insured place's visit."""
        self.run(inserting(t.insured_visits), insured_visit_row(visit))

    def change_insured_visit(self, visit_id: str, **changes: object) -> None:
        """Change fields of an insured place's visit."""
        self.change(t.insured_visits, {"mdtrt_id": visit_id},
                    **columns(INSURED_VISIT_COLUMNS, changes))

    # --- the treating place's fee lines ------------------------------------------------------
    def fee_lines(self, **keys: object) -> list[StoredLine]:
        """Fee lines whose visit_id, settlement_id or serial equal `keys`, by serial."""
        names = {"visit_id": "mdtrt_id", "settlement_id": "setl_id", "serial": "feedetl_sn"}
        wanted = {names[k]: v for k, v in keys.items()}
        return [line_of(r) for r in self.run(*matching(t.fee_details, wanted, "feedetl_sn"))]

    def add_fee_lines(self, lines: list[StoredLine]) -> None:
        """Insert fee lines."""
        if lines:
            self.run(inserting(t.fee_details), [line_row(line) for line in lines])

    def cancel_fee_lines(self, visit_id: str, serials: list[str]) -> None:
        """Mark lines of a visit cancelled (one statement)."""
        if serials:
            self.run(fee_lines_to(self.dialect, t.fee_details, "status", False),
                     {"visit": visit_id, "serials": serials, "value": "cancelled"})

    def settle_treated_visit(self, visit_id: str, serials: list[str], settlement_id: str
                             ) -> bool:
        """Mark a visit settled and attach its lines to the settlement, only if the visit is
        still open or discharged (not manual) and every line still active and unsettled: two
        conditional updates, False (and nothing to keep) if anything changed meanwhile."""
        settled = self.run(visit_to_settled(self.dialect, t.visits), {
            "visit": visit_id, "open_states": ["open", "discharged"]}).rowcount
        linked = self.run(fee_lines_to(self.dialect, t.fee_details, "setl_id", True), {
            "visit": visit_id, "serials": serials, "value": settlement_id}).rowcount
        return bool(settled == 1 and linked == len(serials))

    def link_fee_lines(self, visit_id: str, serials: list[str], settlement_id: str | None
                       ) -> None:
        """Attach lines of a visit to a settlement, or release them (None), in one statement."""
        if serials:
            self.run(fee_lines_to(self.dialect, t.fee_details, "setl_id", False),
                     {"visit": visit_id, "serials": serials, "value": settlement_id})
