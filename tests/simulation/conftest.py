"""The simulation tests' shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from medsettle.adapters.observability import silenced


@pytest.fixture(autouse=True)
def quiet() -> Iterator[None]:
    """The nodes log every refusal; a run has hundreds."""
    with silenced():
        yield
