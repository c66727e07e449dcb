"""Monthly clearing (清算) and prepayment accounts (预付金) at the hub (domain.md §8).

The month's obligations are summed by the database (one GROUP BY over the settlement index), so
clearing scales with the index, not with Python. A month is computed once: a re-run returns the
stored result. Money moves only through balanced, chained entries of the hub's ledger:

- top-up:  bank:hub +x, prepayment:<p> −x (the hub holds the province's deposit)
- clearing: prepayment:<payer> +|net| (draw), payable:province:<receiver> −net (credit)
- paid:    payable:province:<receiver> +net, bank:hub −net (funds leave for the 财政专户)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from medsettle.core import codes, ledger
from medsettle.core.clearing import (
    Obligation,
    PrepaymentRule,
    Statement,
    YearMonth,
    from_dict,
    level,
    net,
    statements,
    to_dict,
    top_up_due,
    usage,
    usage_text,
    worse,
)
from medsettle.core.clearing import draw as draw_balance
from medsettle.core.clearing import size as prepayment_size
from medsettle.core.clearing import top_up as top_up_balance
from medsettle.core.errors import InvalidInput, NotFound, StateConflict
from medsettle.services import audit, refusals
from medsettle.services import ledger as ledger_service
from medsettle.services.audit import Actor
from medsettle.services.ledger import post
from medsettle.services.ports import Database, UnitOfWork
from medsettle.services.refusals import apply_adjustments

logger = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
RULE = PrepaymentRule()
#: A top-up's payment reference: the bank transfer's number, 1-40 printable ASCII characters.
REFERENCE = re.compile(r"[\x21-\x7e]{1,40}", re.ASCII)


class ReferenceReused(StateConflict):
    """A top-up names a payment reference already booked for the province with another amount."""

    field = "reference"


def month_of(value: YearMonth | str) -> YearMonth:
    """A YearMonth from itself or from "YYYY-MM"."""
    return value if isinstance(value, YearMonth) else YearMonth.parse(value)


def _province(code: str) -> str:
    if len(code) != 6 or not (code.isascii() and code.isdigit()) or not code.endswith("0000"):
        raise InvalidInput("province", f"{code!r} is not a province code like 440000")
    return code


# --- the month's totals (aggregated in the database) ----------------------------------------
def month_totals(tx: UnitOfWork, month: YearMonth) -> list[Obligation]:
    """O(i→t) of the month from the hub's settlement index, by one GROUP BY in the database.
    Mirrors core.clearing.obligations (cancels negative, same-province rows left out)."""
    start, end = month.bounds()
    return [Obligation(f"{i}0000", f"{t}0000", n, m, f, a)
            for i, t, n, m, f, a in tx.index_totals(start, end)]


def institution_totals(tx: UnitOfWork, month: YearMonth) -> dict[tuple[str, str], int]:
    """At a province node: (province, institution) → Σ owed (funds + account) of the month's
    cross-province settlements it treated, cancels negative (one GROUP BY)."""
    start, end = month.bounds()
    return {(f"{p}0000", code): owed for p, code, owed in tx.institution_owed(start, end)}


# --- the hub's ledger ------------------------------------------------------------------------
# --- clearing a month ------------------------------------------------------------------------
def run_clearing(store: Database, month: YearMonth | str, now: datetime,
                 progress: Progress | None = None, rule: PrepaymentRule = RULE, *,
                 actor: Actor | None = None, early: bool = False) -> dict[str, Any]:
    """Clear a month once: lines O(i→t), drafted statements, prepayment draws and credits.
    A month that has statements is returned as stored, never recomputed. A month with nothing
    to clear (no cross-province settlement indexed, no adjustment pending) records nothing and
    answers `not_cleared` with `nothing_to_clear`: its settlements indexed later are cleared by
    a later run of the month. `early` clears the current month so far (a demo's; never in
    production: later settlements of the month are booked as late adjustments, owed through
    the next clearing)."""
    m = month_of(month)
    report = progress or (lambda _step, _done, _total: None)
    if now < m.bounds()[0] or (now < m.bounds()[1] and not early):
        raise InvalidInput("month", f"{m} has not ended yet; clear it from the 1st of the next "
                                    "month (Asia/Shanghai)")
    with store.tx() as tx:
        if tx.count("clearing_statements", month=str(m)):
            report("already cleared", 1, 1)
            return summary(tx, m) | {"created": False}
    try:
        result = _clear(store, m, now, report, rule, actor)
    except StateConflict:  # another run of the month committed first: its result stands
        with store.tx() as tx:
            stored = summary(tx, m)
        if not stored["provinces"]:  # no run's result stands: the conflict is the answer
            raise
        return stored | {"created": False}
    if result.get("nothing_to_clear"):
        logger.info("nothing to clear", extra={"month": str(m)})
        return result
    logger.info("month cleared", extra={"month": str(m), "pairs": result["pairs"],
                                        "obligations": result["obligations"]})
    return result


def _clear(store: Database, m: YearMonth, now: datetime, report: Progress,
           rule: PrepaymentRule, actor: Actor | None = None) -> dict[str, Any]:
    with store.tx() as tx:
        # a row arriving meanwhile waits, then books as late; another run waits for this one
        tx.hold_index_for_clearing()
        if tx.count("clearing_statements", month=str(m)):  # a run of the month went first
            return summary(tx, m) | {"created": False}
        report("aggregating settlements", 0, 4)
        totals = apply_adjustments(tx, m, month_totals(tx, m))
        if not totals:  # nothing recorded: the month stays open for the rows indexed later
            report("nothing to clear", 4, 4)
            return summary(tx, m) | {"created": False, "nothing_to_clear": True}
        report("writing clearing lines", 1, 4)
        tx.add_many("clearing_lines", [
            {"month": str(m), "insured": o.insured, "treating": o.treating,
             "settlements": o.settlements, "medfee_sumamt": o.medfee_sumamt,
             "fund_pay_sumamt": o.fund_pay_sumamt, "acct_pay": o.acct_pay,
             "obligation": o.obligation, "adjustment": o.adjustment} for o in totals])
        obligations = {(o.insured, o.treating): o for o in totals}
        report("drafting statements", 2, 4)
        tx.add_many("clearing_statements", [_statement_row(s, now)
                                            for s in statements(m, obligations)])
        report("drawing prepayments", 3, 4)
        _draw(tx, m, net(obligations), now, rule)
        report("done", 4, 4)
        result = summary(tx, m)
        if actor is not None:
            audit.record(tx, actor, "clearing.run", str(m), None,
                         {k: result[k] for k in ("provinces", "pairs", "settlements",
                                                 "obligations")}, now)
        return result | {"created": True}


def _statement_row(s: Statement, now: datetime) -> dict[str, object]:
    return {"month": str(s.month), "province": s.province, "status": s.state, "owes": s.owes,
            "due": s.due, "net": s.net, "document": to_dict(s), "insured_confirmed": False,
            "treating_confirmed": False, "dispute": None, "drafted_at": now, "paid_at": None}


def _draw(tx: UnitOfWork, m: YearMonth, nets: dict[str, int], now: datetime,
          rule: PrepaymentRule) -> None:
    """Draw each payer's net from its prepayment account and credit each receiver."""
    for province, amount in sorted(nets.items()):
        if amount < 0:
            _move(tx, province, "draw", amount, now, rule, str(m))
        elif amount > 0:
            tx.add("prepayment_moves", {"province": province, "kind": "credit",
                                        "amount": amount, "month": str(m), "at": now})
    postings = [(f"prepayment:{p}" if n < 0 else f"payable:province:{p}", -n)
                for p, n in sorted(nets.items())]
    entry_id = f"clearing:{m}"
    if tx.one("ledger_entries", entry_id=entry_id) is not None:
        # a run before the month had anything to clear booked an empty entry (older versions
        # did) and no statements: the month's real clearing is booked beside it
        entry_id = f"clearing:{m}:after-empty"
    post(tx, ledger.balanced(entry_id, "clearing", str(m), now, postings), role="hub")


