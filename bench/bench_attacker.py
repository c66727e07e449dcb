"""The property-based attacker (tests/e2e/test_attacker.py) with many more examples.

Runs the same test, on SQLite and PostgreSQL, with `--examples` sequences of up to `--steps`
requests each, and prints how many requests were tried and how long it took.

    .venv/bin/python bench/bench_attacker.py [--examples 500] [--steps 10] [--backend sqlite]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from scratch import machine

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    env = {**os.environ, "MEDSETTLE_ATTACK_EXAMPLES": str(args.examples),
           "MEDSETTLE_ATTACK_STEPS": str(args.steps)}
    env.setdefault("MEDSETTLE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               "tests/e2e/test_attacker.py", "--hypothesis-show-statistics"]
    if args.backend != "both":
        command += ["-k", args.backend]
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, check=False)
    print(f"{args.examples} sequences of up to {args.steps} requests per backend "
          f"({args.backend}): exit {done.returncode} in {time.monotonic() - started:.0f} s "
          f"on {machine()}")
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
