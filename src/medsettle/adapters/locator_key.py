"""The locator key: how a treating province asks the hub where an ID number is insured without
the hub, or anyone who reads its database, being able to test guessed numbers.

An ID number (身份证号) has little entropy (region, birth date, a sequence and a check
character), so an unkeyed hash of it can be reversed by trying every number. The hub's locator
therefore holds HMAC-SHA256 of each number under a key every province node shares and the hub
never holds: `MEDSETTLE_LOCATOR_KEY`, 32 bytes as 64 hex characters, the same at every province.
Without it a node uses `DEV_ONLY_INSECURE_LOCATOR_KEY` (public, for tests and the demo) and
says so in its log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os

from medsettle.adapters.db.crypto import key_from_hex

logger = logging.getLogger(__name__)

ENV_VAR = "MEDSETTLE_LOCATOR_KEY"
#: Public, so it protects nothing: tests and the demo only.
DEV_ONLY_INSECURE_LOCATOR_KEY = "1c" * 32


class LocatorKeyError(ValueError):
    """The locator key is malformed."""


def _key_of(text: str) -> bytes:
    master = key_from_hex(text, ENV_VAR, LocatorKeyError)
    return hmac.new(master, b"medsettle locator", hashlib.sha256).digest()


_key = _key_of(os.environ.get(ENV_VAR) or DEV_ONLY_INSECURE_LOCATOR_KEY)


def configure_from_environment() -> None:
    """Use MEDSETTLE_LOCATOR_KEY (the dev key, with a warning, when it is unset)."""
    global _key
    text = os.environ.get(ENV_VAR) or DEV_ONLY_INSECURE_LOCATOR_KEY
    _key = _key_of(text)
    if text.strip().lower() == DEV_ONLY_INSECURE_LOCATOR_KEY:
        logger.warning("the hub's locator is keyed with DEV_ONLY_INSECURE_LOCATOR_KEY: set %s to "
                       "the federation's shared key before real data is published", ENV_VAR)


def locator_hash(certno: str) -> str:
    """The locator's key of an ID number (upper case, as ID numbers are compared)."""
    return hmac.new(_key, certno.strip().upper().encode(), hashlib.sha256).hexdigest()