def summary(tx: UnitOfWork, m: YearMonth) -> dict[str, Any]:
    """The stored result of a month: totals and each province's statement position."""
    rows = tx.rows("clearing_statements", order_by="province", month=str(m))
    lines = tx.rows("clearing_lines", month=str(m))
    states = {r.status for r in rows}
    overall = ("not_cleared" if not rows else "paid" if states == {"paid"} else
               "disputed" if "disputed" in states else
               "confirmed" if states <= {"confirmed", "paid"} else "drafted")
    return {"month": str(m), "status": overall, "provinces": len(rows), "pairs": len(lines),
            "settlements": sum(int(x.settlements) for x in lines),
            "medfee_sumamt": sum(int(x.medfee_sumamt) for x in lines),
            "obligations": sum(int(x.obligation) for x in lines),
            "net_sum": sum(int(r.net) for r in rows),
            "statements": [{"province": r.province, "status": r.status, "owes": int(r.owes),
                            "due": int(r.due), "net": int(r.net),
                            "insured_confirmed": bool(r.insured_confirmed),
                            "treating_confirmed": bool(r.treating_confirmed),
                            "dispute": r.dispute} for r in rows]}


def adjustments(store: Database, month: YearMonth | str | None = None
                ) -> list[dict[str, object]]:
    """The adjustments a month's clearing applied, or (no month) those waiting for the next
    clearing: refusals, items held and released, settlements indexed late."""
    with store.tx() as tx:
        return refusals.pending(tx) if month is None else refusals.applied_in(tx,
                                                                           month_of(month))


