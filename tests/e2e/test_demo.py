"""A small `medsettle demo --exit`, as a script or CI would run it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from medsettle.adapters.launcher import MEDSETTLE


def test_a_small_demo_settles_a_day_and_exits_cleanly(tmp_path: Path) -> None:
    run = subprocess.run([MEDSETTLE, "demo", "--provinces", "3", "--persons", "200",
                          "--institutions", "8", "--visits", "40", "--exit",
                          "--workdir", str(tmp_path / "demo")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = [line for line in run.stdout.splitlines() if line.startswith("│ all")]
    assert lines, run.stdout
    cells = [c.strip() for c in lines[0].strip("│ ").split("│")]
    visits, settled = int(cells[1]), int(cells[2])
    assert visits == 40 and settled >= 30
    assert "/console" in run.stdout and "hub-ops" in run.stdout
    assert "statements drafted" in run.stdout
    assert "3/3 province ledgers verify intact" in run.stdout
    assert "message log verifies intact" in run.stdout
