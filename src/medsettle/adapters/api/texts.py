"""Free-text fields of the operators' JSON routes (a reason, a note): a string or absent, read
stripped. `str(doc.get(...))` turned a JSON null into the reason "None" and let "   " pass
where the console demands a real reason."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medsettle.core.errors import InvalidInput

#: The longest reason or note kept (the console's forms take no more either).
MOST_CHARACTERS = 500


def free_text(doc: Mapping[str, Any], name: str) -> str:
    """Field `name`, stripped: "" when absent or null (the use case says whether it must be
    given); InvalidInput naming it when it is not a string or is too long."""
    value = doc.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(name, f"must be a string, not {type(value).__name__}")
    if len(value) > MOST_CHARACTERS:
        raise InvalidInput(name, f"at most {MOST_CHARACTERS} characters")
    return value.strip()
