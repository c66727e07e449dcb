"""The simulation's invariants, read from the databases as committed (a crashed node's too).

After every step, for each node that did something:
- its ledger chain continues from the last verified entry, each entry balanced (no fen created);
and when its ledger or its settlement rows changed (a settlement, a cancel or a reversal;
an accumulator changed without either shows at the next one, or at rest):
- its ledger holds exactly what its settlement rows say was booked, account by account;
- its accumulators equal what was loaded plus the deltas of its settlements still in force;
- no visit has two settlements in force on one side.
At rest (the run drained, reconciliation run): both sides and the hub's index agree on every
settlement; every visit ended settled exactly once or not at all, as its HIS was told; what each
insured province owes each treating province is what that province is owed; every chain and the
hub's message log verify; every cleared month nets to zero, and every cross-province settlement
of a cleared month is owed through clearing (in its month's lines, or as a late adjustment when it
was indexed after its month was cleared).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine

from medsettle.adapters.db.store import Store
from medsettle.adapters.simulation.hospitals import VisitLog
from medsettle.adapters.simulation.nodes import HUB
from medsettle.core import ledger
from medsettle.core.clearing import YearMonth, owed
from medsettle.core.records import Role, SettlementKind, SettlementRecord, SettlementStatus
from medsettle.services import clearing
from medsettle.services.ledger import stored_chain
from medsettle.services.verify import verify_hub_log, verify_node

Key = tuple[str, str, str]  # (psn_no, year, path)


def expected_balances(records: Iterable[SettlementRecord]) -> Counter[str]:
    """Account → balance that a node's settlement rows say its ledger must hold."""
    balances: Counter[str] = Counter()
    for r in records:
        for account, amount in ledger.settlement_postings(
                r.role.value, r.amounts.as_dict(), insured=r.insured_region,
                treating=r.treating_region, psn_no=r.person_id, fixmedins_code=r.institution):
            balances[account] += amount
    return Counter({k: v for k, v in balances.items() if v})


def nonzero(counter: Counter[str]) -> dict[str, int]:
    """The accounts with a balance."""
    return {k: v for k, v in counter.items() if v}


