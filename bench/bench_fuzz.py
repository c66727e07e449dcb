"""Fuzz the nodes with many more cases than the suite: hypothesis-generated national envelopes
against the HIS gateway (tests/api/test_his_fuzz.py) and schemathesis against the province
node's and the hub's OpenAPI (tests/api/test_openapi_fuzz.py), `--cases` each.

Prints one line per target: the cases sent and how they were answered (a refusal code, an HTTP
status, "ok"). Any server error, `[internal]` answer or refusal not naming its field fails the
run with hypothesis' shrunk example.

    .venv/bin/python bench/bench_fuzz.py [--cases 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scratch import machine

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/api/test_his_fuzz.py",
         "tests/api/test_openapi_fuzz.py::test_schemathesis_finds_no_server_error_at_the_province_node",
         "tests/api/test_openapi_fuzz.py::test_schemathesis_finds_no_server_error_at_the_hub"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "fuzz.jsonl"
        env = {**os.environ, "MEDSETTLE_FUZZ_CASES": str(args.cases),
               "MEDSETTLE_FUZZ_REPORT": str(report)}
        failed = 0
        for test in TESTS:
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                   "-p", "no:logging", test], cwd=ROOT, env=env, check=False)
            failed |= done.returncode
            print(f"{test}: exit {done.returncode} in {time.monotonic() - started:.0f} s",
                  flush=True)
        for line in report.read_text(encoding="utf-8").splitlines() if report.exists() else []:
            doc = json.loads(line)
            answers = ", ".join(f"{k} {v}" for k, v in sorted(doc["answers"].items(),
                                                              key=lambda kv: -kv[1]))
            print(f"{doc['target']}: {doc['cases']} cases, 0 server errors: {answers}")
    print(f"machine: {machine()}")
    sys.exit(failed)


if __name__ == "__main__":
    main()
