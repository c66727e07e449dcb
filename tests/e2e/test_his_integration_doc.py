"""docs/his-integration.md is true: its examples are sent to a running federation.

The guide holds, per transaction, a block ```json request <infno> <step>``` and, right after it,
```json response <infno> <step>```; a step whose blocks end in ` error` shows a refusal. Every
request is sent, in document order, to the Guangdong node's gateway as 深圳示例医院
(fixtures.SHENZHEN_H), after its placeholders "{{name}}" are replaced:

- generated: {{msgid}} a fresh msgid, {{inf_time}} the time of sending; {{msgid_<x>}} and
  {{inf_time_<x>}} are fresh at their first use and the same afterwards (so a block can resend a
  message exactly); {{now}}, {{today}}, {{visit_time}} (an hour ago) and {{admission_time}}
  (three days ago) are fixed for the run;
- fixtures: {{WANG.evoucher}}, {{ZHAO.card_no}}, {{ZHANG.certno}}…, see `fixture_values`;
- captured: a placeholder in a response block takes the answer's value at that place (the 2201
  answer's "mdtrt_id": "{{mdtrt_id}}"), for the requests after it.

Each answer must have infcode 0 (an `error` step: -1, and its err_msg must contain the guide's
err_msg, placeholders standing for any text), the keys of the guide's response block,
recursively (a list: its first entry), and the guide's values except placeholders and the
volatile keys (times, ids, msgids). The amounts in the guide are therefore real.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from medsettle.adapters.his.client import beijing_now
from medsettle.adapters.his.transactions import TRANSACTIONS
from medsettle.core import errors
from tests.e2e import fixtures as f
from tests.e2e.harness import Federation

DOC = Path(__file__).resolve().parents[2] / "docs" / "his-integration.md"
REGION = "440000"
INSTITUTION = f.SHENZHEN_H

_BLOCK = re.compile(r"^```json (request|response) (\d{4}[A-Z]?) ([a-z0-9-]+)( error)?[ \t]*\n"
                    r"(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\{([A-Za-z0-9_.]+)\}\}")

#: Keys whose values change from run to run: the guide shows a sample, the test does not compare.
VOLATILE = frozenset({
    "inf_refmsgid", "refmsg_time", "respond_time", "msgid", "omsgid", "medins_setl_id",
    "sign_no", "sign_time", "mdtrt_id", "setl_id", "ref_setl_id", "feedetl_sn", "certno", "brdy",
    "age", "setl_time", "begntime", "endtime", "fee_ocur_time", "trt_dcla_detl_sn", "year",
    "medical_year",
})
#: The headers of a file answer (9102) the guide shows.
FILE_HEADERS = ("content-type", "content-disposition", "content-length")
#: Placeholders the test makes up; a response block never rebinds them.
GENERATED = ("msgid", "inf_time", "now", "today", "visit_time", "admission_time")


@dataclass(frozen=True)
class Example:
    """One step of the guide: a request envelope and the answer it shows."""

    infno: str
    step: str
    error: bool
    request: dict[str, Any]
    response: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.infno}-{self.step}"


def parse_guide(text: str) -> list[Example]:
    """The guide's steps, in document order; a request block must be followed by its answer."""
    found: list[Example] = []
    pending: tuple[str, str, bool, Any] | None = None
    for match in _BLOCK.finditer(text):
        kind, infno, step, error, body = match.groups()
        try:
            doc = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{kind} {infno} {step}: not JSON: {exc}") from None
        if kind == "request":
            if pending is not None:
                raise ValueError(f"request {pending[0]} {pending[1]} has no response block")
            pending = (infno, step, error is not None, doc)
            continue
        if pending is None or pending[:3] != (infno, step, error is not None):
            raise ValueError(f"response {infno} {step} does not follow its request block")
        found.append(Example(*pending, doc))
        pending = None
    if pending is not None:
        raise ValueError(f"request {pending[0]} {pending[1]} has no response block")
    return found


