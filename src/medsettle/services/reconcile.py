"""Daily reconciliation (对账) treating node ↔ hub ↔ insured node, per settlement id (domain.md §8).

Each side lists its settlement records of a day: the treating node (role treating), the hub's
settlement index and the insured node (role insured). `compare` lines them up by setl_id and
names what is one-sided or different; `reconcile_day` resolves what it can through `Sides`
and saves one report per treating province:

- recorded at the insured node but not at the treating node (a settle whose answer was lost):
  reversed at the insured node (cancel_settlement through the hub, so the hub indexes the cancel);
- recorded at both nodes but not indexed at the hub: confirmed (indexed at the hub);
- amounts that differ, a treating-only or hub-only record: listed for manual review;
- a cancel recorded at the insured node whose original the treating node still holds as settled
  (the cancel's answer was lost): listed for manual review, since the treating node would pay
  its institution for a settlement the hub nets to nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from medsettle.core.calendar import business_date
from medsettle.core.errors import MedSettleError

logger = logging.getLogger(__name__)
#: The amounts compared between sides (fen).
COMPARED = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "psn_cash_pay")


@dataclass(frozen=True, slots=True)
class Record:
    """One settlement record as a side reports it (amounts in fen)."""

    setl_id: str
    kind: str  # settle | cancel
    ref_setl_id: str | None
    status: str  # settled | cancelled ("" at the hub, which keeps no status)
    mdtrt_id: str
    psn_no: str
    insu_admdvs: str
    mdtrtarea_admvs: str
    fixmedins_code: str
    visit_type: str
    setl_time: datetime
    medfee_sumamt: int
    fund_pay_sumamt: int
    acct_pay: int
    psn_cash_pay: int
    msgid: str = ""

    @property
    def cross_province(self) -> bool:
        """Whether the record went through the hub (insured and treating provinces differ)."""
        return self.insu_admdvs[:2] != self.mdtrtarea_admvs[:2]

    @property
    def treating_province(self) -> str:
        """The treating province code, e.g. 440000."""
        return self.mdtrtarea_admvs[:2] + "0000"

    @property
    def insured_province(self) -> str:
        """The insured province code, e.g. 510000."""
        return self.insu_admdvs[:2] + "0000"

    def amounts(self) -> dict[str, int]:
        """The compared amounts."""
        return {name: getattr(self, name) for name in COMPARED}

    def as_doc(self) -> dict[str, Any]:
        """A JSON-ready form (time as ISO text)."""
        return asdict(self) | {"setl_time": self.setl_time.isoformat()}

    def index_row(self) -> dict[str, Any]:
        """The hub's index row of this record, as POST /fed/v1/index takes it."""
        return {k: v for k, v in self.as_doc().items() if k != "status"}


def record_from(doc: Mapping[str, Any]) -> Record:
    """A record from a row or a JSON document (setl_time datetime or ISO text)."""
    moment = doc["setl_time"]
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return Record(
        setl_id=str(doc["setl_id"]), kind=str(doc["kind"]), ref_setl_id=doc.get("ref_setl_id"),
        status=str(doc.get("status") or ""), mdtrt_id=str(doc["mdtrt_id"]),
        psn_no=str(doc["psn_no"]), insu_admdvs=str(doc["insu_admdvs"]),
        mdtrtarea_admvs=str(doc["mdtrtarea_admvs"]), fixmedins_code=str(doc["fixmedins_code"]),
        visit_type=str(doc["visit_type"]), setl_time=moment,
        medfee_sumamt=int(doc["medfee_sumamt"]), fund_pay_sumamt=int(doc["fund_pay_sumamt"]),
        acct_pay=int(doc["acct_pay"]), psn_cash_pay=int(doc["psn_cash_pay"]),
        msgid=str(doc.get("msgid") or ""))


@dataclass
class Finding:
    """One settlement id that is not the same on every side, and what was done about it."""

    setl_id: str
    problem: str  # insured_only | missing_at_hub | amounts_differ | treating_only | hub_only
    #               | cancel_missing_at_treating
    action: str  # reverse | index | manual_review | none
    treating_province: str
    insured_province: str
    sides: dict[str, dict[str, int] | None]
    detail: str
    outcome: str = "pending"  # pending | reversed | indexed | held | listed | already_reversed
    #                           | failed


def _pick(side: Mapping[str, Record], setl_id: str) -> Record | None:
    return side.get(setl_id)


def _amounts_differ(records: Sequence[Record | None]) -> list[str]:
    present = [r for r in records if r is not None]
    return [name for name in COMPARED if len({getattr(r, name) for r in present}) > 1]


