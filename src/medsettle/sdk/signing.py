"""Signers for `Client(signer=...)`: the gateway signature headers of docs/his-integration.md
("Signed requests"), HMAC-SHA256 with the institution's key, a fresh timestamp and nonce per
message. Any callable `(body, infno) -> headers` works, so other schemes plug in the same way."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Literal

from medsettle.adapters.his.signing import api_headers, tif_headers


def hmac_signer(key: str, fixmedins_code: str, style: Literal["tif", "api"] = "tif",
                clock: Callable[[], float] = time.time) -> Callable[[bytes, str], dict[str, str]]:
    """A signer of the national TIF style (`x-tif-*`) or the Hunan style (`_api_*`)."""
    def sign(body: bytes, infno: str) -> dict[str, str]:
        stamp = int(clock())
        if style == "tif":
            return tif_headers(key, fixmedins_code, stamp, secrets.token_hex(16), body)
        return api_headers(key, fixmedins_code, infno, stamp, body)
    return sign
