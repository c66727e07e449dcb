"""The deterministic simulation of the federation (docs/simulation.md): the same seed plays the
same run bit for bit, a few hundred seeds keep every invariant under faults and crashes, and a
deliberate bug is caught with its seed and a replay command in the message."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from medsettle.adapters.cli import app
from medsettle.adapters.db.store import Tx
from medsettle.adapters.files import load_policy_book
from medsettle.adapters.simulation.hospitals import Habits
from medsettle.adapters.simulation.network import Faults
from medsettle.adapters.simulation.run import Settings, SimulationFailed, simulate
from medsettle.adapters.simulation.world import WorldSpec, pick_provinces
from medsettle.core.errors import InvalidInput
from medsettle.services import treating_settle

BOOK = load_policy_book()
TINY = WorldSpec(pick_provinces(2), persons=16, institutions=2)
SMALL = WorldSpec(pick_provinces(3))


def test_the_same_seed_plays_the_same_run_bit_for_bit() -> None:
    first = simulate(Settings(seed=7, world=SMALL, visits=10), BOOK)
    again = simulate(Settings(seed=7, world=SMALL, visits=10), BOOK)
    other = simulate(Settings(seed=8, world=SMALL, visits=10), BOOK)
    assert first == again
    assert first.digest != other.digest
    assert first.visits["settled"] + first.visits["cancelled"] > 0


def test_two_processes_with_other_hash_seeds_play_the_same_run() -> None:
    """Nothing in a run depends on the order of a set or a dict of the process."""
    command = [str(Path(sys.executable).parent / "medsettle"), "simulate", "--seed", "21",
               "--provinces", "2", "--visits", "4", "--days", "1", "--persons", "16"]
    lines = [subprocess.run(command, capture_output=True, text=True, check=True, timeout=300,
                            env=os.environ | {"PYTHONHASHSEED": hash_seed}).stdout
             for hash_seed in ("1", "2")]
    assert "invariants held; digest " in lines[0]
    assert lines[0].split("; digest ")[1].split(";")[0] == \
        lines[1].split("; digest ")[1].split(";")[0]


def test_two_hundred_seeds_keep_every_invariant_under_faults() -> None:
    outcomes: Counter[str] = Counter()
    crashes = messages = 0
    for seed in range(200):
        result = simulate(Settings(seed=seed, world=TINY, visits=3, days=1), BOOK)
        outcomes.update(result.visits)
        crashes += result.crashes
        messages += result.messages
    # the faults were met, and visits still ended every way a visit can end
    assert crashes > 20 and messages > 15_000
    assert outcomes["settled"] > 150 and outcomes["cancelled"] > 10
    assert outcomes["reversed"] + outcomes["abandoned"] > 5


def test_longer_runs_over_a_month_end_keep_every_invariant() -> None:
    """Three provinces, sixty visits over three days across a month's end (clearing, then
    reconciliation of the days around it): the tiny runs above are too short to reach what a
    hub crash leaves for reconciliation after a clearing (seed 4 found the simulated hub
    indexing rows without their message-log lines)."""
    outcomes: Counter[str] = Counter()
    for seed in (4, 11, 23, 37):
        result = simulate(Settings(seed=seed, world=SMALL, visits=60, days=3), BOOK)
        outcomes.update(result.visits)
        assert result.clearings and result.reconciliations >= 3
    assert outcomes["settled"] > 120 and outcomes["cancelled"] > 5


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**9), drop=st.sampled_from([0.0, 0.05, 0.15]),
       crash=st.sampled_from([0.0, 0.02, 0.06]), delay=st.sampled_from([0.0, 0.1]),
       retries=st.integers(0, 3), cancel_share=st.sampled_from([0.0, 0.5]))
def test_any_mix_of_faults_and_hospital_habits_keeps_every_invariant(
        seed: int, drop: float, crash: float, delay: float, retries: int,
        cancel_share: float) -> None:
    faults = Faults(drop=drop, lose_reply=drop, delay=delay, duplicate=delay, crash=crash)
    habits = Habits(retries=retries, cancel_share=cancel_share)
    simulate(Settings(seed=seed, world=TINY, visits=4, days=1, faults=faults, habits=habits),
             BOOK)


def test_a_cancel_that_forgets_the_accumulators_is_caught_with_its_seed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = Tx.apply_delta

    def forgetful(self: Tx, psn_no: str, year: str, delta: Any, sign: int = 1) -> None:
        if sign == 1:  # the bug: a cancel leaves the accumulators as they were
            real(self, psn_no, year, delta, sign)
    monkeypatch.setattr(Tx, "apply_delta", forgetful)
    everything_cancelled = Habits(cancel_share=1.0)
    with pytest.raises(SimulationFailed) as failed:
        simulate(Settings(seed=5, world=TINY, visits=3, days=1, faults=Faults.none(),
                          habits=everything_cancelled), BOOK)
    message = str(failed.value)
    assert message.startswith("simulation seed 5 broke an invariant")
    assert "accumulator" in message and "deltas of its settlements in force" in message
    assert "replay: medsettle simulate --seed 5 " in message
    assert "trace (last lines):" in message


def test_a_treating_place_that_books_nothing_is_caught_at_the_step(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(treating_settle, "book_settlement", lambda tx, record, now: None)
    with pytest.raises(SimulationFailed) as failed:
        simulate(Settings(seed=13, world=TINY, visits=3, days=1, faults=Faults.none()), BOOK)
    message = str(failed.value)
    assert message.startswith("simulation seed 13 broke an invariant after ")
    assert "ledger and settlement rows disagree" in message


def test_faults_are_read_by_name_and_a_bad_one_is_named() -> None:
    assert Faults.parse("none") == Faults.none()
    assert Faults.parse("default") == Faults.default()
    mixed = Faults.parse("default,crash=0.2")
    assert mixed.crash == 0.2 and mixed.drop == Faults.default().drop
    assert Faults.parse(mixed.describe()) == mixed
    with pytest.raises(InvalidInput, match="--faults: unknown fault 'jitter'"):
        Faults.parse("jitter=0.1")
    with pytest.raises(InvalidInput, match="--faults: drop=2 is out of range"):
        Faults.parse("drop=2")
    for not_a_number in ("drop=nan", "timeout=inf"):  # NaN passed every comparison
        with pytest.raises(InvalidInput, match="is out of range"):
            Faults.parse(not_a_number)


def test_the_command_prints_one_line_and_a_bad_option_one_error() -> None:
    runner = CliRunner()
    before = logging.root.manager.disable  # this module's tests run silenced (conftest.py)
    done = runner.invoke(app, ["simulate", "--seed", "3", "--provinces", "2", "--visits", "3",
                               "--days", "1", "--persons", "16"])
    assert done.exit_code == 0, done.output
    line = done.stdout.strip()
    assert "\n" not in line
    assert line.startswith("seed 3: 3 visits") and "invariants held; digest " in line
    bad = runner.invoke(app, ["simulate", "--faults", "crash=2"])
    assert bad.exit_code == 2
    assert "error: --faults: crash=2 is out of range" in bad.output
    assert logging.root.manager.disable == before  # logging as the caller had it
