"""Personal data shown or logged only as much as needed: masked ID numbers and names, and a
pseudonym (a hash) for log lines that must say whose data was viewed without naming them.
"""

from __future__ import annotations

import hashlib


def mask_id(certno: str | None) -> str:
    """An ID number with its first 4 and last 4 characters: 5101**********0019."""
    if not certno:
        return ""
    if len(certno) <= 8:
        return certno[:1] + "*" * (len(certno) - 1)
    return certno[:4] + "*" * (len(certno) - 8) + certno[-4:]


def mask_name(name: str | None) -> str:
    """A name with only its first character: 王*, 欧阳** (one star per hidden character)."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def pseudonym(psn_no: str) -> str:
    """A stable, short hash of a person number for log lines (never the number itself)."""
    return hashlib.sha256(f"medsettle-person:{psn_no}".encode()).hexdigest()[:16]
