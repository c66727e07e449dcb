"""Optional gateway signatures of HIS requests (interface.md §1).

Deployments sign HIS requests in one of two header styles; MedSettle accepts requests with or
without them and, when they are present, verifies them with the institution's own key
(`institutions.api_key`). The exact string signed is a MedSettle choice ([I] in interface.md):

- national TIF style: `x-tif-paasid` (the fixmedins_code), `x-tif-timestamp` (unix seconds),
  `x-tif-nonce`, `x-tif-signature` = hex HMAC-SHA256(key, timestamp + "\\n" + nonce + "\\n" +
  SHA-256 hex of the body);
- Hunan style: `_api_access_key` (the fixmedins_code), `_api_name` (the infno), `_api_timestamp`,
  `_api_signature` = hex HMAC-SHA256(key, name + "\\n" + timestamp + "\\n" + SHA-256 hex of the
  body).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from medsettle.core.errors import AuthenticationFailed

MAX_SKEW_SECONDS = 300


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


def check(headers: Mapping[str, str], body: bytes, fixmedins_code: str,
          key_of: Callable[[str], str | None], now: float) -> bool:
    """Verify the signature headers when present; True if a signature was checked.

    Raises AuthenticationFailed for a signature that is wrong, stale, signed for another
    institution, or sent by an institution that has no key registered.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    digest = hashlib.sha256(body).hexdigest()
    if "x-tif-signature" in lowered:
        who, stamp = lowered.get("x-tif-paasid", ""), lowered.get("x-tif-timestamp", "")
        parts = (stamp, lowered.get("x-tif-nonce", ""), digest)
        given = lowered["x-tif-signature"]
    elif "_api_signature" in lowered:
        who, stamp = lowered.get("_api_access_key", ""), lowered.get("_api_timestamp", "")
        parts = (lowered.get("_api_name", ""), stamp, digest)
        given = lowered["_api_signature"]
    else:
        return False
    if who != fixmedins_code:
        raise AuthenticationFailed(f"the signature names {who!r}, the envelope "
                                   f"{fixmedins_code}")
    if not stamp.isdigit() or abs(now - int(stamp)) > MAX_SKEW_SECONDS:
        raise AuthenticationFailed("the signature's timestamp is missing or too far from now")
    key = key_of(fixmedins_code)
    if key is None:
        raise AuthenticationFailed(f"no signing key is registered for {fixmedins_code}")
    if not hmac.compare_digest(_hmac(key, *parts), given):
        raise AuthenticationFailed(f"wrong signature for {fixmedins_code}")
    return True
