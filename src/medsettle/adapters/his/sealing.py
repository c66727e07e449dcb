"""The HIS side of signing and encryption (signing.py checks it at the gateway): a sealer turns an
envelope into the bytes and headers a HIS sends, and opens the answer.

`Sm2Sealer` signs with the institution's SM2 private key (`cainfo`, `signtype` SM2, `timestamp`,
`nonce`) and, given the SM4 key, sends `input` encrypted as `encData`; `HmacSealer` adds the
national TIF headers. Each call seals afresh (a new timestamp and nonce), so a retry of a msgid is
sent as a new request, as the gateway expects.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Protocol

from medsettle.adapters.his import guomi
from medsettle.adapters.his.signing import tif_headers


class Sealer(Protocol):
    """How one institution's HIS signs (and perhaps encrypts) what it sends."""

    def seal(self, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body and extra headers to send for `envelope`."""
        ...

    def open(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer with its `output` in clear."""
        ...


def _dump(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


class Sm2Sealer:
    """Signs with SM2 over SM3 and, with an SM4 key, encrypts `input` and decrypts `output`."""

    def __init__(self, private_key: str, public_key: str, sm4_key: str | None = None,
                 clock: Callable[[], float] = time.time,
                 platform_key: str | None = None) -> None:
        self.private_key = private_key
        self.public_key = guomi.public_key(public_key, "public_key")
        self.sm4_key = sm4_key
        self.clock = clock
        self.platform_key = platform_key  # verifies the answers' cainfo, when given

    def seal(self, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The signed (and encrypted) body; no extra headers."""
        doc = {k: v for k, v in envelope.items() if k != "cainfo"}
        if self.sm4_key is not None:
            text = json.dumps(doc.pop("input"), ensure_ascii=False, separators=(",", ":"))
            doc |= {"encType": "SM4",
                    "encData": guomi.sm4_encrypt(self.sm4_key, text.encode("utf-8"))}
        doc |= {"signtype": "SM2", "timestamp": str(int(self.clock())),
                "nonce": secrets.token_hex(16)}
        digest = guomi.envelope_digest(guomi.parse_exact(_dump(doc).decode("utf-8")))
        return _dump(doc | {"cainfo": guomi.sign(self.private_key, self.public_key, digest)}), {}

    def open(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer, its cainfo checked with the platform's key (when given; AnswerForged
        if it does not verify) and its `encData` decrypted back into `output`."""
        if self.platform_key is not None and not verify_answer(answer, self.platform_key):
            raise AnswerForged("the answer's cainfo does not verify with the platform's SM2 key")
        if self.sm4_key is None or not isinstance(answer.get("encData"), str):
            return answer
        output = json.loads(guomi.sm4_decrypt(self.sm4_key, answer["encData"]))
        return {k: v for k, v in answer.items() if k not in ("encType", "encData")} | {
            "output": output}


class AnswerForged(Exception):
    """An answer that does not carry the platform's SM2 signature."""


def verify_answer(answer: dict[str, Any], platform_key: str) -> bool:
    """Whether an answer is signed (signtype SM2, cainfo) with the platform's SM2 key."""
    cainfo = answer.get("cainfo")
    return (answer.get("signtype") == "SM2" and isinstance(cainfo, str) and
            guomi.verify(platform_key, guomi.envelope_digest(answer), cainfo))


class HmacSealer:
    """Signs with the institution's HMAC key in the national TIF headers."""

    def __init__(self, fixmedins_code: str, key: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.fixmedins_code = fixmedins_code
        self.key = key
        self.clock = clock

    def seal(self, envelope: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """The body as it is, and the signed headers."""
        body = _dump(envelope)
        return body, tif_headers(self.key, self.fixmedins_code, int(self.clock()),
                                 secrets.token_hex(16), body)

    def open(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer as it is."""
        return answer
