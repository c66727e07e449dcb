"""Hypothesis-generated national envelopes against the HIS gateway (POST /his, in process).

Each case starts from a well-formed message of one transaction (test_his_bad_input.BASE, about
the module's real visits) and breaks one to three things in it: a value replaced by any JSON
(or by a tricky string: a date that does not exist, 1e400, a lone surrogate, SQL, 1,000 digits),
a key dropped or added, an object turned into a list; or the body itself is cut short, is not
UTF-8, or is not JSON at all. Every answer must be HTTP 200 with an infcode; a refusal is
`[code] …` with a code other than `internal`, at most 200 characters, and one about the input
names its field (`[invalid_input] input.data.psn_no: …`). bench/bench_fuzz.py runs 10,000 cases.
"""

from __future__ import annotations

import copy
import json
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import Province
from tests.api.test_his_bad_input import BASE, WITH_INSUPLC, Ctx, ctx  # noqa: F401 (fixture)

CASES = int(os.environ.get("MEDSETTLE_FUZZ_CASES", "300"))
#: Refusal codes about the caller's input: their message must start with the field's path.
INPUT_CODES = {"invalid_input", "invalid_code", "invalid_amount"}
#: err_msg: the Chinese lead (naming the field), the code, then the English in parentheses.
REFUSAL = re.compile(r"(.+?) \[([a-z_]+)\](?: \((.+)\))?", re.DOTALL)
#: A refusal about the input names the field after the lead's colon: a top-level name, then the
#: rest of the path (which may hold any key the caller sent).
FIELD = re.compile(r"[^：]*：[A-Za-z_]\w*")
TALLY: Counter[str] = Counter()

TRICKY = ["", " ", "0", "-1", "-0.00", "1e400", "NaN", "Infinity", "0.001", "99999999999.99",
          "12.345", "１２３", "2026-02-30 25:61:00", "2026-13-01", "99991231", "\x00", "\ud800",
          "9" * 1000, "'; DROP TABLE settlements; --", "<script>alert(1)</script>", "𠀀𠀁",
          "\u202e", "H44030400123", "44030000000000000000000001", "null", "[]", "{}"]
LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                 st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
                 st.sampled_from(TRICKY))
ANY_JSON = st.recursive(LEAF, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


def paths(doc: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path inside a JSON document."""
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) \
        if isinstance(doc, list) else ()
    for key, value in items:
        yield (*at, key)
        yield from paths(value, (*at, key))


def parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


@st.composite
def broken(draw: st.DrawFn, seeds: dict[str, dict[str, Any]]) -> bytes:
    """A seed envelope with one to three things broken, as the bytes sent."""
    doc = copy.deepcopy(seeds[draw(st.sampled_from(sorted(seeds)))])
    if draw(st.integers(0, 9)):  # mostly a fresh msgid, so the message is not a replay
        doc["msgid"] = doc["fixmedins_code"] + doc["msgid"][12:26] + f"{secrets.randbelow(10**4):04d}"
    for _ in range(draw(st.integers(1, 3))):
        where = sorted(paths(doc), key=repr)
        if not where:
            break
        path = draw(st.sampled_from(where))
        holder, key = parent(doc, path), path[-1]
        how = draw(st.sampled_from(["replace", "replace", "drop", "add", "listify"]))
        if how == "replace":
            holder[key] = draw(ANY_JSON)
        elif how == "drop":
            del holder[key]
        elif how == "add" and isinstance(holder[key], dict):
            holder[key][draw(st.text(max_size=12))] = draw(ANY_JSON)
        else:
            holder[key] = [holder[key]]
    body = json.dumps(doc, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    cut = draw(st.sampled_from(["whole"] * 12 + ["cut", "latin1", "garbage", "array"]))
    if cut == "cut":
        return body[:draw(st.integers(0, len(body) - 1))]
    if cut == "latin1":
        return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass") \
            .decode("utf-8", "replace").encode("gb18030", "replace")
    if cut == "garbage":
        return draw(st.binary(max_size=200))
    if cut == "array":
        return json.dumps([doc]).encode()
    return body


def check_answer(status: int, text: str) -> str:
    """The answer's refusal code ("ok" for success); fails on anything a caller must not see."""
    assert status == 200, (status, text[:300])
    answer = json.loads(text)
    assert isinstance(answer, dict) and isinstance(answer.get("infcode"), int), text[:300]
    if answer["infcode"] == 0:
        return "ok"
    err_msg = answer["err_msg"]
    refusal = REFUSAL.fullmatch(err_msg)
    assert refusal, f"not `lead [code] (message)`: {err_msg!r}"
    lead, code, _ = refusal.groups()
    assert code != "internal", err_msg
    assert len(err_msg) <= 200, err_msg
    assert answer.get("output") is None, text[:300]
    if code in INPUT_CODES:
        assert FIELD.match(lead), f"the refusal does not name the field: {err_msg!r}"
    return code


@pytest.fixture(scope="module")
def seeds(province: Province, ctx: Ctx) -> dict[str, dict[str, Any]]:  # noqa: F811
    return {infno: province.envelope(infno, make(ctx),
                                     insuplc=ctx.chen.insuplc if infno in WITH_INSUPLC else "")
            for infno, make in BASE.items()}


def test_no_generated_envelope_gets_a_server_error_or_an_unnamed_refusal(
        province: Province, seeds: dict[str, dict[str, Any]]) -> None:
    @settings(max_examples=CASES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(broken(seeds))
    def send(body: bytes) -> None:
        response = province.http.post("/his", content=body,
                                      headers={"content-type": "application/json"})
        TALLY[check_answer(response.status_code, response.text)] += 1

    send()
    report = os.environ.get("MEDSETTLE_FUZZ_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            out.write(json.dumps({"target": "his", "cases": sum(TALLY.values()),
                                  "answers": dict(TALLY)}) + "\n")
    assert sum(TALLY.values()) >= CASES * 0.9
    assert len(TALLY) > 3  # the cases reached more than one kind of refusal