def clearing_summary(store: Database, month: YearMonth | str) -> dict[str, Any]:
    """The stored result of a month (status not_cleared if it was never run)."""
    with store.tx() as tx:
        return summary(tx, month_of(month))


# --- statements ------------------------------------------------------------------------------
def _load(tx: UnitOfWork, m: YearMonth, province: str) -> tuple[Any, Statement]:
    row = tx.one("clearing_statements", month=str(m), province=_province(province))
    if row is None:
        raise NotFound(f"no clearing statement of {province} for {m}")
    doc = dict(row.document) | {"state": row.status, "dispute": row.dispute,
                                "insured_confirmed": row.insured_confirmed,
                                "treating_confirmed": row.treating_confirmed}
    return row, from_dict(doc)


def _save(tx: UnitOfWork, row: Any, new: Statement, **extra: object) -> None:
    """Write a transition only if nobody changed the statement meanwhile."""
    keys = {"month": row.month, "province": row.province, "status": row.status,
            "insured_confirmed": row.insured_confirmed,
            "treating_confirmed": row.treating_confirmed}
    changed = tx.change("clearing_statements", keys, status=new.state, document=to_dict(new),
                        insured_confirmed=new.insured_confirmed,
                        treating_confirmed=new.treating_confirmed, dispute=new.dispute, **extra)
    if changed != 1:
        raise StateConflict(f"statement {row.month} {row.province} changed meanwhile; retry")


def statement(store: Database, month: YearMonth | str, province: str) -> Statement:
    """A province's statement of a month, as it stands."""
    with store.tx() as tx:
        return _load(tx, month_of(month), province)[1]


def statements_of(store: Database, province: str, since: YearMonth) -> list[Statement]:
    """A province's statements of `since` and the months after it, newest first (one read for
    a console page that would otherwise ask month by month)."""
    code = _province(province)
    with store.tx() as tx:
        months = sorted((str(r.month) for r in tx.rows("clearing_statements", province=code)
                         if str(r.month) >= str(since)), reverse=True)
        return [_load(tx, YearMonth.parse(m), code)[1] for m in months]


