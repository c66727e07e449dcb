"""An insured person's estimate (费用测算): what a visit elsewhere would cost them, computed by the
settlement engine itself with the insured place's policy and the person's real accumulators,
read-only; and what would change if they filed (备案) or went to a level-2 hospital.

Pure: the caller gives the parameter set, the person (with their accumulators and the benefit
class their filings give the visit, or None when no filing matches) and the visit. Nothing is
stored. Each scenario is exactly `benefits.settle` of the same inputs with one thing changed, so
an estimate equals the engine's result to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from medsettle.core.benefits import Person, Settlement, Visit, settle
from medsettle.core.errors import InvalidInput, MedSettleError
from medsettle.core.lines import FeeLine
from medsettle.core.money import split
from medsettle.core.policy import ParameterSet

#: How an amount typed without lines is split into fee lines [I: an illustrative mix, not data]:
#: all class A (甲类, the most the funds can pay), or a typical bill of 70 % 甲, 20 % 乙 with a
#: 10 % self-pay share, 10 % 丙.
MIXES = ("class_a", "typical")
TYPICAL_B_SELFPAY = Decimal("0.10")
#: The largest amount an estimate accepts (¥10 million): anything above is a typing error.
MAX_AMOUNT_FEN = 1_000_000_000
#: The benefit classes a person may have for a visit (domain.md §3).
FILED_CLASSES = ("long_term", "referral", "other_temp", "emergency", "long_term_return")


@dataclass(frozen=True, slots=True)
class Scenario:
    """One way the visit could be settled: as it stands, or with one thing changed."""

    key: str  # as_is | unfiled_manual | if_filed_temporary | if_filed_long_term | at_level_2
    benefit_class: str | None
    level: str
    settlement: Settlement | None
    problem: str = ""  # why this scenario cannot be settled (the engine's error), else ""
    problem_code: str = ""


@dataclass(frozen=True, slots=True)
class Estimate:
    """The estimate of a visit: the main scenario and the alternatives to compare."""

    main: Scenario
    alternatives: tuple[Scenario, ...]
    direct: bool  # whether the hospital could settle it directly (a filing, or an emergency)


def lines_for_amount(amount_fen: int, mix: str) -> tuple[FeeLine, ...]:
    """Fee lines for an amount typed without its bill: all 甲, or the typical mix (MIXES)."""
    if type(amount_fen) is not int or not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise InvalidInput("amount", "must be more than ¥0 and at most ¥10,000,000")
    if mix not in MIXES:
        raise InvalidInput("mix", f"must be one of {', '.join(MIXES)}")
    if mix == "class_a":
        return (FeeLine("A", Decimal(amount_fen) / 100, Decimal(1)),)
    a, b, c = split(amount_fen, [70, 20, 10])
    parts = (("A", a, Decimal(0)), ("B", b, TYPICAL_B_SELFPAY), ("C", c, Decimal(0)))
    return tuple(FeeLine(cls, Decimal(fen) / 100, Decimal(1), selfpay_prop=prop)  # type: ignore[arg-type]
                 for cls, fen, prop in parts if fen > 0)


def _scenario(key: str, policy: ParameterSet, person: Person, visit: Visit,
              cls: str | None) -> Scenario:
    try:
        result = settle(policy, replace(person, benefit_class=cls), visit)
    except MedSettleError as exc:
        return Scenario(key, cls, visit.level, None, str(exc), exc.code)
    return Scenario(key, cls, visit.level, result)


def estimate(policy: ParameterSet, person: Person, visit: Visit) -> Estimate:
    """The visit settled as the person's filings stand (`person.benefit_class`; None: no filing
    matches, so the hospital cannot settle directly and the main scenario is the manual
    reimbursement of an unfiled visit), and the alternatives: filed temporarily (material-free,
    approved at once), filed long-term, and the same visit at a level-2 hospital."""
    cls = person.benefit_class
    direct = cls is not None
    main = (_scenario("as_is", policy, person, visit, cls) if direct
            else _scenario("unfiled_manual", policy, person, visit, "unfiled"))
    alternatives: list[Scenario] = []
    if cls in (None, "unfiled", "emergency"):
        alternatives.append(_scenario("if_filed_temporary", policy, person, visit, "other_temp"))
    if cls not in ("long_term", "long_term_return"):
        alternatives.append(_scenario("if_filed_long_term", policy, person, visit, "long_term"))
    if visit.level != "L2":
        at_l2 = replace(visit, level="L2", dedc_level=None)
        alternatives.append(_scenario("at_level_2", policy, person, at_l2,
                                      cls if direct else "unfiled"))
    return Estimate(main, tuple(alternatives), direct)