class Checker:
    """Checks one run's invariants against its databases."""

    def __init__(self, engines: dict[str, Engine], start: dict[str, dict[Key, int]]) -> None:
        """`start`: each province's accumulators as loaded."""
        self.stores = {node: Store(engine) for node, engine in engines.items()}
        self.start = start
        self.heads: dict[str, tuple[int, str]] = {node: (0, ledger.GENESIS) for node in engines}
        self.balances: dict[str, Counter[str]] = {node: Counter() for node in engines}
        self.marks: dict[str, tuple[int, int]] = {}

    # --- after every step -------------------------------------------------------------------
    def after_step(self, touched: Iterable[str]) -> list[str]:
        """What is broken on the nodes that did something (empty: all is well)."""
        problems: list[str] = []
        for node in sorted(touched):
            if node not in self.stores:
                continue
            found, moved = self._ledger(node)
            problems += found
            if node != HUB and (moved or found):
                problems += self._province(node)  # money moved: rows, ledger, accumulators
        return problems

    def _ledger(self, node: str) -> tuple[list[str], bool]:
        """Verify the entries appended since the last look and keep the running balances; and
        whether the ledger or the settlement rows changed since then."""
        seq, last = self.heads[node]
        with self.stores[node].tx() as tx:
            rows = tx.rows_after("ledger_entries", "seq", seq, limit=1_000_000)
            mark = ((0, 0) if node == HUB else
                    (tx.count("settlements"), tx.count("settlements", status="cancelled")))
        moved = bool(rows) or mark != self.marks.get(node)
        self.marks[node] = mark
        problems = []
        for item in stored_chain(rows):
            if item.seq != seq + 1 or item.prev_hash != last:
                problems.append(f"{node}: ledger entry {item.seq} does not follow entry {seq}")
            if ledger.chain_hash(item.prev_hash, item.seq, item.entry) != item.hash:
                problems.append(f"{node}: ledger entry {item.seq} does not match its hash")
            total = sum(p.amount for p in item.entry.postings)
            if total:
                problems.append(f"{node}: ledger entry {item.seq} ({item.entry.entry_id}) is "
                                f"unbalanced by {total} fen")
            for posting in item.entry.postings:
                self.balances[node][posting.account] += posting.amount
            seq, last = item.seq, item.hash
        self.heads[node] = (seq, last)
        return problems, moved

    def _province(self, node: str) -> list[str]:
        with self.stores[node].tx() as tx:
            records = [*tx.settlements(Role.INSURED), *tx.settlements(Role.TREATING)]
            stored = {(str(r.psn_no), str(r.year), str(r.path)): int(r.value)
                      for r in tx.rows("accumulators")}
        problems = []
        booked, expected = nonzero(self.balances[node]), nonzero(expected_balances(records))
        if booked != expected:
            differ = sorted(k for k in booked.keys() | expected.keys()
                            if booked.get(k, 0) != expected.get(k, 0))
            problems.append(f"{node}: ledger and settlement rows disagree on {differ[:3]}: "
                            f"ledger {[booked.get(k, 0) for k in differ[:3]]}, rows "
                            f"{[expected.get(k, 0) for k in differ[:3]]}")
        problems += _accumulators(node, records, stored, self.start.get(node, {}))
        in_force: Counter[tuple[str, str]] = Counter(
            (r.role.value, r.visit_id) for r in records
            if r.kind is SettlementKind.SETTLE and r.status is SettlementStatus.SETTLED)
        problems += [f"{node}: visit {v} has {n} settlements in force at the {role} side"
                     for (role, v), n in in_force.items() if n > 1]
        return problems

    # --- at rest ---------------------------------------------------------------------------
    def at_rest(self, logs: Iterable[VisitLog], months: Iterable[str]) -> list[str]:
        """The cross-node invariants, once nothing is in flight and reconciliation has run."""
        problems = self.after_step(self.stores)
        for node in self.stores:
            if node != HUB:
                problems += self._province(node)
        for node, store in self.stores.items():
            found = verify_node(store, "hub" if node == HUB else "province", {})
            if found is not None:
                problems.append(f"{node}: ledger chain broken at {found.seq}: {found.detail}")
        found = verify_hub_log(self.stores[HUB])
        if found is not None:
            problems.append(f"hub: message log broken at {found.seq}: {found.detail}")
        sides = self._sides()
        problems += _agreement(sides)
        problems += self._visits(logs, sides)
        problems += self._owed()
        problems += self._pending()
        for month in months:
            net = sum(s.net for s in clearing.all_statements(self.stores[HUB], month))
            if net:
                problems.append(f"hub: clearing of {month} nets to {net} fen, not 0")
        problems += self._cleared_in_full()
        return problems

    def _cleared_in_full(self) -> list[str]:
        """Every cross-province settlement of a cleared month is owed through clearing: in its
        month's lines, or (indexed after the month was cleared) in a late adjustment."""
        with self.stores[HUB].tx() as tx:
            cleared = {str(m) for m in tx.distinct("clearing_statements", "month")}
            in_lines = sum(int(r.fund_pay_sumamt) + int(r.acct_pay)
                           for r in tx.rows("clearing_lines"))
            late = sum(int(r.amount) for r in tx.rows("clearing_adjustments", kind="late"))
            due = sum(owed(str(r.kind), int(r.fund_pay_sumamt), int(r.acct_pay))
                      for r in tx.rows("settlement_index")
                      if r.insu_admdvs[:2] != r.mdtrtarea_admvs[:2]
                      and str(YearMonth.of(r.setl_time)) in cleared)
        if in_lines + late == due:
            return []
        return [f"hub: the cleared months' settlements owe {due} fen, but clearing carries "
                f"{in_lines} fen in its lines and {late} fen late"]

    def _sides(self) -> dict[str, dict[str, Any]]:
        sides: dict[str, dict[str, Any]] = {"insured": {}, "treating": {}}
        for node, store in self.stores.items():
            if node == HUB:
                with store.tx() as tx:
                    sides["hub"] = {str(r.setl_id): r for r in tx.rows("settlement_index")}
                continue
            with store.tx() as tx:
                for role in (Role.INSURED, Role.TREATING):
                    sides[role.value].update({r.settlement_id: r for r in tx.settlements(role)})
        return sides

    def _visits(self, logs: Iterable[VisitLog], sides: dict[str, Any]) -> list[str]:
        """Every visit ended as its HIS was told: settled once, or nothing in force."""
        by_visit: dict[str, list[SettlementRecord]] = defaultdict(list)
        for role in ("insured", "treating"):
            for r in sides[role].values():
                if r.kind is SettlementKind.SETTLE and r.status is SettlementStatus.SETTLED:
                    by_visit[r.visit_id].append(r)
        problems = []
        for log in logs:
            opened = sorted({m for infno, m in log.msgids if infno in ("2201", "2401")})
            if not opened:
                continue
            with self.stores[log.planned.treating_province].tx() as tx:
                visits = [v for m in opened for v in tx.treated_visits(msgid=m)]
            in_force = [r for v in visits for r in by_visit.get(v.visit_id, [])]
            want = 2 if log.state == "settled" else 0
            if len(in_force) != want or (want and {r.settlement_id for r in in_force}
                                         != {log.setl_id}):
                problems.append(
                    f"visit {log.planned.visit_no} ({log.state} for its HIS, setl_id "
                    f"{log.setl_id or '-'}) has {len(in_force)} settlement records in force: "
                    f"{sorted((r.role.value, r.settlement_id) for r in in_force)}; "
                    f"HIS notes: {log.notes[-3:]}")
        return problems

    def _owed(self) -> list[str]:
        """What each insured province's ledger owes a treating province, that province's ledger
        is owed (to the fen)."""
        problems = []
        for i, books in self.balances.items():
            for account, amount in books.items():
                if not account.startswith("payable:province:") or i == HUB:
                    continue
                t = account.rsplit(":", 1)[1]
                owed = self.balances.get(t, Counter()).get(f"receivable:province:{i}", 0)
                if owed != -amount:
                    problems.append(f"{i} owes {t} {-amount} fen by its ledger, but {t} is owed "
                                    f"{owed} fen by its own")
        return problems

    def _pending(self) -> list[str]:
        problems = []
        for node, store in self.stores.items():
            if node == HUB:
                continue
            with store.tx() as tx:
                pending = [v.visit_id for v in tx.treated_visits() if v.reversal_pending]
            if pending:
                problems.append(f"{node}: reversals still pending for visits {pending[:3]}")
        return problems

    def digest(self) -> str:
        """A SHA-256 over every node's ledger, settlements, accumulators, and the hub's index,
        message log and clearing: equal for two runs of one seed, bit for bit."""
        h = hashlib.sha256()
        for node in sorted(self.stores):
            with self.stores[node].tx() as tx:
                h.update(node.encode())
                for table, order in (("ledger_entries", "seq"), ("settlements", "setl_id"),
                                     ("accumulators", None), ("settlement_index", "setl_id"),
                                     ("hub_messages", "id"), ("clearing_statements", None)):
                    if node == HUB and table in ("settlements", "accumulators"):
                        continue
                    if node != HUB and table in ("settlement_index", "hub_messages",
                                                 "clearing_statements"):
                        continue
                    rows = sorted(repr(tuple(r)) for r in tx.rows(table, order_by=order))
                    h.update(f"{table}:{len(rows)}".encode())
                    for row in rows:
                        h.update(row.encode())
        return h.hexdigest()


