"""Case documents: one settlement to compute, in the format of domain.md §11 (`params`, `person`,
`visit`, optional `expected`). Used by `medsettle calc`, the demo and the rules tests.

Parsing is strict: every bad value raises InvalidInput naming its field (e.g. `visit.items[2].pric`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from medsettle.core.accumulators import Accumulators
from medsettle.core.benefits import (
    AMOUNT_FIELDS,
    Amounts,
    Person,
    Settlement,
    Visit,
    reverse,
    settle,
)
from medsettle.core.codes import validate_admdvs
from medsettle.core.errors import InvalidInput, NotFiled, PolicyFileError
from medsettle.core.filing import (
    Filing,
    FilingCategory,
    FilingChannel,
    FilingRoute,
    FilingRules,
    FilingStatus,
    benefit_class,
)
from medsettle.core.lines import LINE_CLASSES, FeeLine
from medsettle.core.money import parse_decimal, parse_ratio
from medsettle.core.policy import VISIT_TYPES, ParameterSet, PolicyBook, parse_parameter_set
from medsettle.core.tables import CATEGORIES, LEVELS

FILING_CATEGORIES = {c.value for c in FilingCategory}
BENEFIT_CLASSES = {"long_term", "referral", "other_temp", "emergency", "unfiled",
                   "long_term_return"}
_MAX_PRICE = Decimal("100000000")  # ¥100 m for one unit is absurd
_MAX_COUNT = Decimal("100000")


@dataclass(frozen=True, slots=True)
class Case:
    """A parsed case: the policy to apply, the person, the visit and what is expected."""

    id: str
    title: str
    policy: ParameterSet
    person: Person
    visit: Visit
    insu_admdvs: str
    treating_admdvs: str | None
    expected_result: Mapping[str, int] | None
    expected_acc_after: Accumulators | None
    reverse: bool = False


@dataclass(frozen=True, slots=True)
class CaseOutcome:
    """The record a case produces (a settlement, or its reversal) and the accumulators after."""

    record: Amounts
    acc_after: Accumulators
    settlement: Settlement
    reversed: bool


def run_case(case: Case) -> CaseOutcome:
    """Settle the case's visit; with `reverse: true`, then reverse it (domain.md §11 E11)."""
    settlement = settle(case.policy, case.person, case.visit)
    if case.reverse:
        record, acc = reverse(settlement, settlement.acc_after)
        return CaseOutcome(record, acc, settlement, True)
    return CaseOutcome(settlement.amounts, settlement.acc_after, settlement, False)


def parse_case(doc: object, source: str, book: PolicyBook | None = None) -> Case:
    """Read a case document; `params` is inline or names a shipped region/parameter-set id."""
    top = _mapping(doc, "(case)")
    _known(top, "(case)", {"id", "title", "params", "person", "visit", "expected", "reverse"})
    for key in ("params", "person", "visit"):
        if key not in top:
            raise InvalidInput(key, "missing")
    visit_doc = _mapping(top["visit"], "visit")
    person_doc = _mapping(top["person"], "person")
    visit = parse_visit(visit_doc)
    policy = _policy(top["params"], source, book, person_doc, visit.setl_date)
    treating = visit_doc.get("treating_admdvs")
    if treating is not None and not (isinstance(treating, str) and len(treating) == 6
                                     and treating.isascii() and treating.isdigit()):
        raise InvalidInput("visit.treating_admdvs", f"must be a quoted 6-digit code, not "
                                                    f"{treating!r}")
    if treating is not None:  # and a region of one of the 32 provinces (999999 was settled)
        validate_admdvs(treating, "visit.treating_admdvs")
    person = parse_person(person_doc, policy.insu_admdvs, treating, visit.emergency,
                          policy.filing)
    expected = top.get("expected")
    result = acc_after = None
    if expected is not None:
        exp = _mapping(expected, "expected")
        if "result" in exp:
            result = _expected_result(exp["result"])
        if "acc_after" in exp:
            acc_after = Accumulators.from_nested(exp["acc_after"], "expected.acc_after")
    return Case(id=str(top.get("id", source)), title=str(top.get("title", "")), policy=policy,
                person=person, visit=visit, insu_admdvs=policy.insu_admdvs,
                treating_admdvs=treating, expected_result=result, expected_acc_after=acc_after,
                reverse=_bool(top.get("reverse", False), "reverse"))


