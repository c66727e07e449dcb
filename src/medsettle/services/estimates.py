"""The insured person's estimate and policy-difference list, at the insured node: the person's
scheme and category, the benefit class their filings give a visit in the chosen region, the
node's own policy book and the person's real accumulators of this medical year, read-only.
Nothing is stored. The computing is core/estimate.py (the settlement engine itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from medsettle.core import codes
from medsettle.core.benefits import Person, Visit
from medsettle.core.errors import InvalidInput, NotFiled, PolicyNotInForce
from medsettle.core.estimate import MAX_AMOUNT_FEN, Estimate, estimate, lines_for_amount
from medsettle.core.filing import benefit_class
from medsettle.core.lines import FeeLine
from medsettle.core.money import parse_decimal
from medsettle.core.policy import ParameterSet, PolicyBook
from medsettle.core.policy_words import Difference, differences
from medsettle.services.person_scope import checked_for, subject, viewed
from medsettle.services.ports import UnitOfWork
from medsettle.services.records import filing_from_row

VISIT_TYPES = ("inpatient", "outpatient", "chronic")
LEVELS = ("L0", "L1", "L2", "L3")
MAX_LINES = 20


@dataclass(frozen=True, slots=True)
class EstimateInput:
    """What the person asked: where, what kind of visit, and the bill (lines or an amount)."""

    region: str
    level: str
    visit_type: str
    lines: tuple[FeeLine, ...]
    disease: str | None = None
    emergency: bool = False
    use_acct: bool = False


def _flag(doc: Mapping[str, Any], key: str) -> bool:
    value = doc.get(key, False)
    if value in ("on", "true", "1"):  # an HTML checkbox
        return True
    if value in ("", "false", "0", None):
        return False
    if not isinstance(value, bool):
        raise InvalidInput(key, "must be true or false")
    return value


def yuan_to_fen(value: object, field: str) -> int:
    """An amount typed in yuan ("1,200.50", "¥300") as fen; InvalidInput naming the field."""
    text = str(value if value is not None else "").replace(",", "").replace("¥", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(field, "type an amount in yuan, e.g. 8000 or 8000.50") from None
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput(field, "must be more than ¥0 with at most 2 decimals")
    if amount > Decimal(MAX_AMOUNT_FEN) / 100:  # before quantize, which fails on "1e30"
        raise InvalidInput(field, f"must be at most ¥{MAX_AMOUNT_FEN // 100:,}")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(field, "must be more than ¥0 with at most 2 decimals")
    return int(amount * 100)


def _line(doc: object, n: int) -> FeeLine:
    where = f"lines[{n}]"
    if not isinstance(doc, Mapping):
        raise InvalidInput(where, "must be an object {cls, pric, cnt}")
    cls = doc.get("cls")
    if cls not in ("A", "B", "C"):
        raise InvalidInput(f"{where}.cls", "must be A (甲), B (乙) or C (丙)")
    price = parse_decimal(doc.get("pric"), f"{where}.pric", places=2, minimum=Decimal("0.01"),
                          maximum=Decimal(10**7))
    count = parse_decimal(doc.get("cnt", "1"), f"{where}.cnt", places=4,
                          minimum=Decimal("0.0001"), maximum=Decimal(10**5))
    prop = parse_decimal(doc.get("selfpay_prop", "0.10" if cls == "B" else "0"),
                         f"{where}.selfpay_prop", places=4, minimum=Decimal(0),
                         maximum=Decimal(1))
    cap = doc.get("lmt_pric")
    cap_price = None if cap in (None, "") else parse_decimal(cap, f"{where}.lmt_pric", places=2,
                                                             minimum=Decimal("0.01"))
    return FeeLine(cls, price, count, selfpay_prop=prop if cls == "B" else Decimal(0),
                   cap_price=cap_price)


def parse_input(doc: Mapping[str, Any]) -> EstimateInput:
    """The estimate form or JSON document; every error names its field."""
    region = codes.validate_admdvs(doc.get("region"), "region")
    level = doc.get("level")
    if level not in LEVELS:
        raise InvalidInput("level", "choose the hospital level: L0 基层, L1, L2 or L3")
    visit_type = doc.get("visit_type")
    if visit_type not in VISIT_TYPES:
        raise InvalidInput("visit_type", "choose inpatient, outpatient or chronic")
    disease = doc.get("disease") or None
    if visit_type == "chronic":
        disease = codes.validate_chronic_disease_code(disease, "disease")
    lines = doc.get("lines")
    if lines:
        if not isinstance(lines, list) or len(lines) > MAX_LINES:
            raise InvalidInput("lines", f"must be a list of at most {MAX_LINES} lines")
        bill = tuple(_line(line, n) for n, line in enumerate(lines))
    else:
        mix = doc.get("mix") or "typical"
        bill = lines_for_amount(yuan_to_fen(doc.get("amount"), "amount"), str(mix))
    return EstimateInput(region, str(level), str(visit_type), bill,
                         None if visit_type != "chronic" else disease,
                         _flag(doc, "emergency"), _flag(doc, "use_acct"))


def policy_of(book: PolicyBook, row: Any, on: date) -> ParameterSet:
    """The insured place's parameter set in force for the person."""
    return book.find(row.insu_admdvs, codes.scheme_of_insutype(row.insutype), on)


