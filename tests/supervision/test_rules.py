"""Each rule on hand-made cases at and around its threshold (domain.md §9)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from medsettle.core.catalogue import Restriction
from medsettle.core.supervision import billing, drugs, eligibility, identity, stay, trends
from medsettle.core.supervision.facts import FilingEvent
from medsettle.core.supervision.runner import MonthFacts, batch, realtime
from medsettle.core.supervision.thresholds import R02, R09, defaults
from tests.supervision.builders import D, claim, line, stay_lines

T = defaults()


@pytest.mark.parametrize(("idle", "hit"), [(2, False), (3, True), (4, True)])
def test_r01_idle_days_at_three(idle: int, hit: bool) -> None:
    days = 8
    c = claim(visit_type="inpatient", ends=D + timedelta(days=days - 1),
              lines=stay_lines(D, days, idle_from=days - idle))
    found = stay.idle_days(c, T)
    assert (found is not None) is hit
    if found:
        assert found.measured["idle_days"] == str(idle)
        assert found.threshold == "r01.min_days = 3"
        assert "b7" in " ".join(found.lines)


def test_r01_census_above_the_tukey_fence() -> None:
    history = [claim(f"H{k}", person=f"P{k}", visit_type="inpatient",
                     begins=D - timedelta(days=k % 90 + 1), ends=D - timedelta(days=k % 90 + 1))
               for k in range(180)]  # two inpatients on each of the 90 days before
    today = [claim(f"T{k}", person=f"Q{k}", visit_type="inpatient", begins=D, ends=D)
             for k in range(3)]
    assert stay.census_outliers([*history, *today[:2]], [D], T) == []  # 2 = the fence
    [hit] = stay.census_outliers([*history, *today], [D], T)
    assert hit.unit == "institution_day" and hit.measured == {"census": "3", "fence": "2.00"}


@pytest.mark.parametrize(("gap", "hit"), [(15, True), (16, False), (0, True)])
def test_r02_readmission_window_15_days(gap: int, hit: bool) -> None:
    first = claim("A", visit_type="inpatient", begins=D, ends=D + timedelta(days=5),
                  diagnosis="J18.9")
    again = claim("B", visit_type="inpatient", begins=first.ends + timedelta(days=gap),
                  ends=first.ends + timedelta(days=gap + 3), diagnosis="J18.0")
    found = stay.readmissions([first, again], T)
    assert bool(found) is hit
    if found:
        assert found[0].key == "B" and found[0].settlements == ("A", "B")


def test_r02_other_diagnosis_or_institution_is_not_a_split() -> None:
    first = claim("A", visit_type="inpatient", begins=D, ends=D, diagnosis="J18.9")
    other = claim("B", visit_type="inpatient", begins=D + timedelta(days=3),
                  ends=D + timedelta(days=4), diagnosis="K35.8")
    elsewhere = replace(other, settlement_id="C", diagnosis="J18.1", institution="H44030000002")
    assert stay.readmissions([first, other, elsewhere], T) == []
    assert stay.readmissions([first, replace(other, diagnosis="J18.1")],
                             replace(T, r02=R02(max_gap_days=2))) == []


def test_r03_bed_twice_a_day_and_the_bundle() -> None:
    once = claim(visit_type="inpatient", lines=(line("1", kind="01"), line("2", kind="02")))
    assert billing.repeated_charges(once, T) is None
    twice = claim(visit_type="inpatient", lines=(line("1", kind="01"), line("2", kind="01")))
    hit = billing.repeated_charges(twice, T)
    assert hit is not None and hit.measured == {f"kind 01 on {D}": "2 units, cap 1"}
    undated = claim(visit_type="inpatient", ends=D + timedelta(days=1),
                    lines=(line("1", kind="01", day=None, count="2"),))
    assert billing.repeated_charges(undated, T) is None  # two days, two beds
    t = replace(T, r03=replace(T.r03, bundles={"B": ("c1", "c2")}))
    assert billing.repeated_charges(claim(lines=(line("1", "B", "04"),)), t) is None
    assert billing.repeated_charges(claim(lines=(line("1", "B", "04"),
                                                 line("2", "c2", "04"))), t) is not None


def test_r04_dear_look_alike_without_its_evidence() -> None:
    from medsettle.core.supervision.thresholds import R04, SwapPair
    t = replace(T, r04=R04((SwapPair("BIG", "SMALL", ("ANAES",)),)))
    assert billing.swapped_items(claim(lines=(line("1", "BIG", "05"),)), t) is not None
    assert billing.swapped_items(claim(lines=(line("1", "BIG", "05"),
                                              line("2", "ANAES", "06"))), t) is None
    assert billing.swapped_items(claim(lines=(line("1", "SMALL", "05"),)), t) is None


def test_r05_same_day_other_province_is_a_hard_stop() -> None:
    earlier = [identity.DaySettlement("S0", "310100", "H31010000001")]
    hit = identity.same_day_conflict("P1", D, "440300", earlier, T, "S1")
    assert hit is not None and hit.severity == "hard_stop" and hit.settlements == ("S0", "S1")
    assert identity.same_day_conflict("P1", D, "310200", earlier, T) is None  # same province
    soft = replace(T, r05=replace(T.r05, same_day_hard_stop=False))
    assert identity.same_day_conflict("P1", D, "440300", earlier, soft).severity == "warning"


def test_r05_batch_two_provinces_and_outpatient_while_admitted() -> None:
    a = claim("A", treating="310100", institution="H31010000001")
    b = claim("B", treating="440300")
    c = claim("C", treating="440100", settled=D + timedelta(days=1),
              begins=D + timedelta(days=1))
    assert [h.key for h in identity.two_provinces_a_day([a, b, c], T)] == ["B"]
    admitted = claim("IN", visit_type="inpatient", institution="H44030000009",
                     begins=D, ends=D + timedelta(days=6), settled=D + timedelta(days=6))
    outpatient = claim("OUT", begins=D + timedelta(days=2), settled=D + timedelta(days=2))
    assert [h.key for h in identity.two_provinces_a_day([admitted, outpatient], T)] == ["OUT"]


def test_r05_implausible_quantity_above_24_a_day() -> None:
    assert identity.implausible_quantities(claim(lines=(line("1", count="24"),)), T) is None
    assert identity.implausible_quantities(claim(lines=(line("1", count="25"),)), T) is not None


@pytest.mark.parametrize(("boxes", "visit_type", "hit"), [
    ("4", "outpatient", False), ("5", "outpatient", True),
    ("12", "chronic", False), ("13", "chronic", True)])
def test_r06_supply_30_days_or_12_weeks(boxes: str, visit_type: str, hit: bool) -> None:
    c = claim(visit_type=visit_type, lines=(line("1", "XC08CAD026A00100000001", "09",
                                                 count=boxes),))
    assert (drugs.oversupply(c, T) is not None) is hit


@pytest.mark.parametrize(("after", "hit"), [(18, True), (19, False)])
def test_r06_refill_before_two_thirds_used(after: int, hit: bool) -> None:
    code = "XC08CAD026A00100000001"
    first = claim("A", begins=D, lines=(line("1", code, "09", count="4"),))  # 28 days
    refill = claim("B", begins=D + timedelta(days=after), lines=(line("1", code, "09"),))
    found = drugs.early_refills([first, refill], T)  # 2/3 × 28 = 18.67 days
    assert bool(found) is hit


def test_r07_restriction_not_met_and_billed_in_scope() -> None:
    r = {"TAMS": Restriction(sex="1"), "ALEN": Restriction(min_age=60),
         "MERO": Restriction(visit_types=frozenset({"inpatient"})),
         "ADA": Restriction(min_level="L2")}
    ok = claim(gender="1", age=65, level="L3", visit_type="inpatient",
               lines=tuple(line(c, c, "09") for c in r))
    assert eligibility.restriction_not_met(ok, r, T) is None
    for changes, code in [({"gender": "2"}, "TAMS"), ({"age": 59}, "ALEN"),
                          ({"visit_type": "outpatient"}, "MERO"), ({"level": "L1"}, "ADA")]:
        hit = eligibility.restriction_not_met(replace(ok, **changes), r, T)
        assert hit is not None and list(hit.measured) == [code]
    self_paid = replace(ok, gender="2", lines=(line("t", "TAMS", "09", cls="C"),))
    assert eligibility.restriction_not_met(self_paid, r, T) is None


@pytest.mark.parametrize(("changes", "hit"), [(2, False), (3, True)])
def test_r08_more_than_two_changes_in_twelve_months(changes: int, hit: bool) -> None:
    events = [FilingEvent("P1", D - timedelta(days=30 * k), "changed") for k in range(changes)]
    events.append(FilingEvent("P1", D - timedelta(days=400), "cancelled"))  # outside the window
    assert bool(eligibility.frequent_changes(events, D, T)) is hit


@pytest.mark.parametrize(("current", "hit"), [(12_000_000, False), (12_000_001, True)])
def test_r09_surge_above_120_percent_of_the_baseline(current: int, hit: bool) -> None:
    monthly = {"H1": [9_000_000, 10_000_000, 11_000_000, current]}
    found = trends.cost_surge(monthly, "2026-10", T)
    assert bool(found) is hit
    if found:
        assert found[0].measured["baseline"] == "10000000"


def test_r09_baseline_below_100k_yuan_is_not_watched() -> None:
    small = {"H1": [900_000, 1_000_000, 1_100_000, 5_000_000]}
    assert trends.cost_surge(small, "2026-10", T) == []
    assert trends.cost_surge(small, "2026-10", replace(T, r09=R09(min_baseline=0))) != []


def test_r10_drug_share_above_the_peers_fence() -> None:
    def inst(code: str, drug_share: int) -> list:
        return [claim(f"{code}-{k}", institution=code, lines=(
            line("d", "XJ01CAD001B00100000001", "09", price=f"{drug_share}.00"),
            line("s", "001204000010000", "05", price=f"{100 - drug_share}.00")))
            for k in range(20)]
    normal = [c for k, share in enumerate((30, 32, 34, 36, 38)) for c in inst(f"H{k}", share)]
    assert trends.structure_outliers(trends.structures(normal), T) == []
    [hit] = trends.structure_outliers(trends.structures(normal + inst("HX", 60)), T)
    assert hit.key == "HX" and hit.measured["share"] == "drug"


def test_r11_per_visit_per_day_and_per_year() -> None:
    from decimal import Decimal

    from medsettle.core.supervision.thresholds import R11, Standard
    t = replace(T, r11=R11({"ALB": Standard(per_day=Decimal(3)),
                            "SOF": Standard(per_visit=Decimal(4), per_year=Decimal(3))}))
    assert drugs.beyond_standard(claim(lines=(line("1", "ALB1", "09", count="3"),)), t) is None
    assert drugs.beyond_standard(claim(lines=(line("1", "ALB1", "09", count="4"),)), t)
    assert drugs.beyond_standard(claim(lines=(line("1", "SOF9", "09", count="5"),)), t)
    year = [claim(f"Y{k}", begins=D + timedelta(days=k), lines=(line("1", "SOF9", "09"),))
            for k in range(4)]
    assert [h.key for h in drugs.yearly_standard(year, t)] == ["Y3"]


def test_r12_above_cap_not_set_apart() -> None:
    fair = claim(lines=(line("1", price="120.00", cap="100.00", over_cap=2000),))
    assert billing.over_cap_in_scope(fair, T) is None
    hit = billing.over_cap_in_scope(claim(lines=(line("1", price="120.00", cap="100.00"),)), T)
    assert hit is not None and hit.amount == 2000 and hit.measured["excess_fen"] == "2000"
    self_paid = claim(lines=(line("1", price="120.00", cap="100.00", cls="C"),))
    assert billing.over_cap_in_scope(self_paid, T) is None


def test_realtime_runs_the_claim_rules_and_batch_keeps_only_the_months_claims() -> None:
    bad = claim("NOW", visit_type="inpatient", lines=(line("1", kind="01"), line("2", kind="01"),
                                                       line("3", price="120.00", cap="100.00")))
    assert [h.rule for h in realtime(bad, T)] == ["R03", "R12"]
    old = replace(bad, settlement_id="OLD", begins=D - timedelta(days=40),
                  ends=D - timedelta(days=40), settled_on=D - timedelta(days=40))
    facts = MonthFacts("2026-10", date(2026, 10, 1), date(2026, 10, 31), [bad], [old])
    assert {h.key for h in batch(facts, lambda region: T)} == {"NOW"}


def test_every_hit_names_its_threshold_and_source() -> None:
    hit = billing.over_cap_in_scope(claim(lines=(line("1", price="2", cap="1"),)), T)
    assert hit is not None and hit.source.startswith("builtin-defaults: illustrative")
    assert hit.to_dict()["rule"] == "R12" and "R12" in hit.text()
