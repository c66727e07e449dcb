"""Signed and encrypted HIS requests (interface.md §1, §2; docs/his-integration.md "Signing and
encryption (国密)").

Each institution signs in one of the ways its registration chose (`institutions.signing`):

- "sm2": every message carries `signtype` "SM2", `cainfo` (guomi.py: SM2 over the SM3 digest of
  the envelope), a `timestamp` (unix seconds) and a `nonce` in the envelope; checked with the
  institution's registered SM2 public key;
- "hmac": every message carries gateway headers signed with the institution's key
  (`institutions.api_key`), in one of two styles: national TIF, `x-tif-paasid` (the
  fixmedins_code), `x-tif-timestamp`, `x-tif-nonce`, `x-tif-signature` = hex
  HMAC-SHA256(key, timestamp + "\\n" + nonce + "\\n" + SHA-256 hex of the body); or Hunan,
  `_api_access_key`, `_api_name` (the infno), `_api_timestamp`, `_api_signature` = hex
  HMAC-SHA256(key, name + "\\n" + timestamp + "\\n" + SHA-256 hex of the body);
- none chosen (institutions registered before signing was chosen): unsigned messages pass;
  HMAC headers that are present are checked (refused without a key), and so is an SM2 `cainfo`
  when an SM2 key is registered (without one, `cainfo` is ignored, as before: HIS software fills
  it from its own CA tooling).

A signature is good for MAX_SKEW_SECONDS either side of the node's clock and once: its nonce (the
Hunan style has none: its signature serves) is remembered for that window and a second use is a
replay. The memory is lost on a restart, so a message stamped before the node started is refused
too; the HIS signs it again. A retry of a message is a new request: signed again (new timestamp,
new nonce) with the same msgid, and answered from the message log.

An SM2 or HMAC-signed message may carry its `input` SM4-encrypted: `encType` "SM4" and `encData`
in place of `input` (guomi.py), with the institution's SM4 key; the answer's `output` then comes
back encrypted the same way. The answer to an SM2-signed message is signed with the node's own
SM2 key (`sign_answer`), whose public key the institution receives with its keys.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from medsettle.adapters.federation import NonceBook
from medsettle.adapters.his import guomi
from medsettle.adapters.his.envelope import load_json
from medsettle.adapters.his.reader import is_blank
from medsettle.core.codes import validate_institution_code
from medsettle.core.errors import AuthenticationFailed, InvalidInput

MAX_SKEW_SECONDS = 300
SCHEMES = ("sm2", "hmac")
NONCE = re.compile(r"[0-9A-Za-z_-]{16,64}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a node keeps to check one institution's messages (never its SM2 private key)."""

    signing: str | None  # "sm2", "hmac", or None: checked when present
    api_key: str | None
    sm2_public_key: str | None
    sm4_key: str | None


@dataclass(frozen=True, slots=True)
class Opened:
    """A checked message: its envelope with `input` in clear, and the SM4 key to answer with
    when it came encrypted."""

    envelope: dict[str, Any]
    sm4_key: str | None = None
    sm2_signed: bool = False  # its answer is signed with the node's SM2 key


def _hmac(key: str, *parts: str) -> str:
    return hmac.new(key.encode(), "\n".join(parts).encode(), hashlib.sha256).hexdigest()


def tif_headers(key: str, fixmedins_code: str, timestamp: int, nonce: str,
                body: bytes) -> dict[str, str]:
    """The TIF-style headers a HIS sends."""
    digest = hashlib.sha256(body).hexdigest()
    return {"x-tif-paasid": fixmedins_code, "x-tif-timestamp": str(timestamp),
            "x-tif-nonce": nonce, "x-tif-signature": _hmac(key, str(timestamp), nonce, digest)}


def api_headers(key: str, fixmedins_code: str, infno: str, timestamp: int,
                body: bytes) -> dict[str, str]:
    """The Hunan-style headers a HIS sends."""
    digest = hashlib.sha256(body).hexdigest()
    return {"_api_access_key": fixmedins_code, "_api_name": infno,
            "_api_version": "1.0.0", "_api_timestamp": str(timestamp),
            "_api_signature": _hmac(key, infno, str(timestamp), digest)}


