"""The typed HIS client: envelopes, msgids, signing, and what to do when no answer comes.

    his = Client("http://127.0.0.1:8100", "H44030400123", "深圳示例医院")
    his.sign_in()
    person = his.call(PersonInfoRequest(data=PersonQuery(mdtrt_cert_type="01", ...)))
    settled = his.call(SettleRequest(data=...), insuplc=person.insuinfo[0].insuplc_admdvs)

No answer (a timeout, a broken connection, an HTTP status other than 200, a body that is not
an envelope) is handled by the transaction's kind:

- read-only (9001, 1101, 2206, 52xx…): asked again, up to `retries` times;
- reversible (2201, 2207, 2304…): reversed with 2601 naming the original msgid (冲正), the
  2601 itself resent with its own msgid until answered; then `Reversed` is raised. With
  `on_timeout="resend"` the original is first resent with the same msgid (MedSettle answers a
  retry from its message log), and reversed only if that fails too;
- others: resent with the same msgid.

A `[peer_unavailable]` refusal of a reversible transaction is reversed the same way (the
platform's advice). Any other refusal raises `Refused` with the platform's code and text.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, Protocol, TypeVar, cast
from zoneinfo import ZoneInfo

import httpx
from pydantic import ValidationError

from medsettle.sdk.base import Request
from medsettle.sdk.envelope import ResponseEnvelope
from medsettle.sdk.files import Download, DownloadRequest
from medsettle.sdk.money import ReversalAnswer, ReversalData, ReversalRequest
from medsettle.sdk.types import Answer
from medsettle.sdk.visits import (
    SignIn,
    SignInAnswer,
    SignInRequest,
    SignOut,
    SignOutAnswer,
    SignOutRequest,
)

logger = logging.getLogger(__name__)
OutT = TypeVar("OutT", bound=Answer)
#: Signs a request: (body bytes, infno) → headers to add.
Signer = Callable[[bytes, str], dict[str, str]]


class Sealer(Protocol):
    """Signs (and perhaps encrypts) the whole envelope, e.g. SM2 `cainfo` and SM4 `encData`;
    the same protocol as the gateway's own HIS sealers."""

    def seal(self, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body and extra headers to send for `envelope`."""
        ...

    def open(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer with its `output` in clear (and its signature checked)."""
        ...


class HisSdkError(Exception):
    """Base class of the SDK's errors."""


class NoAnswer(HisSdkError):
    """No answer came (timeout, broken connection, HTTP error, not an envelope) after retries."""

    def __init__(self, infno: str, msgid: str, why: str) -> None:
        self.infno, self.msgid, self.why = infno, msgid, why
        super().__init__(f"{infno} {msgid}: no answer: {why}")


class Refused(HisSdkError):
    """The platform answered infcode ≠ 0; `code` is MedSettle's bracketed error code, if any."""

    def __init__(self, infno: str, answer: ResponseEnvelope) -> None:
        self.infno, self.answer = infno, answer
        self.code = answer.code
        super().__init__(f"{infno}: {answer.err_msg}")


class BadAnswer(HisSdkError):
    """The answer is an envelope, but its output does not have the transaction's shape."""

    def __init__(self, infno: str, errors: list[tuple[str, str]]) -> None:
        self.infno, self.errors = infno, errors
        super().__init__(f"{infno}: malformed output: " + "; ".join(
            f"{path}: {rule}" for path, rule in errors))


class NotReversed(HisSdkError):
    """The message got no usable answer, and the platform refused its reversal (2601): query the
    visit (52xx) and send the transaction's own cancel (2202, 2208…) if it happened."""

    def __init__(self, infno: str, msgid: str, refusal: Refused, why: str) -> None:
        self.infno, self.msgid, self.refusal, self.why = infno, msgid, refusal, why
        super().__init__(f"{infno} {msgid} got no answer ({why}) and 2601 was refused: "
                         f"{refusal.answer.err_msg}")


class Reversed(HisSdkError):
    """The message got no usable answer and was reversed with 2601 (冲正); nothing stands."""

    def __init__(self, infno: str, msgid: str, reversal: ReversalAnswer, why: str) -> None:
        self.infno, self.msgid, self.reversal, self.why = infno, msgid, reversal, why
        super().__init__(f"{infno} {msgid} was reversed (2601) after: {why}")


@dataclass(frozen=True)
class Exchange(Generic[OutT]):
    """One message sent and what came back: the raw envelope and answer, and the typed output
    (None when refused)."""

    envelope: dict[str, Any]
    answer: ResponseEnvelope
    raw: dict[str, Any]
    output: OutT | None


def beijing_now() -> datetime:
    """The HIS's wall clock: Beijing time, naive, as the national interface writes times."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)


def model_errors(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """(path, rule) for each error of a pydantic validation, paths in national field names."""
    found = []
    for error in exc.errors():
        path = prefix
        for part in error["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        found.append((path or ".", error["msg"]))
    return found


class Client:
    """One institution's HIS talking to one platform endpoint (`POST {base_url}/his`)."""

    _serial = itertools.count(1)
    _lock = threading.Lock()

    def __init__(self, base_url: str, fixmedins_code: str, fixmedins_name: str, *,
                 admdvs: str | None = None, signer: Signer | None = None,
                 sealer: Sealer | None = None,
                 timeout: float = 10.0, retries: int = 2, backoff: float = 0.2,
                 on_timeout: Literal["reverse", "resend"] = "reverse",
                 http: httpx.Client | None = None, path: str = "/his",
                 operator: tuple[str, str] = ("D0107", "收费员甲"),
                 extra_envelope: dict[str, str] | None = None,
                 clock: Callable[[], datetime] = beijing_now) -> None:
        self.url = base_url.rstrip("/") + path
        self.fixmedins_code = fixmedins_code
        self.fixmedins_name = fixmedins_name
        self.admdvs = admdvs or fixmedins_code[1:7]
        self.signer = signer
        self.sealer = sealer
        self.retries = retries
        self.backoff = backoff
        self.on_timeout = on_timeout
        self.http = http or httpx.Client(timeout=timeout)
        self.operator = operator
        self.extra_envelope = dict(extra_envelope or {})  # a deployment's own keys (serv_code…)
        self.clock = clock
        self.sign_no = ""

    def close(self) -> None:
        """Close the HTTP connections."""
        self.http.close()

    def msgid(self) -> str:
        """fixmedins_code(12) + yyyyMMddHHmmss(14) + serial(4): unique per sender."""
        with self._lock:
            serial = next(self._serial) % 10000
        return f"{self.fixmedins_code}{self.clock():%Y%m%d%H%M%S}{serial:04d}"

    def envelope(self, request: Request[Any], *, insuplc: str = "",
                 msgid: str | None = None) -> dict[str, Any]:
        """The request envelope of interface.md §2 around a transaction's input."""
        return {"infno": request.INFNO, "msgid": msgid or self.msgid(),
                "mdtrtarea_admvs": self.admdvs, "insuplc_admdvs": insuplc,
                "recer_sys_code": "MBS_LOCAL", "dev_no": "", "dev_safe_info": "", "cainfo": "",
                "signtype": "", "infver": "V1.0", "opter_type": "1", "opter": self.operator[0],
                "opter_name": self.operator[1],
                "inf_time": self.clock().strftime("%Y-%m-%d %H:%M:%S"),
                "fixmedins_code": self.fixmedins_code, "fixmedins_name": self.fixmedins_name,
                "sign_no": self.sign_no, **self.extra_envelope, "input": request.wire()}

    def _body(self, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The bytes to send and their headers: sealed, signed, or as they are."""
        headers = {"content-type": "application/json; charset=utf-8"}
        if self.sealer is not None:
            body, extra = self.sealer.seal(envelope)
            return body, headers | extra
        body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
        if self.signer is not None:
            headers |= self.signer(body, str(envelope["infno"]))
        return body, headers

    def post(self, envelope: dict[str, Any]) -> tuple[ResponseEnvelope, dict[str, Any]]:
        """POST one envelope once; NoAnswer unless an envelope came back."""
        body, headers = self._body(envelope)
        infno, msgid = str(envelope["infno"]), str(envelope["msgid"])
        try:
            response = self.http.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise NoAnswer(infno, msgid, f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise NoAnswer(infno, msgid, f"HTTP {response.status_code}")
        try:
            raw = response.json()
            if self.sealer is not None and isinstance(raw, dict):
                raw = self.sealer.open(raw)
            return ResponseEnvelope.model_validate(raw), raw
        except (ValueError, ValidationError) as exc:
            raise NoAnswer(infno, msgid, f"not a response envelope: {exc}") from None

    def send(self, request: Request[OutT], *, insuplc: str = "",
             msgid: str | None = None) -> Exchange[OutT]:
        """Send once (no retries) and read the answer; a refusal is returned, not raised."""
        envelope = self.envelope(request, insuplc=insuplc, msgid=msgid)
        answer, raw = self.post(envelope)
        return Exchange(envelope, answer, raw, self._output(request, answer) if answer.ok
                        else None)

    def _output(self, request: Request[OutT], answer: ResponseEnvelope) -> OutT:
        try:
            return cast(OutT, request.RESPONSE.model_validate(answer.output))
        except ValidationError as exc:
            raise BadAnswer(request.INFNO, model_errors(exc, "output")) from None

    def call(self, request: Request[OutT], *, insuplc: str = "",
             msgid: str | None = None) -> OutT:
        """Send, retry or reverse when no answer comes, and return the typed output; raises
        Refused, Reversed, NotReversed, NoAnswer or BadAnswer."""
        envelope = self.envelope(request, insuplc=insuplc, msgid=msgid)
        tries = 1 + self.retries if (request.READ_ONLY or not request.REVERSIBLE
                                     or self.on_timeout == "resend") else 1
        answer: ResponseEnvelope | None = None
        why = ""
        for attempt in range(tries):
            try:
                answer, _ = self.post(envelope)
                break
            except NoAnswer as exc:
                why = exc.why
                logger.warning("no answer to %s %s (attempt %d): %s", request.INFNO,
                               envelope["msgid"], attempt + 1, why)
                time.sleep(self.backoff * (attempt + 1) if attempt + 1 < tries else 0)
        if answer is None:
            if request.REVERSIBLE:
                raise self._reversed(request, envelope, why)
            raise NoAnswer(request.INFNO, str(envelope["msgid"]), why)
        if answer.code == "peer_unavailable" and request.REVERSIBLE:
            raise self._reversed(request, envelope, answer.err_msg or "peer_unavailable")
        if not answer.ok:
            raise Refused(request.INFNO, answer)
        return self._output(request, answer)

    def _reversed(self, request: Request[Any], envelope: dict[str, Any], why: str
                  ) -> Reversed | NotReversed:
        person, msgid = person_of(envelope["input"]), str(envelope["msgid"])
        try:
            reversal = self.reverse(msgid, request.INFNO, person,
                                    insuplc=str(envelope.get("insuplc_admdvs") or ""))
        except Refused as refused:
            return NotReversed(request.INFNO, msgid, refused, why)
        return Reversed(request.INFNO, msgid, reversal, why)

    def reverse(self, omsgid: str, oinfno: str, psn_no: str, *, insuplc: str = "") -> ReversalAnswer:
        """2601: undo message `omsgid` (idempotent: `reversed` false if nothing was left); the
        2601 is resent with its own msgid until answered, at most `retries` more times."""
        request = ReversalRequest(data=ReversalData(psn_no=psn_no, omsgid=omsgid, oinfno=oinfno))
        envelope = self.envelope(request, insuplc=insuplc)
        why = ""
        for attempt in range(1 + self.retries):
            try:
                answer, _ = self.post(envelope)
            except NoAnswer as exc:
                why = exc.why
                time.sleep(self.backoff * (attempt + 1))
                continue
            if not answer.ok:
                raise Refused("2601", answer)
            return self._output(request, answer)
        raise NoAnswer("2601", str(envelope["msgid"]), f"the reversal got no answer: {why}")

    def download(self, file_qury_no: str, filename: str) -> bytes:
        """9102: the file's bytes (the answer is the file, or a refusal envelope)."""
        request = DownloadRequest(fsDownloadIn=Download(
            file_qury_no=file_qury_no, filename=filename, fixmedins_code=self.fixmedins_code))
        envelope = self.envelope(request)
        body, headers = self._body(envelope)
        try:
            response = self.http.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise NoAnswer("9102", str(envelope["msgid"]), f"{type(exc).__name__}: {exc}") \
                from None
        if response.status_code != 200:
            raise NoAnswer("9102", str(envelope["msgid"]), f"HTTP {response.status_code}")
        if response.headers.get("content-type", "").startswith("application/json"):
            answer = ResponseEnvelope.model_validate(response.json())
            if not answer.ok:
                raise Refused("9102", answer)
        return response.content

    def sign_in(self, opter_no: str = "D0107", mac: str = "00-16-3E-00-00-01",
                ip: str = "10.0.0.8") -> SignInAnswer:
        """9001: sign in and keep the sign_no for every later message."""
        answer = self.call(SignInRequest(signIn=SignIn(opter_no=opter_no, mac=mac, ip=ip)))
        self.sign_no = answer.signinoutb.sign_no
        return answer

    def sign_out(self, opter_no: str = "D0107") -> SignOutAnswer:
        """9002: end this sign-in; sign in again before the next message."""
        answer = self.call(SignOutRequest(signOut=SignOut(sign_no=self.sign_no,
                                                          opter_no=opter_no)))
        self.sign_no = ""
        return answer


def person_of(input: dict[str, Any]) -> str:
    """The psn_no an input carries (in `data`, a named node, or the first fee line)."""
    for value in input.values():
        node = value[0] if isinstance(value, list) and value else value
        if isinstance(node, dict) and isinstance(node.get("psn_no"), str):
            return str(node["psn_no"])
    return ""
