"""Identifiers derived from a message, the same on every retry of it.

A treating node names what a message creates (a visit, a settlement, its cancel) from the
institution and the message's msgid, not from the clock or a random draw: a retry of the message
then asks the insured node for exactly the same thing, and the insured node recognises it as a
repeat (it answers from its message log) instead of a new request with a reused msgid.
"""

from __future__ import annotations

import hashlib

#: Characters of a MedSettle id: region(6) + digest(24) = 30, the width of the national ids.
ID_LENGTH = 30


def _digits(count: int, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"{int(digest, 16) % 10**count:0{count}d}"


def derived_id(region: str, *parts: str) -> str:
    """A 30-character id: the region code, then 24 digits of the SHA-256 of `parts`."""
    return region + _digits(ID_LENGTH - len(region), *parts)


def reversal_msgid(region: str, fixmedins_code: str, omsgid: str) -> str:
    """The msgid of the treating node's own reversal (冲正) of message `omsgid`: "R" and 29
    digits, unique per original message and the same on every attempt."""
    return "R" + _digits(29, "reversal", region, fixmedins_code, omsgid)