def classify(t: Record | None, h: Record | None, i: Record | None) -> tuple[str, str, str] | None:
    """(problem, action, detail) of one settlement id seen on the three sides, or None if fine."""
    ref = i or t or h
    if ref is None:
        return None
    via_hub = ref.cross_province
    differ = _amounts_differ([t, h if via_hub else None, i])
    if t is not None and i is not None:
        if differ:
            return ("amounts_differ", "manual_review",
                    f"{', '.join(differ)} differ between the sides")
        if via_hub and h is None:
            return "missing_at_hub", "index", "recorded at both nodes, not indexed at the hub"
        return None
    if i is not None:
        if i.kind == "settle" and i.status == "settled":
            return ("insured_only", "reverse", "settled at the insured node only (its answer "
                                               "never reached the treating node)")
        action = "index" if via_hub and h is None else "none"
        return ("insured_only", action, f"{i.kind} recorded at the insured node only; already "
                                        "reversed there")
    if t is not None:
        return ("treating_only", "manual_review", "recorded at the treating node, unknown to the "
                                                  "insured node")
    return "hub_only", "manual_review", "indexed at the hub, unknown to both nodes"


def _cancel_at_insured_only(cancel: Record, sides: Sequence[Mapping[str, Record]]
                            ) -> tuple[str, str, str] | None:
    """A cancel only the insured node (and perhaps the hub) recorded is already reversed only if
    the treating node never held its original in force: (problem, action, detail) when it
    still does, or when its record of the original was not among the days read; else None."""
    treating, hub, insured = sides
    ref = cancel.ref_setl_id or ""
    original = treating.get(ref)
    if original is not None and original.status == "settled":
        return ("cancel_missing_at_treating", "manual_review",
                f"cancelled at the insured node by {cancel.setl_id}, but the treating node "
                f"still holds {ref} as settled (the cancel's answer was lost): its HIS resends "
                "the cancel (2208) so the treating node records it, and the institution's "
                "payment of that month is then taken back")
    if original is None and ref not in insured and ref not in hub:
        return ("cancel_missing_at_treating", "manual_review",
                f"cancelled at the insured node by {cancel.setl_id}; {ref} is dated outside "
                "the days read, so whether the treating node holds it cancelled was not "
                "compared: check it there")
    return None


def compare(treating: Iterable[Record], hub: Iterable[Record], insured: Iterable[Record],
            day: date) -> list[Finding]:
    """Line the three sides up by setl_id; only ids with a record on `day` on some side count."""
    sides = [{r.setl_id: r for r in records} for records in (treating, hub, insured)]
    ids = sorted({sid for side in sides for sid, r in side.items()
                  if business_date(r.setl_time) == day})
    findings = []
    for setl_id in ids:
        t, h, i = (_pick(side, setl_id) for side in sides)
        verdict = classify(t, h, i)
        if verdict is not None and t is None and i is not None and i.kind == "cancel":
            verdict = _cancel_at_insured_only(i, sides) or verdict
        if verdict is None:
            continue
        ref = i or t or h
        if ref is None:  # unreachable: classify found something
            continue
        findings.append(Finding(
            setl_id=setl_id, problem=verdict[0], action=verdict[1],
            treating_province=ref.treating_province, insured_province=ref.insured_province,
            sides={"treating": _amounts(t), "hub": _amounts(h), "insured": _amounts(i)},
            detail=verdict[2], outcome="listed" if verdict[1] == "manual_review" else (
                "already_reversed" if verdict[1] == "none" else "pending")))
    return findings


def _amounts(record: Record | None) -> dict[str, int] | None:
    return None if record is None else record.amounts()


class Sides(Protocol):
    """How the runner reaches the nodes and the hub (adapters implement it over HTTP)."""

    def regions(self) -> list[str]: ...
    def settlements(self, region: str, role: str, first: date, last: date) -> list[Record]: ...
    def hub_index(self, first: date, last: date) -> list[Record]: ...
    def index_at_hub(self, records: list[Record]) -> dict[str, str]:
        """Index the records at the hub; the cancels it held (not indexed), with why."""
        ...
    def reverse_at_insured(self, record: Record, msgid: str) -> str: ...
    def save_report(self, region: str, day: date, balanced: bool,
                    report: dict[str, Any]) -> None: ...


@dataclass
class DayReport:
    """The reconciliation of one treating province for one day."""

    day: date
    treating_province: str
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        """True when nothing was one-sided or different."""
        return not self.findings

    def as_doc(self) -> dict[str, Any]:
        """The JSON report saved at the treating node."""
        return {"day": self.day.isoformat(), "treating_province": self.treating_province,
                "balanced": self.balanced, "counts": self.counts,
                "findings": [asdict(f) for f in self.findings]}


