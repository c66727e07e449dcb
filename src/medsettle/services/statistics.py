"""National statistics (domain.md §10) from the hub's index and what the nodes report: per
insured region, treating region, institution, visit type and month; direct settlement rate =
direct ÷ (direct + manual), manual reimbursements in the denominator; fund payment ratio; funds
by tier; filings by category and channel; response times; failures; 协查 and 问题协同
turnaround; prepayment; clearing. No personal data. Everything but the prepayment accounts and
the clearing totals is public; those two are the hub operators' (docs/clearing.md), so `report`
leaves them out unless it is given them.

A province's report is checked (`check_report`) when the hub collects it and again when the
figures are computed: a malformed one is refused or skipped with a warning naming the province
and the field, and the rest of the month's figures still answer."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from medsettle.core.clearing import province_of
from medsettle.core.errors import InvalidInput
from medsettle.core.money import MAX_FEN
from medsettle.core.supervision.figures import median, percentile, rate

logger = logging.getLogger(__name__)
TIERS = ("hifp", "hifmi", "hifob", "cvlserv", "maf", "acct")
#: The figures of `report` that only the hub's operators read (GET /prepayment's permission).
OPERATORS_ONLY = ("prepayment", "clearing")
#: At most this many rows in one list of a province's report, and this long a name in it.
MAX_REPORT_ROWS, MAX_NAME = 100_000, 40
#: A report's lists: each row's text fields and whole-number fields (counts ≥ 0, fen ≥ 0).
_ROWS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "manual": (("treating_region", "visit_type"), ("claims", "medfee")),
    "filings": (("category", "channel"), ("count",))}


def _whole(value: object, field: str, *, signed: bool = False) -> int:
    if type(value) is not int or abs(value) > MAX_FEN or (value < 0 and not signed):
        shown = type(value).__name__ if type(value) is not int else "out of range"
        raise InvalidInput(field, f"must be a whole number{'' if signed else ' ≥ 0'} of at "
                                  f"most {MAX_FEN} ({shown})")
    return value


def check_report(doc: object) -> None:
    """A province's statistics report (services/supervision_report.py) as the hub expects it:
    `manual` and `filings` lists of rows with their text and whole-number fields, `tiers` a
    map of the known tiers to whole fen; else InvalidInput naming the field, e.g.
    `manual[0].claims`."""
    if not isinstance(doc, dict):
        raise InvalidInput("report", "must be a JSON object")
    for name, (texts, numbers) in _ROWS.items():
        rows = doc.get(name, [])
        if not isinstance(rows, list) or len(rows) > MAX_REPORT_ROWS:
            raise InvalidInput(name, f"must be a list of at most {MAX_REPORT_ROWS} rows")
        for i, row in enumerate(rows):
            where = f"{name}[{i}]"
            if not isinstance(row, dict):
                raise InvalidInput(where, "must be a JSON object")
            for text in texts:
                value = row.get(text)
                if (not isinstance(value, str) or not 0 < len(value) <= MAX_NAME
                        or not value.isprintable()):
                    raise InvalidInput(f"{where}.{text}", f"must be a text of 1-{MAX_NAME} "
                                                          "printable characters")
            if "treating_region" in texts and not (
                    len(row["treating_region"]) == 6 and row["treating_region"].isascii()
                    and row["treating_region"].isdigit()):
                raise InvalidInput(f"{where}.treating_region", "must be a 6-digit region code")
            for number in numbers:
                _whole(row.get(number), f"{where}.{number}")
    tiers = doc.get("tiers") or {}
    if not isinstance(tiers, dict):
        raise InvalidInput("tiers", "must be a JSON object of tiers")
    for name, value in tiers.items():
        if name not in TIERS:
            raise InvalidInput(f"tiers.{str(name)[:MAX_NAME]}",
                               f"is not a tier ({', '.join(TIERS)})")
        _whole(value, f"tiers.{name}", signed=True)  # cancels of earlier months count −


def sound(reports: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The stored reports that pass `check_report`; each other one is skipped with a warning
    naming its province and field (one province's report never breaks the figures)."""
    kept = []
    for report in reports:
        if report["kind"] == "node":
            try:
                check_report(report["document"])
            except InvalidInput as exc:
                logger.warning("province report skipped", extra={
                    "province": report["province"], "field": exc.field, "why": exc.message})
                continue
        kept.append(report)
    return kept


def _manual(reports: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], int]:
    """Manual reimbursement claims by (insured province, treating province, visit type)."""
    found: dict[tuple[str, str, str], int] = {}
    for report in reports:
        if report["kind"] != "node":
            continue
        for row in report["document"].get("manual", []):
            key = (str(report["province"]), province_of(str(row["treating_region"])),
                   str(row["visit_type"]))
            found[key] = found.get(key, 0) + int(row["claims"])
    return found


