"""What a conformance run found: scenarios of steps, each step's failures as (field, rule)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Failure:
    """One broken rule: the field it is about (a national path), the rule, and what was seen."""

    field: str
    rule: str
    seen: str = ""

    def text(self) -> str:
        """One line: `field: rule (seen …)`."""
        return f"{self.field}: {self.rule}" + (f" (seen: {self.seen})" if self.seen else "")


@dataclass
class Step:
    """One message of a scenario: what was sent, what came back, and what was wrong."""

    name: str
    infno: str = ""
    msgid: str = ""
    request: dict[str, Any] | None = None
    answer: dict[str, Any] | None = None
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures

    def expect(self, ok: bool, field_: str, rule: str, seen: object = "") -> bool:
        """Record a failure unless `ok`; returns `ok`."""
        if not ok:
            self.failures.append(Failure(field_, rule, "" if seen == "" else repr(seen)))
        return ok


@dataclass
class ScenarioResult:
    """A scenario's steps; `error` is why it stopped early, if it did."""

    name: str
    title: str
    steps: list[Step] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error is None and all(s.passed for s in self.steps)

    def failures(self) -> list[tuple[Step, Failure]]:
        """Every failure with its step."""
        return [(s, f) for s in self.steps for f in s.failures]


@dataclass
class Run:
    """A whole conformance run."""

    mode: str  # "platform" or "his"
    target: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.scenarios)

    def counts(self) -> tuple[int, int]:
        """(scenarios passed, scenarios run)."""
        return sum(s.passed for s in self.scenarios), len(self.scenarios)
