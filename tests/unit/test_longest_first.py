"""The files the suite runs first (tests/conftest.py) exist: a renamed one would silently fall
back to its place in the collection, and one worker would again finish it alone."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LONGEST_FIRST

ROOT = Path(__file__).resolve().parents[2]


def test_every_file_run_first_exists_once() -> None:
    assert [p for p in LONGEST_FIRST if not (ROOT / p).is_file()] == []
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
