"""The locator key: every province computes the same keyed hash of an ID number; without the
key the hash cannot be recomputed, so guessing numbers against the hub's table fails."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from medsettle.adapters import locator_key

NUMBER = "51010519800101123X"


@pytest.fixture(autouse=True)
def restore_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield
    monkeypatch.delenv(locator_key.ENV_VAR, raising=False)
    locator_key.configure_from_environment()


def test_the_hash_is_keyed_and_the_same_for_every_node_with_the_key(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(locator_key.ENV_VAR, "ab" * 32)
    locator_key.configure_from_environment()
    one = locator_key.locator_hash(NUMBER)
    assert locator_key.locator_hash(NUMBER.lower()) == one  # a lower-case x is the same number
    assert one != hashlib.sha256(NUMBER.encode()).hexdigest()
    monkeypatch.setenv(locator_key.ENV_VAR, "cd" * 32)
    locator_key.configure_from_environment()
    assert locator_key.locator_hash(NUMBER) != one


@pytest.mark.parametrize("value", ["xyz", "ab" * 16])
def test_a_malformed_key_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                         value: str) -> None:
    monkeypatch.setenv(locator_key.ENV_VAR, value)
    with pytest.raises(locator_key.LocatorKeyError, match=locator_key.ENV_VAR):
        locator_key.configure_from_environment()


def test_the_dev_key_is_announced(monkeypatch: pytest.MonkeyPatch,
                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv(locator_key.ENV_VAR, raising=False)
    locator_key.configure_from_environment()
    assert "DEV_ONLY_INSECURE_LOCATOR_KEY" in caplog.text