def unique_records(records: Iterable[Record]) -> list[Record]:
    """Records once per setl_id (the first seen), in time order: the hub's index as read by
    each of its parties, of which most rows have two."""
    unique: dict[str, Record] = {}
    for record in records:
        unique.setdefault(record.setl_id, record)
    return sorted(unique.values(), key=lambda r: (r.setl_time, r.setl_id))


def by_insured_province(records: Iterable[Record]) -> dict[str, list[Record]]:
    """Records grouped by their insured province (the one that confirms them at the hub)."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record.insured_province, []).append(record)
    return groups


def collect(sides: Sides, day: date) -> tuple[list[Record], list[Record], list[Record]]:
    """Every node's treating and insured records and the hub's index, for day ± 1 (a record
    and its counterpart may fall on either side of midnight)."""
    first, last = day - timedelta(days=1), day + timedelta(days=1)
    treating: list[Record] = []
    insured: list[Record] = []
    for region in sides.regions():
        treating += sides.settlements(region, "treating", first, last)
        insured += sides.settlements(region, "insured", first, last)
    return treating, sides.hub_index(first, last), insured


def reconcile_day(sides: Sides, day: date) -> list[DayReport]:
    """Compare, resolve and report one day; returns one report per treating province."""
    treating, hub, insured = collect(sides, day)
    findings = compare(treating, hub, insured, day)
    by_id = {r.setl_id: r for r in insured}
    _index(sides, findings, by_id, hub)
    for finding in findings:
        if finding.action == "reverse":
            _reverse(sides, finding, by_id[finding.setl_id], day)
    return _reports(sides, day, findings, treating, hub, insured)


def _index(sides: Sides, findings: list[Finding], by_id: Mapping[str, Record],
           hub: list[Record]) -> None:
    """Index at the hub every insured record the hub lacks (before reversals, so the hub holds a
    reversed settlement's original and its cancel, and clearing nets them)."""
    indexed = {r.setl_id for r in hub}
    wanted = [f for f in findings if f.action in ("index", "reverse")
              and f.setl_id in by_id and f.setl_id not in indexed
              and by_id[f.setl_id].cross_province]
    if not wanted:
        return
    try:
        held = sides.index_at_hub([by_id[f.setl_id] for f in wanted])
    except MedSettleError as exc:
        for finding in wanted:
            finding.outcome, finding.detail = "failed", f"{finding.detail}; indexing failed: {exc}"
        return
    for finding in wanted:
        if finding.setl_id in held:
            finding.outcome = "held"
            finding.detail = f"{finding.detail}; the hub held the cancel: {held[finding.setl_id]}"
        elif finding.action == "index":
            finding.outcome = "indexed"


def _reverse(sides: Sides, finding: Finding, record: Record, day: date) -> None:
    msgid = f"RC{day:%Y%m%d}{record.setl_id[-20:]}"[:30]
    try:
        cancel_id = sides.reverse_at_insured(record, msgid)
    except MedSettleError as exc:
        finding.outcome, finding.detail = "failed", f"{finding.detail}; reversal failed: {exc}"
        logger.warning("reconciliation reversal failed", extra={"setl_id": record.setl_id,
                                                                "why": str(exc)})
        return
    finding.outcome = "reversed"
    finding.detail = f"{finding.detail}; reversed by {cancel_id}"
    logger.info("one-sided settlement reversed", extra={"setl_id": record.setl_id})


def _reports(sides: Sides, day: date, findings: list[Finding], treating: list[Record],
             hub: list[Record], insured: list[Record]) -> list[DayReport]:
    reports: dict[str, DayReport] = {}
    for region in sides.regions():
        reports[region] = DayReport(day, region, counts={
            "treating": _count(treating, region, day), "hub": _count(hub, region, day),
            "insured": _count(insured, region, day)})
    for finding in findings:
        reports.setdefault(finding.treating_province,
                           DayReport(day, finding.treating_province)).findings.append(finding)
    for region, report in reports.items():
        try:
            sides.save_report(region, day, report.balanced, report.as_doc())
        except MedSettleError as exc:
            logger.warning("report not saved", extra={"region": region, "why": str(exc)})
    return list(reports.values())


def _count(records: list[Record], treating_province: str, day: date) -> int:
    return sum(1 for r in records if r.treating_province == treating_province
               and business_date(r.setl_time) == day)