def fixture_values() -> dict[str, str]:
    """{{WANG.evoucher}} and the like: the credentials of the fixture persons."""
    persons = {"WANG": f.WANG, "LI": f.LI, "ZHAO": f.ZHAO, "ZHANG": f.ZHANG}
    return {f"{name}.{key}": str(person[key]) for name, person in persons.items()
            for key in ("psn_no", "certno", "evoucher", "card_no", "card_sn", "insu_admdvs")}


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class Sent:
    """What the test sent and got back; `retry_of` is the first answer to the same envelope."""

    envelope: dict[str, Any]
    answer: dict[str, Any]
    retry_of: dict[str, Any] | None


class Runner:
    """Sends the guide's requests to one gateway, filling and capturing placeholders."""

    def __init__(self, base_url: str, fixmedins_code: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.fixmedins_code = fixmedins_code
        now = beijing_now().replace(microsecond=0)
        self.fixed = fixture_values() | {
            "now": _time(now), "today": now.date().isoformat(),
            "visit_time": _time(now - timedelta(hours=1)),
            "admission_time": _time(now - timedelta(days=3))}
        self.bound: dict[str, Any] = {}
        self.serial = itertools.count(1)
        self.sent: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}

    def close(self) -> None:
        self.http.close()

    def _fresh(self, name: str) -> str:
        if name.startswith("msgid"):
            serial = next(self.serial) % 10000
            return f"{self.fixmedins_code}{beijing_now():%Y%m%d%H%M%S}{serial:04d}"
        return _time(beijing_now())

    def value(self, name: str) -> Any:
        """The value of a placeholder in a request."""
        if name in self.fixed:
            return self.fixed[name]
        if name in ("msgid", "inf_time"):
            return self._fresh(name)
        if name not in self.bound and name.startswith(("msgid_", "inf_time_")):
            self.bound[name] = self._fresh(name)
        if name not in self.bound:
            raise KeyError(f"{{{{{name}}}}} is used before any answer gave it a value")
        return self.bound[name]

    def fill(self, doc: Any) -> Any:
        """A copy of a request block with its placeholders replaced."""
        if isinstance(doc, dict):
            return {key: self.fill(value) for key, value in doc.items()}
        if isinstance(doc, list):
            return [self.fill(value) for value in doc]
        if isinstance(doc, str) and (match := _PLACEHOLDER.fullmatch(doc)):
            return self.value(match.group(1))
        return doc

    def capture(self, doc: Any, answer: Any) -> None:
        """Bind the placeholders of a response block to the answer's values at their places."""
        if isinstance(doc, dict) and isinstance(answer, dict):
            for key, value in doc.items():
                if key in answer:
                    self.capture(value, answer[key])
        elif isinstance(doc, list) and isinstance(answer, list) and doc and answer:
            self.capture(doc[0], answer[0])
        elif isinstance(doc, str) and (match := _PLACEHOLDER.fullmatch(doc)):
            name = match.group(1)
            if name not in self.fixed and not name.startswith(GENERATED):
                self.bound[name] = answer

    def send(self, example: Example) -> Sent:
        """Send one step's request and capture what its answer gives."""
        envelope = self.fill(example.request)
        earlier = self.sent.get(str(envelope.get("msgid")))
        response = self.http.post("/his", json=envelope)
        response.raise_for_status()
        answer: dict[str, Any] = (response.json() if response.headers.get(
            "content-type", "").startswith("application/json") else file_answer(response))
        self.capture(example.response, answer)
        self.sent.setdefault(str(envelope.get("msgid")), (envelope, answer))
        retry_of = earlier[1] if earlier is not None and earlier[0] == envelope else None
        return Sent(envelope, answer, retry_of)


def file_answer(response: httpx.Response) -> dict[str, Any]:
    """A 9102 answer, which is the file itself, as the guide shows it: headers and text."""
    return {"http_headers": {k: response.headers[k] for k in FILE_HEADERS
                             if k in response.headers},
            "body": response.content.decode("utf-8", "replace")}


