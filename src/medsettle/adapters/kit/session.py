"""The kit as a HIS: sends each scenario's messages through the SDK, records every step and checks
every answer's envelope (interface.md §3) and output shape (the SDK's answer models)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from pydantic import ValidationError

from medsettle.adapters.kit.config import KitConfig, KitLine, KitPerson
from medsettle.adapters.kit.results import ScenarioResult, Step
from medsettle.sdk import Answer, BadAnswer, Client, Exchange, NoAnswer, Request
from medsettle.sdk import money as m
from medsettle.sdk import visits as v
from medsettle.sdk.client import Signer, model_errors
from medsettle.sdk.envelope import ResponseEnvelope

OutT = TypeVar("OutT", bound=Answer)
_TIME17 = re.compile(r"\d{17}")


#: How long a platform may take to send a whole answer, and how large it may be: httpx's
#: timeout is per read, so a platform sending a byte every few seconds held a run forever, and
#: a 200 MB answer was kept whole (and written into the report).
ANSWER_SECONDS = 30.0
ANSWER_MAX_BYTES = 6_000_000


class LoseAnswer(httpx.BaseTransport):
    """Delivers every request, but throws away the answer to the next message of `infno` and
    raises a read timeout instead: the platform did the work, the HIS never heard."""

    def __init__(self, inner: httpx.BaseTransport, deadline: float = ANSWER_SECONDS) -> None:
        self.inner = inner
        self.deadline = deadline
        self.target: str | None = None
        self.lost: list[str] = []  # msgids whose answers were lost

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = bounded(self.inner.handle_request(request), request, self.deadline)
        sent = _json_object(request.content)
        if self.target is not None and sent.get("infno") == self.target:
            response.read()
            response.close()
            self.lost.append(str(sent.get("msgid", "")))
            self.target = None
            raise httpx.ReadTimeout("the kit lost the answer on purpose", request=request)
        return response


def bounded(response: httpx.Response, request: httpx.Request, seconds: float
            ) -> httpx.Response:
    """The response with its body read within `seconds` and ANSWER_MAX_BYTES: a read timeout
    otherwise (the scenario fails saying so)."""
    ends = time.monotonic() + seconds
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.stream:  # type: ignore[union-attr]
            size += len(chunk)
            chunks.append(chunk)
            if size > ANSWER_MAX_BYTES:
                raise httpx.ReadError(f"the answer is larger than {ANSWER_MAX_BYTES} bytes",
                                      request=request)
            if time.monotonic() > ends:
                raise httpx.ReadTimeout(f"the answer took more than {seconds:g} s to arrive",
                                        request=request)
    finally:
        response.close()
    return httpx.Response(response.status_code, headers=response.headers,
                          content=b"".join(chunks), request=request,
                          extensions=response.extensions)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def check_envelope(step: Step, raw: dict[str, Any], expect_ok: bool | None) -> None:
    """The response envelope's rules; `expect_ok` True/False: the transaction must succeed/fail.
    An infcode sent as text ("0") breaks its own rule once and is read as its number after."""
    code = raw.get("infcode")
    step.expect(type(code) is int, "infcode", "a JSON integer: 0 success, -1 failure "
                                              "(interface.md §3)", code)
    if isinstance(code, str) and re.fullmatch(r"-?\d{1,9}", code.strip()):
        code = int(code)
    ref = raw.get("inf_refmsgid")
    step.expect(isinstance(ref, str) and 0 < len(ref) <= 30, "inf_refmsgid",
                "the receiver's message id, 1-30 characters", ref)
    for key in ("refmsg_time", "respond_time"):
        value = raw.get(key)
        step.expect(isinstance(value, str) and _TIME17.fullmatch(value) is not None, key,
                    "yyyyMMddHHmmssSSS (17 digits)", value)
    if code == 0:
        step.expect(raw.get("err_msg") in ("", None), "err_msg", "empty on success",
                    raw.get("err_msg"))
        step.expect(raw.get("output") is not None, "output", "the transaction's output on "
                                                             "success, not null")
    else:
        text = raw.get("err_msg") or raw.get("message")
        step.expect(isinstance(text, str) and 0 < len(text) <= 200, "err_msg",
                    "a reason of 1-200 characters on failure", text)
        step.expect(raw.get("output") is None, "output", "null on failure", raw.get("output"))
    if expect_ok is True:
        step.expect(code == 0, "infcode", "0: this message succeeds for the test data",
                    raw.get("err_msg") or raw.get("message") or code)
    elif expect_ok is False:
        step.expect(code != 0, "infcode", "≠ 0: this message must be refused", code)


class Session:
    """One scenario being played against a platform."""

    def __init__(self, base_url: str, config: KitConfig, result: ScenarioResult, *,
                 transport: httpx.BaseTransport | None = None, timeout: float = 10.0,
                 sign_no: str = "", signer: Signer | None = None) -> None:
        self.config = config
        self.result = result
        self.base_url, self.timeout = base_url, timeout
        self.lose = LoseAnswer(transport or httpx.HTTPTransport())
        self.his = Client(base_url, config.fixmedins_code, config.fixmedins_name,
                          admdvs=config.mdtrtarea_admvs, retries=1, backoff=0.05,
                          signer=signer,
                          http=httpx.Client(transport=self.lose, timeout=timeout))
        self.his.sign_no = sign_no
        self.now = self.his.clock().replace(microsecond=0)

    def close(self) -> None:
        self.his.close()

    def other(self) -> Client:
        """A client of the other institution of the test data, over the same transport."""
        return Client(self.base_url, self.config.other_fixmedins_code,
                      self.config.other_fixmedins_name, admdvs=self.config.mdtrtarea_admvs,
                      retries=0, http=httpx.Client(transport=self.lose, timeout=self.timeout))

    def step(self, name: str) -> Step:
        """A new step of the scenario."""
        step = Step(name)
        self.result.steps.append(step)
        return step

    def send(self, name: str, request: Request[OutT], *, insuplc: str = "",
             msgid: str | None = None, expect_ok: bool | None = True,
             his: Client | None = None) -> Exchange[OutT] | None:
        """Send one message (as `his`, default the institution under test), check its answer;
        None when no answer came."""
        step = self.step(name)
        step.infno = request.INFNO
        started = time.perf_counter()
        try:
            exchange = (his or self.his).send(request, insuplc=insuplc, msgid=msgid)
        except NoAnswer as exc:
            step.expect(False, "(transport)", "the platform answers with an envelope",
                        exc.why)
            return None
        except BadAnswer as exc:
            for path, rule in exc.errors:
                step.expect(False, path, rule)
            return None
        finally:
            step.seconds = time.perf_counter() - started
        step.msgid, step.request, step.answer = (str(exchange.envelope["msgid"]),
                                                 exchange.envelope, exchange.raw)
        check_envelope(step, exchange.raw, expect_ok)
        return exchange

    def send_raw(self, name: str, envelope: dict[str, Any], *, expect_ok: bool | None,
                 names: tuple[str, ...] = ()) -> dict[str, Any] | None:
        """Send a hand-made envelope; a refusal must name one of `names` in err_msg."""
        step = self.step(name)
        step.infno, step.msgid, step.request = (str(envelope.get("infno")),
                                                str(envelope.get("msgid")), envelope)
        started = time.perf_counter()
        try:
            answer, raw = self.his.post(envelope)
        except NoAnswer as exc:
            step.expect(False, "(transport)", "the platform answers with an envelope",
                        exc.why)
            return None
        finally:
            step.seconds = time.perf_counter() - started
        step.answer = raw
        check_envelope(step, raw, expect_ok)
        if names and not answer.ok:
            text = answer.err_msg or ""
            step.expect(any(n in text for n in names), "err_msg",
                        f"names the wrong field ({' or '.join(names)})", text)
        return raw

    def output_of(self, raw: dict[str, Any], model: type[OutT]) -> OutT | None:
        """The output read as `model`, failures recorded on the last step."""
        step = self.result.steps[-1]
        try:
            return model.model_validate(ResponseEnvelope.model_validate(raw).output)
        except ValidationError as exc:
            for path, rule in model_errors(exc, "output"):
                step.expect(False, path, rule)
            return None

    # -- building blocks of the scenarios ----------------------------------------------

    def sign_in(self) -> bool:
        """9001, keeping the sign_no."""
        done = self.send("9001 sign in", v.SignInRequest(signIn=v.SignIn(
            opter_no="D0107", mac="00-16-3E-00-00-01", ip="10.0.0.8")))
        if done is None or done.output is None:
            return False
        self.his.sign_no = done.output.signinoutb.sign_no
        return True

    def person(self, who: KitPerson, cert_type: str = "01", name: str = "") -> str | None:
        """1101 by a credential; the psn_no, checked against the expected one."""
        number = {"01": who.evoucher, "02": who.certno, "03": who.card_no}[cert_type]
        done = self.send(name or f"1101 person info by {cert_type}", v.PersonInfoRequest(
            data=v.PersonQuery(mdtrt_cert_type=cert_type, mdtrt_cert_no=number,
                               card_sn=who.card_sn if cert_type == "03" else "")),
            insuplc=who.insuplc_admdvs if cert_type == "03" else "")
        if done is None or done.output is None:
            return None
        step = self.result.steps[-1]
        out = done.output
        step.expect(not who.psn_no or out.baseinfo.psn_no == who.psn_no,
                    "output.baseinfo.psn_no", f"the test person's psn_no {who.psn_no}",
                    out.baseinfo.psn_no)
        step.expect(out.insuinfo[0].insuplc_admdvs == who.insuplc_admdvs,
                    "output.insuinfo[0].insuplc_admdvs",
                    f"the test person's insured place {who.insuplc_admdvs}",
                    out.insuinfo[0].insuplc_admdvs)
        return out.baseinfo.psn_no

    def lines(self, who: KitPerson, psn_no: str, mdtrt_id: str, lines: list[KitLine],
              prefix: str) -> list[m.FeeDetail]:
        """Fee details for the lines, with serial numbers unique to this run."""
        serial = self.his.msgid()[-8:]
        return [m.FeeDetail(
            feedetl_sn=f"{prefix}{serial}-{i}", mdtrt_id=mdtrt_id, psn_no=psn_no,
            chrg_bchno=f"CB{serial}", fee_ocur_time=self.visit_time(),
            med_list_codg=line.code, medins_list_codg=f"H{i:04d}",
            det_item_fee_sumamt=(Decimal(line.price) * Decimal(line.count)).quantize(
                Decimal("0.01")), cnt=Decimal(line.count), pric=Decimal(line.price),
            bilg_dept_codg="A03",
            bilg_dept_name="内科", bilg_dr_codg="D001", bilg_dr_name="李医生")
            for i, line in enumerate(lines, start=1)]

    def visit_time(self) -> datetime:
        return self.now - timedelta(hours=1)


def run_steps(result: ScenarioResult, play: Callable[[], None]) -> None:
    """Play a scenario; an unexpected exception stops it with its text as the error."""
    started = time.perf_counter()
    try:
        play()
    except Exception as exc:  # a kit bug or a platform so broken the scenario cannot go on
        result.error = f"{type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - started
