"""Keys issued to an institution's HIS (`medsettle institution add` / `keys`, and the console's
institutions page): the credential columns the node keeps, and the lines that hand the keys to
the hospital, shown once."""

from __future__ import annotations

import secrets
from typing import Any

from medsettle.adapters.his import guomi
from medsettle.adapters.his.signing import SCHEMES
from medsettle.core.errors import InvalidInput
from medsettle.services.ports import Database
from medsettle.services.settings import HIS_SM2_KEY, kept


def node_key(store: Database) -> tuple[str, str]:
    """The node's own SM2 key pair (private, public), which signs its answers to SM2-signing
    HIS: made on first use and kept in the node's database."""
    private, _, public = kept(store, HIS_SM2_KEY, lambda: ":".join(guomi.new_sm2_key())
                              ).partition(":")
    return private, public


def issue(signing: str, sm2_public_key: str | None,
          node_public_key: str = "") -> tuple[dict[str, Any], list[str]]:
    """The credential columns of an institution signing with `signing`, and the lines that
    hand its keys to the hospital (shown once), with the node's public key that verifies its
    answers."""
    if signing not in SCHEMES:
        raise InvalidInput("--signing", f"must be sm2 or hmac, not {signing!r}")
    if signing == "hmac":
        if sm2_public_key is not None:
            raise InvalidInput("--sm2-public-key", "only with --signing sm2")
        key = secrets.token_hex(32)
        return ({"signing": "hmac", "api_key": key, "sm2_public_key": None, "sm4_key": None},
                ["signing: HMAC-SHA256 gateway headers (x-tif-* or _api_*)",
                 f"gateway key: {key}"])
    sm4_key = guomi.new_sm4_key()
    if sm2_public_key is None:
        private, public = guomi.new_sm2_key()
        lines = [f"SM2 private key (the HIS signs with it; not kept here): {private}",
                 f"SM2 public key (kept here): {public}"]
    else:
        public = guomi.public_key(sm2_public_key, "--sm2-public-key")
        lines = [f"SM2 public key (registered; the HIS keeps its private key): {public}"]
    return ({"signing": "sm2", "api_key": None, "sm2_public_key": public, "sm4_key": sm4_key},
            ["signing: SM2 over SM3 (cainfo, signtype SM2); payload: SM4 (encType SM4)",
             *lines, f"SM4 key (encrypts encData): {sm4_key}",
             *([f"platform SM2 public key (verifies the answers' cainfo): {node_public_key}"]
               if node_public_key else [])])
