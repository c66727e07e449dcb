"""A YAML document may not use aliases: a ~500-byte "billion laughs" upload of nested aliases
was parsed into shared lists, then copied to JSON by propose() (normalized) before any
validation, expanding 4**16 values and exhausting the node's memory. The parser now refuses an
alias before the document is built, naming the document and the anchor's line, and a document
of more than MAX_NODES values."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from medsettle.adapters.files import load_policy_book, parse_document, read_document
from medsettle.core.errors import InvalidInput

MAX_NODES = 100_000  # adapters.files.MAX_NODES


def bomb(levels: int = 16) -> bytes:
    lines = ["id: 440100-resident-2027", "description:", '  a0: &a0 ["x","x","x","x"]']
    lines += [f"  a{i}: &a{i} [*a{i - 1},*a{i - 1},*a{i - 1},*a{i - 1}]"
              for i in range(1, levels + 1)]
    return "\n".join(lines).encode()


def test_an_alias_bomb_is_refused_by_the_parser_at_once() -> None:
    assert len(bomb()) < 700
    started = time.monotonic()
    with pytest.raises(InvalidInput) as refused:
        parse_document(bomb(), "bomb.yaml")
    assert time.monotonic() - started < 1
    assert refused.value.field == "bomb.yaml"
    assert "repeats the value anchored at line" in refused.value.message
    assert "YAML alias" in refused.value.message


@pytest.mark.parametrize("text", [
    "a: &x [1, 2]\nb: *x\n",                    # an alias of a list
    "a: &x {k: 1}\nb:\n  <<: *x\n  j: 2\n",      # a merge key
    "a: &x 1\nb: *x\n",                         # an alias of a scalar
    "a: &x [*x]\n",                             # an anchor holding itself
])
def test_every_alias_is_refused_naming_the_document(text: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="YAML alias") as refused:
        parse_document(text.encode(), "p.yaml")
    assert refused.value.field == "p.yaml"
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match="YAML alias"):
        read_document(path)


def test_an_anchor_without_alias_and_json_still_load() -> None:
    assert parse_document(b"a: &x 1\nb: [1, 2]\n", "p.yaml") == {"a": 1, "b": [1, 2]}
    assert parse_document(b'{"a": [1, 2]}', "p.json") == {"a": [1, 2]}
    assert parse_document(b"", "p.yaml") is None


def test_a_document_of_too_many_values_is_refused() -> None:
    fits = ("[" + "0," * (MAX_NODES - 2) + "0]").encode()
    assert len(parse_document(fits, "big.yaml")) == MAX_NODES - 1  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match=f"more than {MAX_NODES:,} values"):
        parse_document(("[" + "0," * MAX_NODES + "0]").encode(), "big.yaml")


def test_the_shipped_policies_use_no_alias() -> None:
    assert len(load_policy_book().sets()) == 64


#: The console's upload (parse_document, then propose) in a process that may use 1.5 GB at most:
#: before the fix it ran out of memory (or the time) expanding the aliases.
UPLOAD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))
    from datetime import UTC, datetime
    from medsettle.adapters.files import parse_document
    from medsettle.core.errors import MedSettleError
    from medsettle.core.operators import Operator
    from medsettle.services import policy_sets
    op = Operator(1, "clerk", "province", "440000", datetime.now(UTC))
    try:
        doc = parse_document(sys.stdin.buffer.read(), "bomb.yaml")
        policy_sets.propose(None, doc, "bomb.yaml", op, datetime.now(UTC), "440000")
    except MedSettleError as exc:
        print("REFUSED", exc)
""")


def test_an_alias_bomb_upload_is_refused_without_exhausting_memory() -> None:
    done = subprocess.run([sys.executable, "-c", UPLOAD], input=bomb(), capture_output=True,
                          timeout=60, check=False)
    assert done.stdout.decode().startswith("REFUSED bomb.yaml: repeats the value anchored"), \
        (done.stdout, done.stderr[-400:])
