"""Hand-made claims for the rule tests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from medsettle.core.supervision.facts import Claim, Line

D = date(2026, 10, 5)


def line(serial: str, code: str = "001102000010000", kind: str = "02", day: date | None = D,
         count: str = "1", price: str = "10.00", cap: str | None = None, cls: str = "A",
         over_cap: int = 0, restricted_ok: bool = True) -> Line:
    amount = int(Decimal(price) * 100 * Decimal(count))
    return Line(serial=serial, code=code, kind=kind, day=day, count=Decimal(count),
                price=Decimal(price), amount=amount, in_scope=amount - over_cap if cls != "C"
                else 0, over_cap=over_cap, cap_price=None if cap is None else Decimal(cap),
                cls=cls, restricted_ok=restricted_ok)


def claim(sid: str = "S1", *, person: str = "P1", institution: str = "H44030000001",
          treating: str = "440300", insured: str = "510100", visit_type: str = "outpatient",
          begins: date = D, ends: date | None = None, lines: tuple[Line, ...] = (),
          fund: int = 1000, diagnosis: str = "", level: str = "L3", gender: str = "",
          age: int | None = None, settled: date | None = None) -> Claim:
    end = ends or begins
    return Claim(settlement_id=sid, person_id=person, insured_region=insured,
                 treating_region=treating, institution=institution, visit_type=visit_type,
                 settled_on=settled or end, begins=begins, ends=end,
                 medfee=sum(ln.amount for ln in lines) or fund * 2, fund=fund, lines=lines,
                 level=level, diagnosis=diagnosis, gender=gender, age=age)


def stay_lines(begins: date, days: int, idle_from: int | None = None) -> tuple[Line, ...]:
    """Bed, exam and nursing each day; a drug every day before `idle_from`."""
    out = []
    for k in range(days):
        day = begins + timedelta(days=k)
        out += [line(f"b{k}", "001109000010000", "01", day, price="50.00"),
                line(f"e{k}", "001102000050000", "02", day, price="20.00"),
                line(f"n{k}", "001201000040000", "07", day, price="15.00")]
        if idle_from is None or k < idle_from:
            out.append(line(f"d{k}", "XJ01CAD001B00100000001", "09", day, price="16.00"))
    return tuple(out)