def _policy(params: object, source: str, book: PolicyBook | None, person: Mapping[str, object],
            on: date) -> ParameterSet:
    if isinstance(params, Mapping):
        try:
            return parse_parameter_set(params, f"{source}: params")
        except PolicyFileError as exc:
            raise InvalidInput(f"params.{exc.key}", exc.message) from None
    if not isinstance(params, str) or not params:
        raise InvalidInput("params", "must be an inline parameter set or a region/parameter-set id")
    if book is None:
        raise InvalidInput("params", "names a shipped policy but no policy book was loaded")
    if len(params) == 6 and params.isascii() and params.isdigit():
        scheme = person.get("scheme")
        if scheme not in ("employee", "resident"):
            raise InvalidInput("person.scheme", f"must be employee or resident, not {scheme!r}")
        return book.find(params, str(scheme), on)
    return book.by_id(params)


def parse_person(doc: Mapping[str, object], insu_admdvs: str, treating: str | None,
                 emergency: bool, rules: FilingRules | None = None) -> Person:
    """The §4 person inputs; the benefit class comes from `class` or from the filing category."""
    _known(doc, "person", {"scheme", "category", "filing", "class", "use_acct", "acc_before",
                           "cvlserv", "maf_category", "chronic_certified", "name",
                           "contribution_tier"})
    scheme = doc.get("scheme")
    if scheme not in ("employee", "resident"):
        raise InvalidInput("person.scheme", f"must be employee or resident, not {scheme!r}")
    category = doc.get("category", "resident" if scheme == "resident" else None)
    if category not in CATEGORIES:
        raise InvalidInput("person.category", f"must be one of {list(CATEGORIES)}, not "
                                              f"{category!r}")
    certified = doc.get("chronic_certified", [])
    if not isinstance(certified, list) or not all(isinstance(c, str) for c in certified):
        raise InvalidInput("person.chronic_certified", "must be a list of disease codes")
    maf = doc.get("maf_category")
    if maf is not None and not isinstance(maf, str):
        raise InvalidInput("person.maf_category", "must be a string such as dibao")
    tier = doc.get("contribution_tier")
    if tier is not None and not (isinstance(tier, str) and tier):
        raise InvalidInput("person.contribution_tier", "must be a tier name such as high")
    return Person(
        scheme=str(scheme), category=str(category),
        benefit_class=_benefit_class(doc, insu_admdvs, treating, emergency,
                                     rules or FilingRules()),
        acc=Accumulators.from_nested(doc.get("acc_before"), "person.acc_before"),
        cvlserv=_bool(doc.get("cvlserv", False), "person.cvlserv"),
        maf_category=maf, chronic_certified=frozenset(certified),
        use_acct=_bool(doc.get("use_acct", False), "person.use_acct"),
        contribution_tier=tier)


def _benefit_class(doc: Mapping[str, object], insu_admdvs: str, treating: str | None,
                   emergency: bool, rules: FilingRules) -> str | None:
    """The class of domain.md §3, by `filing.benefit_class` on the case's filing category
    (None: not filed, which settlement refuses). A case without a treating region is treated
    in another province."""
    if "class" in doc:
        cls = doc["class"]
        if cls not in BENEFIT_CLASSES:
            raise InvalidInput("person.class", f"must be one of {sorted(BENEFIT_CLASSES)}")
        return str(cls)
    where = treating or ("310000" if insu_admdvs[:2] != "31" else "110000")
    filings = []
    if doc.get("filing") is not None:
        category = _mapping(doc["filing"], "person.filing").get("category")
        if category not in FILING_CATEGORIES:
            raise InvalidInput("person.filing.category", f"must be one of "
                                                         f"{sorted(FILING_CATEGORIES)}")
        filings.append(Filing(
            filing_no="CASE", psn_no="CASE", insu_admdvs=insu_admdvs,
            category=FilingCategory(category), destination=where, valid_from=date.min,
            valid_until=None, status=FilingStatus.APPROVED, route=FilingRoute.COMMITMENT,
            channel=FilingChannel.APP, applied_on=date.min))
    try:
        return str(benefit_class(filings, insu_admdvs=insu_admdvs, institution_admdvs=where,
                                 on=date.min, emergency=emergency, rules=rules))
    except NotFiled:
        return None