def mismatches(doc: Any, got: Any, path: str = "") -> list[str]:
    """How an answer differs from the guide's response block (keys, and non-volatile values)."""
    if isinstance(doc, str) and _PLACEHOLDER.fullmatch(doc):
        return []
    if isinstance(doc, dict):
        if not isinstance(got, dict):
            return [f"{path or '.'}: expected an object, got {got!r}"]
        found = []
        if set(doc) != set(got):
            found.append(f"{path or '.'}: keys differ; not answered {sorted(set(doc) - set(got))},"
                         f" not in the guide {sorted(set(got) - set(doc))}")
        for key in doc.keys() & got.keys():
            if key not in VOLATILE:
                found += mismatches(doc[key], got[key], f"{path}.{key}")
        return found
    if isinstance(doc, list):
        if not isinstance(got, list):
            return [f"{path}: expected a list, got {got!r}"]
        if not doc or not got:
            return [] if not doc and not got else [f"{path}: expected {len(doc)} entries or "
                                                   f"more, got {len(got)}"]
        return mismatches(doc[0], got[0], f"{path}[0]")
    if type(doc) is not type(got) or doc != got:
        return [f"{path}: the guide shows {doc!r}, the gateway answered {got!r}"]
    return []


def err_msg_matches(shown: str, answered: str) -> bool:
    """The guide's err_msg, placeholders standing for any text, is in the answer's err_msg."""
    pattern = ".*?".join(re.escape(part) for part in _PLACEHOLDER.split(shown)[::2])
    return re.search(pattern, answered, re.DOTALL) is not None


EXAMPLES = parse_guide(DOC.read_text(encoding="utf-8")) if DOC.exists() else []


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Sent | Exception]]:
    """One federation on SQLite; every step of the guide sent once, in document order."""
    fed = Federation(tmp_path_factory.mktemp("his-guide"), f.ROWS, pg_url=None)
    runner: Runner | None = None
    try:
        fed.start()
        runner = Runner(fed.urls[REGION], INSTITUTION)
        results: dict[str, Sent | Exception] = {}
        for example in EXAMPLES:
            try:
                results[example.name] = runner.send(example)
            except (KeyError, httpx.HTTPError) as exc:
                results[example.name] = exc
        yield results
    finally:
        if runner is not None:
            runner.close()
        fed.close()


def test_the_guide_pairs_every_request_with_its_answer() -> None:
    assert DOC.exists(), f"{DOC} is missing"
    examples = parse_guide(DOC.read_text(encoding="utf-8"))
    names = [e.name for e in examples]
    assert len(names) == len(set(names)), "two steps share a name"
    for example in examples:
        assert example.request.get("infno") == example.infno, example.name
        assert (isinstance(example.response.get("infcode"), int)
                or set(example.response) == {"http_headers", "body"}), example.name


def test_the_guide_shows_every_transaction_the_gateway_answers() -> None:
    shown = {e.infno for e in EXAMPLES if not e.error}
    assert set(TRANSACTIONS) - shown == set()


def test_the_guide_explains_every_error_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    codes = {cls.code for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.MedSettleError)}
    missing = sorted(code for code in codes | {"internal"} if f"`{code}`" not in text)
    assert missing == []


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_the_gateway_answers_as_the_guide_shows(example: Example,
                                                sent: dict[str, Sent | Exception]) -> None:
    result = sent[example.name]
    if isinstance(result, Exception):
        pytest.fail(f"{example.name} could not be sent: {result}")
    answer = result.answer
    if example.error:
        assert answer["infcode"] == -1, f"expected a refusal, got {answer}"
        shown = example.response.get("err_msg", "")
        assert err_msg_matches(shown, answer["err_msg"]), (shown, answer["err_msg"])
        assert answer["output"] is None
    elif "http_headers" not in example.response:  # a file answer (9102) has no envelope
        assert answer["infcode"] == 0, answer["err_msg"]
    doc = {k: v for k, v in example.response.items() if not (example.error and k == "err_msg")}
    got = {k: v for k, v in answer.items() if not (example.error and k == "err_msg")}
    assert mismatches(doc, got) == []
    if result.retry_of is not None:
        assert answer == result.retry_of, "a resent message must get the stored answer"
