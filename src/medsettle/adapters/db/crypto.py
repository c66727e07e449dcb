"""Personal data encrypted at rest (docs/security.md): ID numbers (身份证号) and names.

A province keeps each person's ID number and name, and each treated visit's snapshot of the
person, sealed with AES-256-GCM (the `cryptography` library): `v1:` and the URL-safe base64 of
a random 12-byte nonce, the ciphertext and its tag. A lookup by ID number goes through a keyed
hash column (`persons.certno_hmac`, HMAC-SHA256), so the database never needs the number in the
clear, and someone who reads the database cannot test guessed numbers against it without the
key.

The key is the node's: 32 bytes as 64 hex characters in `MEDSETTLE_DATA_KEY` (read once at start,
`configure_from_environment`). Without it the node runs on `DEV_ONLY_INSECURE_DATA_KEY`, a fixed
key in this source file, says so loudly in its log, and is fit only for tests and the demo. The
encryption and the lookup keys are derived from it (HMAC-SHA256 with distinct labels), so one
secret serves both without reusing a key for two purposes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Text, TypeDecorator, inspect, text

from medsettle.core.errors import InvalidInput

logger = logging.getLogger(__name__)

ENV_VAR = "MEDSETTLE_DATA_KEY"
#: The key used when the node has none configured: public, so it protects nothing. Tests and
#: the demo only; a node on it logs a warning at start.
DEV_ONLY_INSECURE_DATA_KEY = "de" * 32
PREFIX = "v1:"


class DataKeyError(ValueError):
    """The data key is malformed, or sealed data cannot be opened with it."""


@dataclass(frozen=True, slots=True)
class DataKey:
    """The keys derived from a node's data key: one encrypts, one makes lookup hashes."""

    seal: bytes
    lookup: bytes
    dev: bool

    @classmethod
    def from_hex(cls, text: str) -> DataKey:
        """The keys of a 64-hex-character data key."""
        master = key_from_hex(text, ENV_VAR, DataKeyError)
        return cls(_derive(master, b"medsettle personal data: seal"),
                   _derive(master, b"medsettle personal data: lookup"),
                   text.strip().lower() == DEV_ONLY_INSECURE_DATA_KEY)


def key_from_hex(text: str, setting: str, error: type[ValueError]) -> bytes:
    """The 32 bytes of a key written as 64 hex characters, or `error` naming the `setting`."""
    try:
        master = bytes.fromhex(text.strip())
    except ValueError:
        raise error(f"{setting} must be 64 hex characters (32 bytes)") from None
    if len(master) != 32:
        raise error(f"{setting} must be 64 hex characters (32 bytes), not {len(master) * 2}")
    return master


def _derive(master: bytes, label: bytes) -> bytes:
    return hmac.new(master, label, hashlib.sha256).digest()


_key = DataKey.from_hex(os.environ.get(ENV_VAR) or DEV_ONLY_INSECURE_DATA_KEY)  # every process


def configure(hex_key: str | None) -> DataKey:
    """Use `hex_key` (None: the dev key, with a warning) for everything sealed from now on."""
    global _key
    _key = DataKey.from_hex(hex_key or DEV_ONLY_INSECURE_DATA_KEY)
    if _key.dev:
        logger.warning("personal data is sealed with DEV_ONLY_INSECURE_DATA_KEY: set %s to the "
                       "node's own key before real data is loaded", ENV_VAR)
    return _key


def configure_from_environment() -> DataKey:
    """The node's data key from MEDSETTLE_DATA_KEY (the dev key when it is unset)."""
    return configure(os.environ.get(ENV_VAR) or None)


def seal(text: str) -> str:
    """`text` encrypted with the node's key and a fresh nonce."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key.seal).encrypt(nonce, text.encode(), None)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(value: str) -> str:
    """The text of a sealed value, or DataKeyError (not sealed, or sealed with another key)."""
    if not value.startswith(PREFIX):
        raise DataKeyError("personal data is stored unsealed: run the database's migrations")
    raw = base64.urlsafe_b64decode(value[len(PREFIX):])
    try:
        return AESGCM(_key.seal).decrypt(raw[:12], raw[12:], None).decode()
    except InvalidTag:
        raise DataKeyError(f"personal data cannot be opened with this node's key ({ENV_VAR})"
                           ) from None


#: Columns a province database holds sealed, to find a value the node's key must open.
SEALED_SAMPLES = (("persons", "certno"), ("institutions", "api_key"), ("institutions", "sm4_key"))


def check_key_opens(connection: Connection) -> None:
    """InvalidInput naming MEDSETTLE_DATA_KEY unless the node's key opens what the database
    already holds sealed. A node started with another key (or none: the dev key) would write
    rows no later start could read, and its migrations would seal the rest under the wrong key;
    so it refuses to start instead. A database with nothing sealed yet passes, unless it holds
    personal data in the clear and the node runs on the dev key: its migrations would seal
    that data under a key anyone can read in this file, and every later start would need it."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    samples = [(table, column) for table, column in SEALED_SAMPLES  # an older schema may lack
               if table in tables and column in {c["name"] for c in  # the table or the column
                                                 inspector.get_columns(table)}]
    for table, column in samples:
        sample = connection.execute(text(  # names from SEALED_SAMPLES, not from input
            f"SELECT {column} FROM {table} WHERE {column} LIKE :sealed LIMIT 1"),
            {"sealed": PREFIX + "%"}).scalar()
        if sample is None:
            continue
        try:
            unseal(str(sample))
        except DataKeyError:
            raise InvalidInput(ENV_VAR, "does not open the personal data this database holds "
                                        "sealed: start the node with the key its data was "
                                        "sealed with") from None
        return
    if _key.dev and any(_holds_clear(connection, table, column) for table, column in samples):
        raise InvalidInput(ENV_VAR, "is not set, and this database holds personal data in the "
                                    "clear that its migrations are about to seal: set it to "
                                    "the node's own key first (the development key is public)")


def _holds_clear(connection: Connection, table: str, column: str) -> bool:
    """Whether a column of SEALED_SAMPLES holds a value not sealed yet."""
    return connection.execute(text(  # names from SEALED_SAMPLES, not from input
        f"SELECT 1 FROM {table} WHERE {column} NOT LIKE :sealed LIMIT 1"),
        {"sealed": PREFIX + "%"}).scalar() is not None


def lookup_hash(certno: str) -> str:
    """The keyed hash an ID number is found by (upper case, as ID numbers are compared)."""
    return hmac.new(_key.lookup, certno.strip().upper().encode(), hashlib.sha256).hexdigest()


def certno_lookup_default(context: Any) -> str:
    """Column default of persons.certno_hmac: the lookup hash of the row's certno."""
    return lookup_hash(str(context.get_current_parameters()["certno"]))


class Sealed(TypeDecorator[str]):
    """A text column stored sealed and read back in the clear."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else unseal(value)


class SealedJSON(TypeDecorator[Any]):
    """A small JSON document (a person's snapshot) stored sealed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else seal(json.dumps(value, ensure_ascii=False,
                                                          sort_keys=True, default=str))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(unseal(value))