def all_statements(store: Database, month: YearMonth | str) -> list[Statement]:
    """Every statement of a month, by province."""
    m = month_of(month)
    with store.tx() as tx:
        rows = tx.rows("clearing_statements", order_by="province", month=str(m))
        return [_load(tx, m, str(r.province))[1] for r in rows]


def _audit(tx: UnitOfWork, actor: Actor | None, action: str, before: Statement,
           after: Statement, now: datetime | None) -> None:
    """The audit line of a statement's transition, in its transaction (when an actor is named)."""
    if actor is not None:
        audit.record(tx, actor, f"clearing.{action}", f"{before.month} {before.province}",
                     _position(before), _position(after), now or datetime.now(UTC))


def _position(s: Statement) -> dict[str, object]:
    return {"state": s.state, "insured_confirmed": s.insured_confirmed,
            "treating_confirmed": s.treating_confirmed, "dispute": s.dispute, "net": s.net}


def confirm(store: Database, month: YearMonth | str, province: str, side: str,
            actor: Actor | None = None, now: datetime | None = None) -> Statement:
    """The province confirms its statement as insured or as treating place."""
    with store.tx() as tx:
        row, current = _load(tx, month_of(month), province)
        new = current.confirm(side)
        if new != current:
            _save(tx, row, new)
            _audit(tx, actor, f"confirm_{side}", current, new, now)
    logger.info("statement confirmed", extra={"month": str(new.month), "province": province,
                                              "side": side, "state": new.state})
    return new


def dispute(store: Database, month: YearMonth | str, province: str, reason: str,
            actor: Actor | None = None, now: datetime | None = None) -> Statement:
    """The province disputes its statement; it cannot be paid until it is re-drafted."""
    with store.tx() as tx:
        row, current = _load(tx, month_of(month), province)
        new = current.disputed(reason)
        _save(tx, row, new)
        _audit(tx, actor, "dispute", current, new, now)
    logger.warning("statement disputed", extra={"month": str(new.month), "province": province,
                                                "reason": new.dispute})
    return new


def redraft(store: Database, month: YearMonth | str, province: str,
            actor: Actor | None = None, now: datetime | None = None) -> Statement:
    """After a dispute is resolved (refused items are deducted in the next clearing, 拒付),
    the statement goes back to drafted for both confirmations; its amounts stay."""
    with store.tx() as tx:
        row, current = _load(tx, month_of(month), province)
        new = current.redrafted()
        _save(tx, row, new)
        _audit(tx, actor, "redraft", current, new, now)
    return new


def mark_paid(store: Database, month: YearMonth | str, province: str,
              now: datetime, actor: Actor | None = None) -> Statement:
    """Funds moved for a confirmed statement: a receiver's payable is paid out of the hub's
    bank account; a payer's part was drawn at clearing, so its entry only records the event."""
    m = month_of(month)
    with store.tx() as tx:
        row, current = _load(tx, m, province)
        if current.state == "paid":
            return current
        new = current.paid()
        amount = max(new.net, 0)
        post(tx, ledger.balanced(f"clearing-paid:{m}:{province}", "clearing_paid",
                                     f"{m}:{province}", now,
                                     [(f"payable:province:{province}", amount),
                                      ("bank:hub", -amount)]), role="hub")
        _save(tx, row, new, paid_at=now)
        _audit(tx, actor, "paid", current, new, now)
    logger.info("statement paid", extra={"month": str(m), "province": province,
                                         "net": new.net})
    return new


