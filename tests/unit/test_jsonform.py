"""The node-to-node codec (core/jsonform): a typed value survives encode → JSON → decode, and a
bad payload is InvalidInput naming the first bad field by its path, whatever the nesting."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medsettle.core.errors import InvalidInput
from medsettle.core.jsonform import decode, encode
from medsettle.services.insured_ops import request_hash


@dataclass(frozen=True)
class Line:
    code: str
    price: Decimal
    count: int = 1
    note: str = ""


@dataclass(frozen=True)
class Bill:
    visit: str
    kind: Literal["outpatient", "inpatient"]
    at: datetime
    born: date
    lines: tuple[Line, ...]
    urgent: bool = False
    ward: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Node:
    """Refers to itself: its reader is built on first use, not while it is being built."""

    name: str
    children: tuple[Node, ...] = ()


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1,
               max_size=30)
MONEY = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False,
                    allow_infinity=False)
LINES = st.builds(Line, code=TEXT, price=MONEY, count=st.integers(-10**6, 10**6),
                  note=st.one_of(st.just(""), TEXT))
BILLS = st.builds(
    Bill, visit=TEXT, kind=st.sampled_from(["outpatient", "inpatient"]),
    at=st.datetimes(timezones=st.just(UTC)), born=st.dates(),
    lines=st.lists(LINES, max_size=5).map(tuple), urgent=st.booleans(),
    ward=st.one_of(st.none(), TEXT), extra=st.dictionaries(TEXT, st.integers(), max_size=3))


@given(BILLS)
def test_a_value_survives_encode_json_and_decode(bill: Bill) -> None:
    assert decode(Bill, json.loads(json.dumps(encode(bill)))) == bill


def a_bill(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"visit": "V1", "kind": "outpatient", "at": "2026-11-30T09:00:00+00:00",
                           "born": "1980-08-08", "lines": [{"code": "A", "price": "12.50"},
                                                           {"code": "B", "price": "3.00"}]}
    doc.update(changes)
    return doc


@pytest.mark.parametrize(("doc", "named", "says"), [
    ({k: v for k, v in a_bill().items() if k != "visit"}, "payload.visit", "is required"),
    (a_bill(visit=""), "payload.visit", "non-empty string"),
    (a_bill(kind="emergency"), "payload.kind", "must be one of outpatient, inpatient"),
    (a_bill(at="yesterday"), "payload.at", "ISO date-time"),
    (a_bill(born=19800808), "payload.born", "non-empty string"),
    (a_bill(lines="A,B"), "payload.lines", "must be a list"),
    (a_bill(lines=[{"code": "A", "price": "1"}, {"code": "B", "price": "-1"}]),
     "payload.lines[1].price", "non-negative"),
    (a_bill(lines=[{"code": "A", "price": "1", "count": 1.5}]), "payload.lines[0].count",
     "integer"),
    (a_bill(lines=[{"code": "A"}]), "payload.lines[0].price", "is required"),
    (a_bill(urgent="yes"), "payload.urgent", "true or false"),
    (a_bill(extra=[1]), "payload.extra", "JSON object"),
    ("a bill", "payload", "JSON object"),
])
def test_a_bad_payload_names_its_first_bad_field(doc: Any, named: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decode(Bill, doc)
    assert refused.value.field == named and says in refused.value.message


def test_empty_and_null_read_as_declared() -> None:
    bill = decode(Bill, a_bill(ward="", urgent=False, lines=[{"code": "A", "price": "1",
                                                              "note": ""}]))
    assert bill.ward is None and bill.urgent is False and bill.lines[0].note == ""
    assert decode(Bill, a_bill(ward=None)).ward is None
    assert decode(Bill, a_bill(ward="W3")).ward == "W3"


def test_a_dataclass_that_refers_to_itself_decodes() -> None:
    tree = Node("root", (Node("a"), Node("b", (Node("c"),))))
    assert decode(Node, encode(tree)) == tree
    with pytest.raises(InvalidInput) as refused:
        decode(Node, {"name": "root", "children": [{"name": "a", "children": [{}]}]})
    assert refused.value.field == "payload.children[0].children[0].name"


def test_a_type_with_no_json_form_is_a_fault_of_the_code_not_of_the_input() -> None:
    @dataclass(frozen=True)
    class Odd:
        name: str
        blob: bytes = b""

    assert decode(Odd, {"name": "x"}) == Odd("x")  # the odd field left out: never read
    with pytest.raises(TypeError):
        decode(Odd, {"name": "x", "blob": "AAAA"})


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1),
              st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(st.characters(codec="utf-8",
                                                                  exclude_categories=["Cs"]),
                                                    max_size=8), inner, max_size=4)),
    max_leaves=20)


@given(JSON_VALUES)
def test_the_request_digest_hashes_the_standard_librarys_canonical_json(value: Any) -> None:
    """The insured node keeps a request's digest to tell a retry from a reused msgid; it is
    written by orjson now, and must equal the digest of the standard library's canonical form
    that earlier releases kept (control characters, non-ASCII text, key order)."""
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert request_hash(value) == hashlib.sha256(canonical.encode()).hexdigest()