def _refused(zh: str, en: str) -> AuthenticationFailed:
    return AuthenticationFailed(f"{zh} ({en})")


class Guard:
    """Checks every HIS message against its institution's credentials and opens encrypted
    payloads. One per gateway: it remembers the nonces it has accepted. Thread-safe."""

    def __init__(self, credentials_of: Callable[[str], Credentials | None], started: float,
                 window: int = MAX_SKEW_SECONDS) -> None:
        self.credentials_of = credentials_of
        self.started = int(started)
        self.window = window
        self.nonces = NonceBook()

    def open(self, doc: dict[str, Any], raw: bytes, headers: Mapping[str, str],
             now: float) -> Opened:
        """The message `doc` (parsed from `raw`) once its signature is checked and its input
        decrypted; AuthenticationFailed or InvalidInput saying why it is refused. A message
        whose fixmedins_code is unreadable is passed on unchecked: the envelope's parser
        refuses it, naming the field."""
        code = doc.get("fixmedins_code")
        try:
            code = validate_institution_code(code, "fixmedins_code")
        except InvalidInput:
            return Opened(doc)
        creds = self.credentials_of(code)
        scheme = creds.signing if creds else None
        lowered = {k.lower(): v for k, v in headers.items()}
        has_hmac = "x-tif-signature" in lowered or "_api_signature" in lowered
        has_sm2 = (str(doc.get("signtype") or "").strip().upper() == "SM2"
                   and not is_blank(doc.get("cainfo")))
        checkable = has_sm2 and creds is not None and bool(creds.sm2_public_key)
        sm2 = scheme == "sm2" or (scheme is None and checkable and not has_hmac)
        if sm2:
            self._check_sm2(doc, raw, code, creds, now)
        elif scheme == "hmac" or has_hmac:
            if not has_hmac:
                raise _refused(f"未签名：{code} 须以 HMAC 签名报文头发送",
                               f"{code} must sign its messages with the HMAC gateway headers")
            self._check_hmac(lowered, raw, code, creds, now)
        elif not is_blank(doc.get("encType")):
            raise _refused("未签名：加密报文须签名",
                           "an encrypted message must be signed (SM2 cainfo or HMAC headers)")
        opened = self._decrypt(doc, code, creds)
        return replace(opened, sm2_signed=sm2)

    def _fresh(self, stamp: object, now: float, what: str) -> int:
        text = str(stamp).strip() if isinstance(stamp, (str, int)) else ""
        if not (text.isascii() and text.isdigit()) or abs(now - int(text)) > self.window:
            raise _refused(f"时间戳无效：{what} 缺失或与平台时间相差超过 {self.window} 秒",
                           f"the signature's timestamp ({what}) is missing or more than "
                           f"{self.window} s from now; sign the message again")
        if int(text) < self.started:
            raise _refused("时间戳早于平台启动：请重新签名",
                           "the message was signed before this node started; sign it again")
        return int(text)

    def _first_use(self, code: str, nonce: str, stamp: int, now: float) -> None:
        if not self.nonces.first_use(code, nonce, stamp + self.window, now):
            raise _refused(f"重放报文：{code} 已用过此 nonce",
                           f"replayed message: {code} already used this nonce; a retry is "
                           "signed again with a new nonce and the same msgid")

    def _check_sm2(self, doc: dict[str, Any], raw: bytes, code: str,
                   creds: Credentials | None, now: float) -> None:
        if str(doc.get("signtype") or "").strip().upper() != "SM2" or is_blank(
                doc.get("cainfo")):
            raise _refused(f"未签名：{code} 须以 SM2 签名（cainfo，signtype SM2）",
                           f"{code} must sign its messages with SM2: cainfo and signtype SM2")
        if creds is None or not creds.sm2_public_key:
            raise _refused(f"验签失败：{code} 未登记 SM2 公钥",
                           f"no SM2 key is registered for {code}")
        stamp = self._fresh(doc.get("timestamp"), now, "timestamp")
        nonce = doc.get("nonce")
        if not isinstance(nonce, str) or NONCE.fullmatch(nonce) is None:
            raise InvalidInput("nonce", "a signed message needs a nonce of 16-64 letters, "
                                        "digits, '-' or '_', new for every message")
        exact = guomi.parse_exact(raw.decode("utf-8-sig"))  # parsed once already: it is JSON
        if not guomi.verify(creds.sm2_public_key, guomi.envelope_digest(exact),
                            str(doc["cainfo"])):
            raise _refused(f"验签失败：cainfo 与 {code} 登记的 SM2 公钥不符",
                           f"wrong SM2 signature for {code}: cainfo does not verify with its "
                           "registered key over this message")
        self._first_use(code, f"sm2:{nonce}", stamp, now)

    def _check_hmac(self, lowered: Mapping[str, str], raw: bytes, code: str,
                    creds: Credentials | None, now: float) -> None:
        digest = hashlib.sha256(raw).hexdigest()
        if "x-tif-signature" in lowered:
            who, stamp = lowered.get("x-tif-paasid", ""), lowered.get("x-tif-timestamp", "")
            nonce = lowered.get("x-tif-nonce", "")
            parts = (stamp, nonce, digest)
            given = lowered["x-tif-signature"]
            once = f"tif:{nonce}"
        else:
            who, stamp = lowered.get("_api_access_key", ""), lowered.get("_api_timestamp", "")
            parts = (lowered.get("_api_name", ""), stamp, digest)
            given = lowered["_api_signature"]
            once = f"api:{given}"
        if who != code:
            raise _refused(f"验签失败：签名机构 {who!r} 与报文 {code} 不符",
                           f"the signature names {who!r}, the envelope {code}")
        when = self._fresh(stamp, now, "timestamp header")
        if creds is None or not creds.api_key:
            raise _refused(f"验签失败：{code} 未登记签名密钥",
                           f"no signing key is registered for {code}")
        if not hmac.compare_digest(_hmac(creds.api_key, *parts), given):
            raise _refused(f"验签失败：{code} 的 HMAC 签名不符",
                           f"wrong signature for {code}")
        self._first_use(code, once, when, now)

    def _decrypt(self, doc: dict[str, Any], code: str, creds: Credentials | None) -> Opened:
        enc_type = doc.get("encType")
        if is_blank(enc_type):
            return Opened(doc)
        if str(enc_type).strip().upper() != "SM4":
            raise InvalidInput("encType", f"only SM4 is supported, not {str(enc_type)[:20]!r}")
        if creds is None or not creds.sm4_key:
            raise _refused(f"解密失败：{code} 未登记 SM4 密钥",
                           f"no SM4 key is registered for {code}")
        data = doc.get("encData")
        if not isinstance(data, str) or is_blank(data):
            raise InvalidInput("encData", "is required with encType SM4 (the encrypted input)")
        if not is_blank(doc.get("input")):
            raise InvalidInput("input", "send either input or encData, not both")
        try:
            value = load_json(guomi.sm4_decrypt(creds.sm4_key, data))
        except InvalidInput as exc:
            if exc.field == "encData":
                raise
            raise InvalidInput("encData", f"decrypted, {exc.message}") from None
        plain = {k: v for k, v in doc.items() if k not in ("encType", "encData")}
        return Opened(plain | {"input": value}, creds.sm4_key)


def seal_answer(answer: dict[str, Any], sm4_key: str) -> dict[str, Any]:
    """An answer to an encrypted message: its `output` SM4-encrypted into `encData`."""
    if answer.get("output") is None:
        return answer
    text = json.dumps(answer["output"], ensure_ascii=False, separators=(",", ":"))
    return answer | {"output": None, "encType": "SM4",
                     "encData": guomi.sm4_encrypt(sm4_key, text.encode("utf-8"))}


def sign_answer(answer: dict[str, Any], private_key: str, public_key: str) -> dict[str, Any]:
    """An answer signed with the node's SM2 key: `signtype` "SM2" and `cainfo` over the SM3
    digest of its canonical text without `cainfo` (the same rule as a request's)."""
    signed = answer | {"signtype": "SM2", "cainfo": ""}
    return signed | {"cainfo": guomi.sign(private_key, public_key,
                                          guomi.envelope_digest(signed))}