def _accumulators(node: str, records: list[SettlementRecord], stored: dict[Key, int],
                  start: dict[Key, int]) -> list[str]:
    """Stored accumulators = loaded + Σ deltas of the insured settlements in force."""
    expected: Counter[Key] = Counter(start)
    for r in records:
        if (r.role is Role.INSURED and r.kind is SettlementKind.SETTLE
                and r.status is SettlementStatus.SETTLED):
            for path, value in (r.delta or {}).items():
                year = "" if path == "acct_balance" else r.medical_year
                expected[(r.person_id, year, path)] += value
    ours = {k: v for k, v in expected.items() if v}
    have = {k: v for k, v in stored.items() if v}
    if ours == have:
        return []
    differ = sorted(k for k in ours.keys() | have.keys() if ours.get(k, 0) != have.get(k, 0))
    k = differ[0]
    return [f"{node}: accumulator {'/'.join(k)} is {have.get(k, 0)}, but what was loaded plus "
            f"the deltas of its settlements in force make {ours.get(k, 0)} "
            f"({len(differ)} differ)"]


def _agreement(sides: dict[str, Any]) -> list[str]:
    """Both places hold the same records of every settlement; the hub indexes every
    cross-province one with the same amounts."""
    problems = []
    insured, treating, hub = sides["insured"], sides["treating"], sides["hub"]
    for setl_id in sorted(insured.keys() | treating.keys()):
        i, t = insured.get(setl_id), treating.get(setl_id)
        if i is not None and t is None and (i.kind is SettlementKind.CANCEL
                                            or i.status is SettlementStatus.CANCELLED):
            t = i  # a settlement whose answer was lost, reversed at the insured place: fine
        if i is None or t is None:
            only = i or t
            problems.append(f"settlement {setl_id} ({only.kind.value}, {only.status.value}) is "
                            f"recorded only at the {'insured' if t is None else 'treating'} place")
            continue
        if (i.status, i.kind, i.amounts) != (t.status, t.kind, t.amounts):
            problems.append(f"settlement {setl_id}: insured place has {i.kind.value} "
                            f"{i.status.value} {i.amounts.as_dict()}, treating place "
                            f"{t.kind.value} {t.status.value} {t.amounts.as_dict()}")
        row = hub.get(setl_id)
        if i.cross_province and (row is None or row.fund_pay_sumamt != i.amounts.fund_pay_sumamt
                                 or row.medfee_sumamt != i.amounts.medfee_sumamt):
            problems.append(f"settlement {setl_id} is "
                            f"{'not indexed' if row is None else 'indexed differently'} at the hub")
    problems += [f"settlement {s} is indexed at the hub but unknown to both places"
                 for s in sorted(hub.keys() - insured.keys() - treating.keys())]
    return problems