# --- prepayment accounts ---------------------------------------------------------------------
def _move(tx: UnitOfWork, province: str, kind: str, amount: int, now: datetime,
          rule: PrepaymentRule, month: str | None = None) -> dict[str, Any]:
    """Change a balance by `amount` (draw < 0, top-up > 0), record it, warn on a worse level.
    The account's row is held from the read to the commit, so a top-up during a clearing run,
    or two months cleared at once, change the balance one after the other (none is lost)."""
    account = _hold_account(tx, province, now)
    size, balance = int(account.size), int(account.balance)
    after = (draw_balance(balance, -amount) if amount < 0 else top_up_balance(balance, amount))
    tx.change("prepayment_accounts", {"province": province}, balance=after, updated_at=now)
    tx.add("prepayment_moves", {"province": province, "kind": kind, "amount": amount,
                                "month": month, "at": now})
    _warn_if_worse(province, balance, after, size, size, rule, month)
    return _view(province, size, after, rule)


def _hold_account(tx: UnitOfWork, province: str, now: datetime) -> Any:
    """A province's prepayment account (created empty if it has none), its row held until the
    transaction ends (SELECT … FOR UPDATE on PostgreSQL; SQLite write transactions run alone).
    Accounts are held in province order (a run draws them sorted), so holders never deadlock."""
    tx.add_ignore("prepayment_accounts", [{"province": province, "size": 0, "balance": 0,
                                           "updated_at": now}])
    account = tx.hold("prepayment_accounts", province=province)
    if account is None:  # the row was ensured just above, in this transaction
        raise StateConflict(f"prepayment account of {province} vanished; retry")
    return account


def _warn_if_worse(province: str, before: int, after: int, size_before: int, size_after: int,
                   rule: PrepaymentRule, month: str | None) -> None:
    old, new = level(before, size_before, rule), level(after, size_after, rule)
    if worse(old, new):
        logger.warning("prepayment account of %s is at %s level (usage %s)", province, new,
                       usage_text(usage(after, size_after)),
                       extra={"province": province, "prepayment_level": new,
                              "usage": usage_text(usage(after, size_after)),
                              "balance": after, "size": size_after, "month": month})


def _view(province: str, size: int, balance: int, rule: PrepaymentRule) -> dict[str, Any]:
    return {"province": province, "size": size, "balance": balance,
            "usage": usage_text(usage(balance, size)), "level": level(balance, size, rule),
            "top_up_due": top_up_due(balance, size)}


def top_up(store: Database, province: str, amount: int, now: datetime,
           rule: PrepaymentRule = RULE, actor: Actor | None = None, *,
           reference: str) -> dict[str, Any]:
    """The province pays into its prepayment account at the hub (after confirming). `reference`
    is the payment's own number (the bank transfer's): the top-up is booked once per province
    and reference, so a resend after a lost answer books nothing and answers `already: true`;
    the same reference with another amount is refused (ReferenceReused, naming `reference`)."""
    province = _province(province)
    if type(amount) is not int or amount <= 0:
        raise InvalidInput("amount", "a top-up is a positive integer number of fen")
    reference = payment_reference(reference)
    entry_id = f"prepayment-topup:{province}:ref:{reference}"
    with store.tx() as tx:
        account = _hold_account(tx, province, now)  # a resend waits for the first to commit
        booked = tx.one("ledger_entries", entry_id=entry_id)
        if booked is not None:
            earlier = {str(a): int(v) for a, v in booked.postings}.get("bank:hub", 0)
            if earlier != amount:
                raise ReferenceReused(
                    f"reference: {reference!r} already topped up {province} by {earlier} fen "
                    f"on {booked.booked_at:%Y-%m-%d}; another payment needs its own reference")
            view = _view(province, int(account.size), int(account.balance), rule)
            return view | {"reference": reference, "already": True}
        view = _move(tx, province, "topup", amount, now, rule)
        post(tx, ledger.balanced(entry_id, "prepayment_topup", province, now,
                                 [("bank:hub", amount), (f"prepayment:{province}", -amount)]),
             role="hub")
        if actor is not None:
            audit.record(tx, actor, "prepayment.topup", province,
                         {"balance": view["balance"] - amount},
                         {"balance": view["balance"], "amount": amount,
                          "reference": reference}, now)
    return view | {"reference": reference, "already": False}


