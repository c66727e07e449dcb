"""A rule hit (疑点) and its evidence: what triggered it, against which threshold from which
source, and the values measured. A hit is a warning unless the rule is a hard stop."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["warning", "hard_stop"]
Unit = Literal["settlement", "person", "institution", "institution_day"]

#: Rule ids and their names (domain.md §9).
RULES: dict[str, str] = {
    "R01": "挂床住院 (phantom bed days)",
    "R02": "分解住院 (split admission)",
    "R03": "分解/重复收费 (unbundled or repeated charges)",
    "R04": "串换 (item swapped for a dearer look-alike)",
    "R05": "冒名/虚开 (impersonation or fictitious visits)",
    "R06": "超量开药 (oversupply of drugs)",
    "R07": "限定性别/年龄/机构等级/就医方式 (restriction not met, billed in scope)",
    "R08": "repeated filing changes (频繁变更备案)",
    "R09": "cost surge (费用异常增长)",
    "R10": "structure outlier (费用结构异常)",
    "R11": "超支付标准 (beyond the payment standard)",
    "R12": "price above cap billed in scope (超限价计入)",
}
#: Which rules run in real time at pre-settle and settle, and which need the month's history.
REALTIME_RULES = ("R03", "R04", "R05", "R06", "R07", "R11", "R12")
BATCH_RULES = ("R01", "R02", "R03", "R04", "R05", "R06", "R07", "R08", "R09", "R10", "R11",
               "R12")


@dataclass(frozen=True, slots=True)
class Hit:
    """One rule hit with its evidence (amounts in fen, measured values as text)."""

    rule: str
    unit: Unit
    key: str  # what was hit: a settlement id, a person, "institution" or "institution:day"
    message: str
    threshold: str  # the parameter and its value, e.g. "r09.surge_ratio = 1.20"
    source: str  # where the threshold comes from (its provenance)
    measured: Mapping[str, str] = field(default_factory=dict)
    settlements: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()  # "settlement_id/serial"
    institution: str = ""
    person: str = ""
    amount: int = 0  # the amount in question (fen), when one can be named
    severity: Severity = "warning"

    @property
    def name(self) -> str:
        """The rule's name."""
        return RULES[self.rule]

    def text(self) -> str:
        """One line for a warning: `R03 分解/重复收费…: message`."""
        return f"{self.rule} {RULES[self.rule].split(' (')[0]}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The hit as a JSON-ready document."""
        return {"rule": self.rule, "name": self.name, "unit": self.unit, "key": self.key,
                "severity": self.severity, "message": self.message,
                "threshold": self.threshold, "source": self.source,
                "measured": dict(self.measured), "settlements": list(self.settlements),
                "lines": list(self.lines), "institution": self.institution,
                "person": self.person, "amount": self.amount}


def hit_from_dict(doc: Mapping[str, Any]) -> Hit:
    """A hit from its document."""
    return Hit(rule=str(doc["rule"]), unit=doc["unit"], key=str(doc["key"]),
               message=str(doc["message"]), threshold=str(doc["threshold"]),
               source=str(doc["source"]), measured=dict(doc.get("measured") or {}),
               settlements=tuple(doc.get("settlements") or ()),
               lines=tuple(doc.get("lines") or ()), institution=str(doc.get("institution", "")),
               person=str(doc.get("person", "")), amount=int(doc.get("amount", 0)),
               severity=doc.get("severity", "warning"))


def warn_text(hits: list[Hit], limit: int = 200) -> str:
    """The hits as one warning text of at most `limit` characters (the answer's warn_msg)."""
    text = "; ".join(hit.text() for hit in hits)
    return text if len(text) <= limit else text[: limit - 1] + "…"