def by_province(groups: Sequence[Mapping[str, Any]], reports: Sequence[Mapping[str, Any]]
                ) -> list[dict[str, Any]]:
    """Per (insured province, treating province, visit type): visits, settlements, manual
    claims, direct settlement rate, medical fees, funds, fund payment ratio."""
    acc: dict[tuple[str, str, str], dict[str, int]] = {}
    for g in groups:
        key = (province_of(g["insured_region"]), province_of(g["treating_region"]),
               g["visit_type"])
        row = acc.setdefault(key, {"visits": 0, "settlements": 0, "medfee": 0, "fund": 0,
                                   "acct": 0, "cash": 0})
        for name in row:
            row[name] += int(g[name])
    manual = _manual(reports)
    for key in manual:
        acc.setdefault(key, {"visits": 0, "settlements": 0, "medfee": 0, "fund": 0, "acct": 0,
                             "cash": 0})
    result = []
    for (insured, treating, visit_type), row in sorted(acc.items()):
        claims = manual.get((insured, treating, visit_type), 0)
        result.append({"insured": insured, "treating": treating, "visit_type": visit_type,
                       **row, "manual": claims,
                       "direct_rate": rate(row["settlements"], row["settlements"] + claims),
                       "fund_ratio": rate(row["fund"], row["medfee"])})
    return result


def _tiers(reports: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    totals = dict.fromkeys(TIERS, 0)
    for report in reports:
        if report["kind"] == "node":
            for name, value in (report["document"].get("tiers") or {}).items():
                if name in totals:
                    totals[name] += int(value)
    return totals


def _filings(reports: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    counts: dict[tuple[str, str], int] = {}
    for report in reports:
        if report["kind"] == "node":
            for row in report["document"].get("filings", []):
                key = (str(row["category"]), str(row["channel"]))
                counts[key] = counts.get(key, 0) + int(row["count"])
    total = sum(counts.values())
    online = sum(n for (_, channel), n in counts.items() if channel != "counter")
    return [{"category": c, "channel": ch, "count": n} for (c, ch), n in sorted(counts.items())
            ] + ([{"category": "*", "channel": "online share", "count": total,
                   "share": rate(online, total)}] if total else [])


def turnaround(cases: Sequence[Mapping[str, Any]], tickets: Sequence[Mapping[str, Any]]
               ) -> dict[str, Any]:
    """协查: days from request to answer; 问题协同: hours from opening to closing."""
    def step(doc: Mapping[str, Any], action: str) -> datetime | None:
        found = [s["at"] for s in doc["history"] if s["action"] == action]
        return datetime.fromisoformat(found[0]) if found else None

    days = []
    for case in cases:
        asked, answered = step(case, "request"), step(case, "answer")
        if asked and answered:
            days.append((answered - asked).days)
    hours = []
    for ticket in tickets:
        opened, closed = step(ticket, "open"), step(ticket, "close")
        if opened and closed:
            hours.append(int((closed - opened).total_seconds() // 3600))
    return {"cases": len(cases), "cases_answered": len(days),
            "case_answer_days_median": median(days),
            "case_answer_days_max": max(days) if days else None,
            "cases_overdue": sum(1 for c in cases if c.get("overdue")),
            "tickets": len(tickets), "tickets_closed": len(hours),
            "ticket_close_hours_median": median(hours),
            "tickets_overdue": sum(1 for t in tickets if t.get("ack_overdue")
                                   or t.get("close_overdue"))}


def report(month: str, groups: Sequence[Mapping[str, Any]], latencies: Sequence[int],
           failures: Sequence[Mapping[str, Any]], reports: Sequence[Mapping[str, Any]],
           cases: Sequence[Mapping[str, Any]], tickets: Sequence[Mapping[str, Any]],
           prepayment: Sequence[Mapping[str, Any]] | None = None,
           clearing: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The month's figures as one JSON-ready document: the public figures, and the prepayment
    accounts and clearing totals when given (the hub operators' view, OPERATORS_ONLY)."""
    reports = sound(reports)
    provinces = by_province(groups, reports)
    settlements = sum(r["settlements"] for r in provinces)
    manual = sum(r["manual"] for r in provinces)
    medfee = sum(r["medfee"] for r in provinces)
    fund = sum(r["fund"] for r in provinces)
    found: dict[str, Any] = {
        "month": month,
        "totals": {"settlements": settlements, "visits": sum(r["visits"] for r in provinces),
                   "manual": manual, "direct_rate": rate(settlements, settlements + manual),
                   "medfee": medfee, "fund": fund, "fund_ratio": rate(fund, medfee),
                   "institutions": len({g["institution"] for g in groups})},
        "by_province": provinces,
        "by_institution": [dict(g) for g in groups],
        "funds_by_tier": _tiers(reports),
        "filings": _filings(reports),
        "response_ms": {"count": len(latencies), "p50": percentile(latencies, 50),
                        "p95": percentile(latencies, 95), "p99": percentile(latencies, 99)},
        "failures": [dict(f) for f in failures],
        "coordination": turnaround(cases, tickets),
    }
    if prepayment is not None:
        found["prepayment"] = [{k: a[k] for k in ("province", "size", "balance", "usage",
                                                  "level")} for a in prepayment]
    if clearing is not None:
        found["clearing"] = {k: clearing.get(k) for k in ("status", "provinces", "pairs",
                                                          "settlements", "obligations",
                                                          "net_sum")}
    return found


def to_csv(figures: Mapping[str, Any]) -> str:
    """The per-province rows of a month's figures as CSV (amounts in fen)."""
    out = io.StringIO()
    columns = ("insured", "treating", "visit_type", "visits", "settlements", "manual",
               "direct_rate", "medfee", "fund", "acct", "cash", "fund_ratio")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", *columns])
    for row in figures["by_province"]:
        writer.writerow([figures["month"], *(row[c] for c in columns)])
    return out.getvalue()