def payment_reference(value: object) -> str:
    """A top-up's payment reference as sent (a string of REFERENCE), else InvalidInput naming
    `reference`."""
    if not isinstance(value, str) or REFERENCE.fullmatch(value) is None:
        shown = repr(value[:40]) if isinstance(value, str) else type(value).__name__
        raise InvalidInput("reference", "the payment's reference (the bank transfer's number), "
                                        f"1-40 printable ASCII characters without spaces; got "
                                        f"{shown}")
    return value


def size_prepayments(store: Database, now: datetime, months: int = 2, history_months: int = 12,
                     rule: PrepaymentRule = RULE) -> list[dict[str, Any]]:
    """Size every insured province's account: `months` × its average monthly Σₜ O(i→t) over
    the cleared months among the last `history_months` (reviewed each Q1; 调增 uses 3)."""
    if history_months <= 0:
        raise InvalidInput("history_months", "must be positive")
    current = YearMonth.of(now)
    window = {str(current.shift(-k)) for k in range(1, history_months + 1)}
    with store.tx() as tx:
        lines = [x for x in tx.rows("clearing_lines") if x.month in window]
        cleared = sorted({str(x.month) for x in lines})
        spent: dict[str, dict[str, int]] = {}
        for x in lines:
            by_month = spent.setdefault(str(x.insured), {})
            by_month[str(x.month)] = by_month.get(str(x.month), 0) + int(x.obligation)
        accounts = {str(a.province): a for a in tx.rows("prepayment_accounts")}
        result = []
        for province in sorted(set(spent) | set(accounts)):
            history = [spent.get(province, {}).get(month, 0) for month in cleared]
            new_size = prepayment_size(history, months)
            account = accounts.get(province)
            balance = int(account.balance) if account else 0
            old_size = int(account.size) if account else 0
            if account is None:
                tx.add("prepayment_accounts", {"province": province, "size": new_size,
                                               "balance": 0, "updated_at": now})
            elif old_size != new_size:
                tx.change("prepayment_accounts", {"province": province}, size=new_size,
                          updated_at=now)
            if account is None or old_size != new_size:
                tx.add("prepayment_moves", {"province": province, "kind": "size",
                                            "amount": new_size, "month": None, "at": now})
                _warn_if_worse(province, balance, balance, old_size, new_size, rule, None)
            result.append(_view(province, new_size, balance, rule))
    return result


def accounts(store: Database, rule: PrepaymentRule = RULE) -> list[dict[str, Any]]:
    """Every prepayment account with its usage and warning level."""
    with store.tx() as tx:
        return [_view(str(a.province), int(a.size), int(a.balance), rule)
                for a in tx.rows("prepayment_accounts", order_by="province")]


def warnings(store: Database, rule: PrepaymentRule = RULE) -> list[dict[str, Any]]:
    """Accounts at warning or critical level (充裕性预警)."""
    return [a for a in accounts(store, rule) if a["level"] != "ok"]


# --- the treating province pays its institutions ---------------------------------------------
#: How many months before the one being paid a payment looks back at: a record that arrives
#: after its month was paid (a cancel whose lost answer a resend of 2208 recovers weeks later,
#: dated in the earlier month) is paid, or taken back, with the next month's payment.
CATCH_UP_MONTHS = 3