def parse_visit(doc: Mapping[str, object]) -> Visit:
    """The §4 visit inputs with its fee lines (`items`)."""
    _known(doc, "visit", {"type", "treating_admdvs", "level", "dedc_level", "setl_date",
                          "emergency", "items", "disease", "institution_suspended",
                          "disease_opened"})
    vtype = doc.get("type")
    if vtype not in VISIT_TYPES:
        raise InvalidInput("visit.type", f"must be one of {list(VISIT_TYPES)}, not {vtype!r}")
    level = _level(doc.get("level"), "visit.level")
    dedc_level = None if doc.get("dedc_level") is None else _level(doc["dedc_level"],
                                                                   "visit.dedc_level")
    setl = doc.get("setl_date")
    if isinstance(setl, str):
        try:
            setl = date.fromisoformat(setl)
        except ValueError:
            pass
    if not isinstance(setl, date):
        raise InvalidInput("visit.setl_date", f"must be a date YYYY-MM-DD, not {setl!r}")
    items = doc.get("items")
    if not isinstance(items, list) or not items:
        raise InvalidInput("visit.items", "must be a non-empty list of fee lines")
    disease = doc.get("disease")
    if disease is not None and not isinstance(disease, str):
        raise InvalidInput("visit.disease", "must be a chronic disease code such as M03900")
    return Visit(type=vtype, level=level, setl_date=setl,
                 lines=tuple(parse_line(item, f"visit.items[{i}]") for i, item in enumerate(items)),
                 disease=disease, emergency=_bool(doc.get("emergency", False), "visit.emergency"),
                 dedc_level=dedc_level,
                 institution_suspended=_bool(doc.get("institution_suspended", False),
                                             "visit.institution_suspended"),
                 disease_opened=_bool(doc.get("disease_opened", True), "visit.disease_opened"))


def parse_line(doc: object, field: str) -> FeeLine:
    """One classified fee line: cls, pric (yuan), cnt, selfpay_prop (乙), lmt_pric, restricted_ok."""
    item = _mapping(doc, field)
    _known(item, field, {"cls", "pric", "cnt", "selfpay_prop", "lmt_pric", "restricted_ok",
                         "code", "name"})
    cls = item.get("cls")
    if cls not in LINE_CLASSES:
        raise InvalidInput(f"{field}.cls", f"must be one of {list(LINE_CLASSES)}, not {cls!r}")
    for key in ("pric", "cnt"):
        if key not in item:
            raise InvalidInput(f"{field}.{key}", "missing")
    price = parse_decimal(item["pric"], f"{field}.pric", places=6, minimum=Decimal(0),
                          maximum=_MAX_PRICE)
    count = parse_decimal(item["cnt"], f"{field}.cnt", places=4, minimum=Decimal(0),
                          maximum=_MAX_COUNT)
    selfpay = parse_ratio(item.get("selfpay_prop", "0"), f"{field}.selfpay_prop")
    if cls == "B" and "selfpay_prop" not in item:
        raise InvalidInput(f"{field}.selfpay_prop", "a 乙 line needs its self-pay ratio")
    cap = item.get("lmt_pric")
    return FeeLine(cls=cls, price=price, count=count, selfpay_prop=selfpay,
                   cap_price=None if cap is None else parse_decimal(
                       cap, f"{field}.lmt_pric", places=6, minimum=Decimal(0),
                       maximum=_MAX_PRICE),
                   restricted_ok=_bool(item.get("restricted_ok", True), f"{field}.restricted_ok"),
                   code=str(item.get("code", "")), name=str(item.get("name", "")))


def _expected_result(doc: object) -> dict[str, int]:
    result = _mapping(doc, "expected.result")
    _known(result, "expected.result", set(AMOUNT_FIELDS))
    amounts: dict[str, int] = {}
    for key, value in result.items():
        if type(value) is not int:
            raise InvalidInput(f"expected.result.{key}", "must be integer fen")
        amounts[key] = value
    return amounts


def _mapping(value: object, field: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise InvalidInput(field, f"must be a mapping, not {type(value).__name__}")
    return value


def _known(doc: Mapping[str, object], field: str, allowed: set[str]) -> None:
    for key in doc:
        if key not in allowed:
            raise InvalidInput(f"{field}.{key}", f"unknown field; expected one of {sorted(allowed)}")


def _level(value: object, field: str) -> str:
    if value not in LEVELS:
        raise InvalidInput(field, f"must be one of {list(LEVELS)}, not {value!r}")
    return str(value)


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, f"must be true or false, not {value!r}")
    return value