def visit_class(tx: UnitOfWork, row: Any, policy: ParameterSet, region: str, on: date,
                emergency: bool) -> str | None:
    """The benefit class the person's stored filings give a visit in `region` on `on`, or None
    when none matches (the hospital could not settle directly)."""
    filings = [filing_from_row(f._mapping) for f in tx.rows("filings", psn_no=row.psn_no)]
    try:
        return str(benefit_class(filings, insu_admdvs=row.insu_admdvs,
                                 institution_admdvs=region, on=on, emergency=emergency,
                                 rules=policy.filing))
    except NotFiled:
        return None
    except InvalidInput:
        raise InvalidInput("region", "is in your insured province: choose where you would be "
                                     "treated in another province") from None


def person_of(row: Any, cls: str | None, acc: Any, use_acct: bool) -> Person:
    """The engine's view of a stored person."""
    return Person(scheme=codes.scheme_of_insutype(row.insutype),
                  category=codes.category_of_psn_type(row.psn_type), benefit_class=cls, acc=acc,
                  cvlserv=bool(row.cvlserv), maf_category=row.maf_category,
                  chronic_certified=frozenset(row.chronic_certified or []), use_acct=use_acct,
                  contribution_tier=row.contribution_tier)


def estimate_for(tx: UnitOfWork, book: PolicyBook, me: str, doc: Mapping[str, Any],
                 on: date) -> tuple[EstimateInput, ParameterSet, Estimate]:
    """The estimate for the signed-in person (or a consenting family member: `for`)."""
    who = subject(tx, me, checked_for(doc.get("for")))
    asked = parse_input(doc)
    policy = policy_of(book, who, on)
    cls = visit_class(tx, who, policy, asked.region, on, asked.emergency)
    acc = tx.accumulators(who.psn_no, policy.medical_year(on))
    viewed(me, who.psn_no, "estimate")
    visit = Visit(type=asked.visit_type, level=asked.level, setl_date=on,  # type: ignore[arg-type]
                  lines=asked.lines, disease=asked.disease, emergency=asked.emergency)
    return asked, policy, estimate(policy, person_of(who, cls, acc, asked.use_acct), visit)


def treating_policy(book: PolicyBook, region: str, scheme: str, on: date) -> ParameterSet | None:
    """The treating region's own policy for its insured (to compare), or None if none is
    kept: the region itself, else its province's shipped pooling region."""
    for candidate in (region, region[:4] + "00", codes.REGION_OF_PROVINCE.get(
            region[:2] + "0000", "")):
        if not candidate:
            continue
        try:
            return book.find(candidate, scheme, on)
        except (PolicyNotInForce, KeyError, InvalidInput):
            continue
    return None


def policy_differences(tx: UnitOfWork, book: PolicyBook, me: str, region: object,
                       lang: str, on: date, of: str | None = None
                       ) -> tuple[ParameterSet, ParameterSet | None, list[Difference]]:
    """My policy against the treating region's, what differs, in words."""
    who = subject(tx, me, of)
    where = codes.validate_admdvs(region, "region")
    mine = policy_of(book, who, on)
    theirs = treating_policy(book, where, mine.scheme, on)
    category = codes.category_of_psn_type(who.psn_type)
    rows = [] if theirs is None else differences(mine, theirs, category, lang)
    return mine, theirs, rows