def pay_institutions(tx: UnitOfWork, month: YearMonth | str, now: datetime) -> dict[str, int]:
    """At a treating province's node, once the hub has paid the month: each institution is paid
    the difference between its month's cross-province total (cancels negative) and what it was
    already paid for that month, from bank:<province> to payable:institution:<code> (negative:
    taken back). The CATCH_UP_MONTHS before, if they were paid, get their differences too, and
    the refused amounts (拒付) of cases decided by the month's end are netted, each once.
    Each difference is one numbered entry, so calling again pays nobody twice. Returns what
    each institution was paid now."""
    m = month_of(month)
    paid: dict[str, int] = {}
    for back in range(CATCH_UP_MONTHS, 0, -1):
        _pay_differences(tx, m.shift(-back), now, paid, only_if_paid=True)
    _pay_differences(tx, m, now, paid, only_if_paid=False)
    _net_recoveries(tx, m, now, paid)
    logger.info("institutions paid", extra={"month": str(m), "institutions": len(paid)})
    return paid


def _pay_differences(tx: UnitOfWork, m: YearMonth, now: datetime, paid: dict[str, int], *,
                     only_if_paid: bool) -> None:
    """Pay each institution of month `m` what its total exceeds its payments so far (or take
    back what they exceed it by); with `only_if_paid`, only a month some institution was paid."""
    totals = institution_totals(tx, m)
    before = {code: _paid_so_far(tx, m, code) for _province, code in totals}
    if only_if_paid and not any(count for _amount, count in before.values()):
        return
    for (province, code), total in sorted(totals.items()):
        already, count = before[code]
        if total == already:
            continue
        entry_id = _payment_id(m, code, count + 1)
        ledger_service.post(tx, ledger.balanced(
            entry_id, "institution_paid", f"{m}:{code}", now,
            [(f"payable:institution:{code}", total - already),
             (f"bank:{province}", already - total)]))
        paid[code] = paid.get(code, 0) + total - already


def _payment_id(m: YearMonth, code: str, number: int) -> str:
    """The n-th payment of an institution for a month (the first keeps its original id)."""
    first = f"pay-institution:{m}:{code}"
    return first if number == 1 else f"{first}:{number}"


def _paid_so_far(tx: UnitOfWork, m: YearMonth, code: str) -> tuple[int, int]:
    """What an institution was paid for a month, and in how many entries."""
    amount, count = 0, 0
    while (entry := tx.one("ledger_entries", entry_id=_payment_id(m, code, count + 1))):
        account = f"payable:institution:{code}"
        amount += sum(int(v) for a, v in entry.postings if a == account)
        count += 1
    return amount, count


def _net_recoveries(tx: UnitOfWork, m: YearMonth, now: datetime, paid: dict[str, int]) -> None:
    """Net each refused amount (拒付) an institution owes back (credit.apply_decision posted it
    to payable:institution:<code>) from what it is paid: cases decided before the end of the
    month being paid, each once (entry refusal-netted:<case>), so a payment's result does not
    depend on the day it is made."""
    end = m.bounds()[1]
    for event in tx.rows("credit_events", order_by="id", action="deduct"):
        refusal = tx.one("ledger_entries", entry_id=f"refusal:{event.case_id}")
        entry_id = f"refusal-netted:{event.case_id}"
        if refusal is None or refusal.booked_at >= end or tx.one("ledger_entries",
                                                                 entry_id=entry_id):
            continue
        code = str(event.fixmedins_code)
        account = f"payable:institution:{code}"
        owed_back = sum(int(v) for a, v in refusal.postings if a == account)
        bank = _institution_bank(tx, code)
        if not owed_back or bank is None:
            continue
        ledger_service.post(tx, ledger.balanced(entry_id, "refusal_netted", f"{m}:{code}", now,
                                                [(account, -owed_back), (bank, owed_back)]))
        paid[code] = paid.get(code, 0) - owed_back


def _institution_bank(tx: UnitOfWork, code: str) -> str | None:
    """bank:<province> of the province an institution is designated in (None if unknown)."""
    institution = tx.one("institutions", fixmedins_code=code)
    if institution is None:
        logger.warning("refused amount not netted: institution unknown",
                       extra={"fixmedins_code": code})
        return None
    return f"bank:{codes.province_of(str(institution.admdvs))}"
