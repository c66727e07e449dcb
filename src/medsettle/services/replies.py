"""Small Reply implementations (services.ports.Reply) the use cases pass to each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medsettle.services.ports import Reply, UnitOfWork


class Unrecorded:
    """A Reply that keeps nothing: a use case run outside a message (background work, tests)."""

    def record(self, tx: UnitOfWork, result: Any) -> None:
        """Nothing to keep."""

    def check(self, tx: UnitOfWork) -> None:
        """Nothing was kept, so nothing was answered."""


@dataclass(frozen=True)
class AnswerWith:
    """A Reply that records `result` whatever the inner use case reports: a reversal (2601)
    answers {"reversed": true} for the cancel it runs."""

    inner: Reply
    result: Any

    def record(self, tx: UnitOfWork, _: Any) -> None:
        """Record the fixed result instead."""
        self.inner.record(tx, self.result)

    def check(self, tx: UnitOfWork) -> None:
        """As the inner reply."""
        self.inner.check(tx)
