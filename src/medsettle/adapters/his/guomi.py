"""The Chinese national algorithms (国密) a HIS message may use: SM3 digests, SM2 signatures and
SM4 encryption, and the canonical text of an envelope that a signature covers.

SM3 and SM4 come from `cryptography` (OpenSSL); SM2, which `cryptography` does not offer, from
`gmssl`. Two of gmssl's habits are unsafe and are avoided here: its signing nonce comes from
`random` (so `sign` always passes one from `secrets`), and it strips every leading "0" and "4"
of a public key that starts with "04" (so a key is set on the object after construction).

The rules (MedSettle's choices, docs/his-integration.md "Signing and encryption (国密)"):
- digest = SM3 of the UTF-8 canonical text of the envelope without `cainfo`: keys sorted, no
  whitespace, strings as JSON writes them (non-ASCII kept), numbers exactly as sent;
- `cainfo` = SM2 signature (SM3withSM2, the default user id 1234567812345678) of the 32 digest
  bytes, base64 of r‖s (64 bytes); DER and hex are accepted too;
- `encData` = base64 of a random 16-byte IV followed by SM4-CBC (PKCS#7 padding) of the UTF-8
  JSON text of `input`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from typing import Any

from Cryptodome.Util.asn1 import DerSequence
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl import sm2

from medsettle.core.errors import InvalidInput

_CURVE = sm2.default_ecc_table
_N = int(_CURVE["n"], 16)
_P = int(_CURVE["p"], 16)
_A = int(_CURVE["a"], 16)
_B = int(_CURVE["b"], 16)
_HEX = re.compile(r"[0-9a-fA-F]+", re.ASCII)
SM4_KEY_HEX = re.compile(r"[0-9a-f]{32}", re.ASCII)


class Number(str):
    """A JSON number kept exactly as it was written (so a signature covers what was sent)."""


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def parse_exact(text: str) -> Any:
    """Parse JSON keeping every number's text (Number); ValueError if it is not JSON."""
    return json.loads(text, parse_float=Number, parse_int=Number,
                      parse_constant=_reject_constant)


def canonical(value: Any) -> str:
    """The canonical text of a value parsed by `parse_exact` (or of plain JSON values)."""
    if isinstance(value, Number):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{canonical(v)}"
                              for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def sm3(data: bytes) -> bytes:
    """The SM3 digest of `data` (32 bytes)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def envelope_digest(envelope: dict[str, Any]) -> bytes:
    """What `cainfo` signs: the SM3 digest of the envelope's canonical text without `cainfo`."""
    return sm3(canonical({k: v for k, v in envelope.items() if k != "cainfo"}).encode("utf-8"))


def _sm2(private_hex: str, public_hex: str) -> Any:
    crypt = sm2.CryptSM2(private_key=private_hex, public_key="00" * 64)
    crypt.public_key = public_hex  # after construction: see the module docstring
    return crypt


def on_curve(public_hex: str) -> bool:
    """Whether 128 hex digits (x‖y) are a point of the SM2 curve."""
    if len(public_hex) != 128 or _HEX.fullmatch(public_hex) is None:
        return False
    x, y = int(public_hex[:64], 16), int(public_hex[64:], 16)
    return x < _P and y < _P and (y * y - x * x * x - _A * x - _B) % _P == 0


def public_key(text: str, field: str) -> str:
    """An SM2 public key as registered: 128 hex digits (x‖y), with or without the leading 04."""
    key = text.strip().lower()
    key = key[2:] if len(key) == 130 and key.startswith("04") else key
    if not on_curve(key):
        raise InvalidInput(field, "expected an SM2 public key: 128 hex digits (x‖y, or 04‖x‖y) "
                                  "of a point on the SM2 curve")
    return key


def new_sm2_key() -> tuple[str, str]:
    """A new SM2 key pair: (private key, 64 hex digits; public key, 128 hex digits x‖y)."""
    private = secrets.randbelow(_N - 2) + 1
    public = str(_sm2(f"{private:064x}", "00" * 64)._kg(private, _CURVE["g"]))
    return f"{private:064x}", public


def new_sm4_key() -> str:
    """A new SM4 key: 32 hex digits (16 bytes)."""
    return secrets.token_hex(16)


def sign(private_hex: str, public_hex: str, message: bytes) -> str:
    """The SM2 signature (SM3withSM2) of `message`: base64 of r‖s."""
    crypt = _sm2(private_hex, public_hex)
    while True:  # a nonce that gives r = 0 or s = 0 is drawn again (vanishingly rare)
        signed = crypt.sign_with_sm3(message, f"{secrets.randbelow(_N - 1) + 1:064x}")
        if signed:
            return base64.b64encode(bytes.fromhex(str(signed))).decode("ascii")


def _r_s(signature: str) -> tuple[int, int] | None:
    """r and s of a signature given as base64 or hex, of r‖s or of DER; None if unreadable."""
    text = signature.strip()
    try:
        raw = (bytes.fromhex(text) if len(text) in (128, 140, 142, 144) and
               _HEX.fullmatch(text) else base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        return None
    if len(raw) == 64:
        return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    try:
        pair = DerSequence().decode(raw, strict=True)
        values = [pair[i] for i in range(len(pair))]
    except (ValueError, IndexError, TypeError):
        return None
    if len(values) != 2 or not all(isinstance(v, int) for v in values):
        return None
    return int(values[0] or 0), int(values[1] or 0)


def verify(public_hex: str, message: bytes, signature: str) -> bool:
    """Whether `signature` is the SM2 signature of `message` by the key `public_hex`."""
    pair = _r_s(signature)
    if pair is None or not on_curve(public_hex):
        return False
    r, s = pair
    if not (0 < r < _N and 0 < s < _N):
        return False
    try:
        return bool(_sm2("00" * 32, public_hex).verify_with_sm3(f"{r:064x}{s:064x}", message))
    except (ValueError, TypeError):
        return False


def sm4_encrypt(key_hex: str, plaintext: bytes) -> str:
    """base64(IV ‖ SM4-CBC(PKCS#7(plaintext))) with a fresh random IV."""
    iv = secrets.token_bytes(16)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.SM4(bytes.fromhex(key_hex)), modes.CBC(iv)).encryptor()
    body = encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
    return base64.b64encode(iv + body).decode("ascii")


def sm4_decrypt(key_hex: str, text: str, field: str = "encData") -> bytes:
    """The plaintext of `sm4_encrypt`; InvalidInput naming `field` if it cannot be decrypted."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (ValueError, binascii.Error):
        raise InvalidInput(field, "is not base64") from None
    if len(raw) < 32 or len(raw) % 16:
        raise InvalidInput(field, "is not an SM4-CBC ciphertext (a 16-byte IV and whole "
                                  "16-byte blocks)")
    decryptor = Cipher(algorithms.SM4(bytes.fromhex(key_hex)), modes.CBC(raw[:16])).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        padded = decryptor.update(raw[16:]) + decryptor.finalize()
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise InvalidInput(field, "does not decrypt with the institution's SM4 key") from None
