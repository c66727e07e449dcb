"""Monthly clearing (清算) between provinces and the prepayment (预付金) rule (domain.md §8).

谁参保谁支付: for each settlement the insured province owes the treating province the funds'
payment plus the personal-account payment (fund_pay_sumamt + acct_pay, 3261's
optins_pay_sumamt); the patient's cash goes to the hospital and is never cleared. A cancel or
reversal counts negative in the month it happens. O(i→t) is the month's sum; the hub nets the
obligations multilaterally (each province pays or receives one amount; all nets sum to zero) and
issues one statement per province, which moves drafted → confirmed (by the province as insured
place and as treating place) → paid, or to disputed and back to drafted after resolution.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

from medsettle.core.errors import InvalidInput, StateConflict
from medsettle.core.money import fen_to_yuan, round_half_up

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991
SIDES = ("insured", "treating")
STATES = ("drafted", "confirmed", "disputed", "paid")
LEVELS = ("ok", "warning", "critical")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
Pair = tuple[str, str]


@dataclass(frozen=True, slots=True, order=True)
class YearMonth:
    """A clearing month, e.g. 2026-10; its days are Asia/Shanghai business days."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise InvalidInput("month", f"month {self.month} is not in 1..12")
        if not 2000 <= self.year <= 2999:
            raise InvalidInput("month", f"year {self.year} is out of range")

    @classmethod
    def parse(cls, text: object, field: str = "month") -> YearMonth:
        """Read "YYYY-MM"; anything else is refused naming `field`."""
        match = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise InvalidInput(field, f"{text!r} is not a month like 2026-10")
        try:
            return cls(int(match[1]), int(match[2]))
        except InvalidInput as exc:
            raise InvalidInput(field, exc.message) from None

    @classmethod
    def of(cls, when: datetime) -> YearMonth:
        """The month (Asia/Shanghai) of an aware instant."""
        local = when.astimezone(SHANGHAI)
        return cls(local.year, local.month)

    def shift(self, months: int) -> YearMonth:
        """The month `months` later (negative: earlier)."""
        index = self.year * 12 + self.month - 1 + months
        return YearMonth(index // 12, index % 12 + 1)

    def bounds(self) -> tuple[datetime, datetime]:
        """The month as a half-open UTC interval [start, end) of Asia/Shanghai time."""
        following = self.shift(1)
        start = datetime(self.year, self.month, 1, tzinfo=SHANGHAI)
        end = datetime(following.year, following.month, 1, tzinfo=SHANGHAI)
        return start.astimezone(UTC), end.astimezone(UTC)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def province_of(admdvs: str) -> str:
    """The province of a region code: its first two digits and "0000"."""
    return admdvs[:2] + "0000"


def signed(kind: str, amount: int) -> int:
    """An index amount with the sign of its kind: a cancel is negative whatever it stored."""
    return -abs(amount) if kind == "cancel" else amount


def owed(kind: str, fund: int, acct: int) -> int:
    """What one index row adds to its pair's obligation: funds plus personal account, signed."""
    return signed(kind, fund) + signed(kind, acct)


@dataclass(frozen=True, slots=True)
class Obligation:
    """O(i→t) of a month: what insured province i owes treating province t, with its parts."""

    insured: str
    treating: str
    settlements: int = 0  # settlements minus cancels
    medfee_sumamt: int = 0
    fund_pay_sumamt: int = 0
    acct_pay: int = 0
    adjustment: int = 0  # 拒付 deducted (< 0) and carried-over items held or released

    @property
    def obligation(self) -> int:
        """Funds plus personal account (optins_pay_sumamt) plus adjustments, in fen."""
        return self.fund_pay_sumamt + self.acct_pay + self.adjustment

    def plus(self, kind: str, medfee: int, fund: int, acct: int) -> Obligation:
        """This obligation with one more index row (a cancel subtracts)."""
        return replace(self, settlements=self.settlements + (-1 if kind == "cancel" else 1),
                       medfee_sumamt=self.medfee_sumamt + signed(kind, medfee),
                       fund_pay_sumamt=self.fund_pay_sumamt + signed(kind, fund),
                       acct_pay=self.acct_pay + signed(kind, acct))


def obligations(rows: Iterable[Mapping[str, Any]]) -> dict[Pair, Obligation]:
    """O(i→t) from settlement-index rows of one month; rows within one province are left out."""
    result: dict[Pair, Obligation] = {}
    for row in rows:
        pair = (province_of(str(row["insu_admdvs"])), province_of(str(row["mdtrtarea_admvs"])))
        if pair[0] == pair[1]:
            continue
        current = result.get(pair) or Obligation(*pair)
        result[pair] = current.plus(str(row["kind"]), int(row["medfee_sumamt"]),
                                    int(row["fund_pay_sumamt"]), int(row["acct_pay"]))
    return result


def _amount(value: Obligation | int) -> int:
    return value if isinstance(value, int) else value.obligation


def net(obligations: Mapping[Pair, Obligation | int]) -> dict[str, int]:
    """Multilateral net of each province: due as treating place − owed as insured place.
    A positive net receives, a negative one pays; the nets always sum to zero."""
    result: dict[str, int] = {}
    for (insured, treating), value in obligations.items():
        amount = _amount(value)
        result[insured] = result.get(insured, 0) - amount
        result[treating] = result.get(treating, 0) + amount
    return result


def pairwise(obligations: Mapping[Pair, Obligation | int]) -> dict[Pair, int]:
    """N(i,t) = O(i→t) − O(t→i) for every pair that has an obligation; the positive side pays."""
    result: dict[Pair, int] = {}
    for (insured, treating), value in obligations.items():
        amount = _amount(value)
        result[(insured, treating)] = result.get((insured, treating), 0) + amount
        result[(treating, insured)] = result.get((treating, insured), 0) - amount
    return result


@dataclass(frozen=True, slots=True)
class StatementLine:
    """A province's position towards one other province in a month."""

    counterparty: str
    owes: int  # O(province→counterparty): payable as insured place
    due: int  # O(counterparty→province): receivable as treating place

    @property
    def net(self) -> int:
        """due − owes."""
        return self.due - self.owes


@dataclass(frozen=True, slots=True)
class Statement:
    """A province's clearing statement (清算单) of a month and where it stands."""

    month: YearMonth
    province: str
    lines: tuple[StatementLine, ...]
    state: str = "drafted"
    insured_confirmed: bool = False
    treating_confirmed: bool = False
    dispute: str | None = None
    redrafts: int = field(default=0)

    @property
    def owes(self) -> int:
        """Σ payable as insured place."""
        return sum(line.owes for line in self.lines)

    @property
    def due(self) -> int:
        """Σ receivable as treating place."""
        return sum(line.due for line in self.lines)

    @property
    def net(self) -> int:
        """due − owes: > 0 receives, < 0 pays."""
        return self.due - self.owes

    def confirm(self, side: str) -> Statement:
        """The province confirms as insured or treating place; both make it confirmed."""
        if side not in SIDES:
            raise InvalidInput("side", f"{side!r} is not one of {', '.join(SIDES)}")
        if self.state in ("disputed", "paid"):
            raise StateConflict(f"statement {self.month} {self.province} is {self.state}")
        done = (replace(self, insured_confirmed=True) if side == "insured"
                else replace(self, treating_confirmed=True))
        both = done.insured_confirmed and done.treating_confirmed
        return replace(done, state="confirmed" if both else "drafted")

    def disputed(self, reason: str) -> Statement:
        """The province disputes the statement; confirmations are withdrawn until a re-draft."""
        if not reason.strip():
            raise InvalidInput("reason", "say why the statement is disputed")
        if self.state == "paid":
            raise StateConflict(f"statement {self.month} {self.province} is already paid")
        return replace(self, state="disputed", dispute=reason.strip(), insured_confirmed=False,
                       treating_confirmed=False)

    def redrafted(self) -> Statement:
        """After a dispute is resolved the statement is drafted again for confirmation."""
        if self.state != "disputed":
            raise StateConflict(f"statement {self.month} {self.province} is {self.state}, "
                                "not disputed")
        return replace(self, state="drafted", dispute=None, redrafts=self.redrafts + 1)

    def paid(self) -> Statement:
        """Funds moved; only a statement confirmed by both sides can be paid."""
        if self.state == "disputed":
            raise StateConflict(f"statement {self.month} {self.province} is disputed "
                                f"({self.dispute}) and cannot be paid")
        if self.state != "confirmed":
            raise StateConflict(f"statement {self.month} {self.province} is {self.state}: both "
                                "sides must confirm it before it is paid")
        return replace(self, state="paid")


def statements(month: YearMonth, obligations: Mapping[Pair, Obligation | int]
               ) -> list[Statement]:
    """One drafted statement per province that owes or is owed, lines by counterparty."""
    owes: dict[Pair, int] = {}
    for (insured, treating), value in obligations.items():
        owes[(insured, treating)] = owes.get((insured, treating), 0) + _amount(value)
    provinces = sorted({p for pair in owes for p in pair})
    result = []
    for province in provinces:
        others = sorted({t for i, t in owes if i == province} | {i for i, t in owes
                                                                if t == province})
        lines = tuple(StatementLine(other, owes.get((province, other), 0),
                                    owes.get((other, province), 0)) for other in others)
        result.append(Statement(month, province, lines))
    return result


def to_dict(statement: Statement) -> dict[str, Any]:
    """The statement as a JSON-ready document (amounts in fen)."""
    return {"month": str(statement.month), "province": statement.province,
            "state": statement.state, "owes": statement.owes, "due": statement.due,
            "net": statement.net, "insured_confirmed": statement.insured_confirmed,
            "treating_confirmed": statement.treating_confirmed, "dispute": statement.dispute,
            "redrafts": statement.redrafts,
            "lines": [{"counterparty": line.counterparty, "owes": line.owes, "due": line.due,
                       "net": line.net} for line in statement.lines]}


def from_dict(doc: Mapping[str, Any]) -> Statement:
    """A statement from its document."""
    lines = tuple(StatementLine(str(x["counterparty"]), int(x["owes"]), int(x["due"]))
                  for x in doc["lines"])
    return Statement(YearMonth.parse(doc["month"]), str(doc["province"]), lines,
                     str(doc.get("state", "drafted")), bool(doc.get("insured_confirmed")),
                     bool(doc.get("treating_confirmed")), doc.get("dispute"),
                     int(doc.get("redrafts", 0)))


def to_json(statement: Statement) -> str:
    """The statement as JSON text (stable key order)."""
    return json.dumps(to_dict(statement), ensure_ascii=False, sort_keys=True, indent=2)


def to_csv(statement: Statement) -> str:
    """The statement as CSV: one row per counterparty and a total row (amounts in fen)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["month", "province", "counterparty", "owes_fen", "due_fen", "net_fen",
                     "state"])
    for line in statement.lines:
        writer.writerow([statement.month, statement.province, line.counterparty, line.owes,
                         line.due, line.net, statement.state])
    writer.writerow([statement.month, statement.province, "TOTAL", statement.owes,
                     statement.due, statement.net, statement.state])
    return out.getvalue()


def summary_text(statement: Statement) -> str:
    """A readable summary; each Chinese term is given once, in parentheses."""
    s = statement
    verdict = (f"pays ¥{fen_to_yuan(-s.net)}" if s.net < 0 else
               f"receives ¥{fen_to_yuan(s.net)}" if s.net > 0 else "neither pays nor receives")
    confirmed = [side for side in SIDES if getattr(s, f"{side}_confirmed")]
    text = [f"Clearing statement (清算单) of province {s.province} for {s.month}",
            f"State: {s.state}; confirmed as: {', '.join(confirmed) or 'none yet'}",
            f"Owes as insured place (参保地, 应付): ¥{fen_to_yuan(s.owes)}",
            f"Due as treating place (就医地, 应收): ¥{fen_to_yuan(s.due)}",
            f"Net (净额): ¥{fen_to_yuan(s.net)}, the province {verdict}"]
    if s.dispute:
        text.append(f"Disputed (有异议): {s.dispute}")
    text.append("By counterparty (owes / due / net):")
    text.extend(f"  {line.counterparty}: ¥{fen_to_yuan(line.owes)} / ¥{fen_to_yuan(line.due)}"
                f" / ¥{fen_to_yuan(line.net)}" for line in s.lines)
    return "\n".join(text) + "\n"


@dataclass(frozen=True, slots=True)
class PrepaymentRule:
    """预付金 parameters: months of spending held, and the usage levels that warn."""

    months: int = 2
    warn_usage: Decimal = Decimal("0.70")
    critical_usage: Decimal = Decimal("1.0")


def size(monthly_history: Sequence[int], months: int = 2) -> int:
    """An account's size: `months` × the average monthly Σₜ O(i→t) of the history (rule R)."""
    if months < 0:
        raise InvalidInput("months", "must not be negative")
    if not monthly_history:
        return 0
    return max(0, round_half_up(months * sum(monthly_history), len(monthly_history)))


def usage(balance: int, size: int) -> Fraction:
    """usage = 1 − balance/size (an empty account of size 0 is fully used only if negative)."""
    if size <= 0:
        return Fraction(0) if balance >= 0 else Fraction(1)
    return 1 - Fraction(balance, size)


def level(balance: int, size: int, rule: PrepaymentRule = PrepaymentRule()) -> str:
    """ok, warning (usage ≥ warn_usage) or critical (usage ≥ critical_usage)."""
    used = usage(balance, size)
    if used >= Fraction(rule.critical_usage):
        return "critical"
    return "warning" if used >= Fraction(rule.warn_usage) else "ok"


def worse(before: str, after: str) -> bool:
    """True when the level got worse (ok → warning, ok/warning → critical)."""
    return LEVELS.index(after) > LEVELS.index(before)


def usage_text(used: Fraction) -> str:
    """A usage as a decimal string with four places, e.g. "0.7500"."""
    ten_thousandths = round_half_up(used.numerator * 10000, used.denominator)
    sign = "-" if ten_thousandths < 0 else ""
    whole, part = divmod(abs(ten_thousandths), 10000)
    return f"{sign}{whole}.{part:04d}"


def draw(balance: int, amount: int) -> int:
    """The balance after a clearing draws `amount` (it may go below zero: critical)."""
    if type(amount) is not int or amount < 0:
        raise InvalidInput("amount", "a draw is a non-negative integer number of fen")
    return balance - amount


def top_up(balance: int, amount: int) -> int:
    """The balance after the province tops its account up by `amount` fen."""
    if type(amount) is not int or amount <= 0:
        raise InvalidInput("amount", "a top-up is a positive integer number of fen")
    return balance + amount


def top_up_due(balance: int, size: int) -> int:
    """What restores the account to its size (0 if it is full)."""
    return max(0, size - balance)
