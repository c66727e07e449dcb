"""One real federation per backend (SQLite files, PostgreSQL databases) for the e2e module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e import fixtures as f
from tests.e2e.harness import Federation, running


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def federation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Federation]:
    with running(request.param, tmp_path_factory.mktemp(f"federation-{request.param}"), f.ROWS,
                 call_timeout=1.5, his_timeout=2.0, anchor_seconds=1.0) as fed:
        yield fed
