"""How long loading policy parameters takes, beside a bare YAML parse of the same files.

Goal (issue 15): `medsettle calc` of one case in under 50 ms in process, and a node starts
without parsing every region's files. Baseline, measured in the same run: the bare parse of the
64 shipped policy files with PyYAML's pure-Python safe loader (what every `calc` paid before,
before validating anything). docs/benchmarks.md records the ratios, as this machine is noisy.

    .venv/bin/python bench/bench_policy_load.py [--repeat 30] [--processes 10]

Every in-process figure is the median of `--repeat` cold runs: the per-process cache of parsed
sets is emptied before each. The whole-process figures start a new interpreter each time.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import yaml

from medsettle.adapters import files
from medsettle.adapters.files import examples_dir, load_policy_book, policies_dir, read_document
from medsettle.core.cases import parse_case, run_case
from medsettle.core.explain import statement
from medsettle.core.policy import PolicyBook, parse_parameter_set
from medsettle.core.policy_view import provenance_notice

CASE = examples_dir() / "E5.yaml"  # names a shipped region (320100): one region's files are read
MEDSETTLE = str(Path(sys.executable).parent / "medsettle")


def median_ms(work: Callable[[], object], repeat: int) -> float:
    """Median wall time of `work` in milliseconds, each run cold (parsed-set cache emptied)."""
    times = []
    for _ in range(repeat):
        files._parsed.clear()
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bare_parse(paths: list[Path], loader: type[yaml.SafeLoader]) -> None:
    """Only YAML: read and parse each file, no validation."""
    for path in paths:
        yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


def eager_pure_python() -> PolicyBook:
    """What loading cost before: every file parsed with the pure-Python loader and validated."""
    base = policies_dir()
    return PolicyBook(parse_parameter_set(yaml.safe_load(p.read_text(encoding="utf-8")),
                                          str(p.relative_to(base)))
                      for p in sorted(base.rglob("*.yaml")))


def calc_in_process() -> str:
    """`medsettle calc E5.yaml` without the interpreter: book, case, settlement, statement."""
    book = load_policy_book()
    case = parse_case(read_document(CASE), CASE.name, book)
    outcome = run_case(case)
    return provenance_notice(case.policy) + statement(outcome.settlement)


def node_start() -> PolicyBook:
    """What a province node does with policies when it starts: make its book (no parsing)."""
    return load_policy_book()


def node_first_settlement() -> object:
    """A node's book answering its first question for one region (one region's files read)."""
    return load_policy_book().find("440100", "employee", date(2025, 6, 1))


def whole_process_ms(argv: list[str], runs: int) -> float:
    """Median wall time of a new process running `argv`, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    """Measure, print a table and the JSON figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--processes", type=int, default=10)
    args = parser.parse_args()
    paths = sorted(policies_dir().rglob("*.yaml"))
    calc_paths = sorted((policies_dir() / "320100" / "employee").glob("*.yaml"))
    c_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    baseline = median_ms(lambda: bare_parse(paths, yaml.SafeLoader), args.repeat)
    rows = {
        "bare YAML parse, 64 files, pure-Python safe_load (baseline)": baseline,
        "bare YAML parse, 64 files, libyaml CSafeLoader": median_ms(
            lambda: bare_parse(paths, c_loader), args.repeat),
        "before: every set parsed (pure Python) and validated": median_ms(
            eager_pure_python, args.repeat),
        "now: every set parsed (libyaml) and validated, book.sets()": median_ms(
            lambda: load_policy_book().sets(), args.repeat),
        "now: node start, the book made (no file parsed)": median_ms(node_start, args.repeat),
        "now: a node's first lookup of one region (its files parsed)": median_ms(
            node_first_settlement, args.repeat),
        "now: calc E5.yaml in process (one region read, settled, statement)": median_ms(
            calc_in_process, args.repeat),
        "bare YAML parse of the file calc reads, pure-Python safe_load": median_ms(
            lambda: bare_parse(calc_paths, yaml.SafeLoader), args.repeat),
    }
    pure_script = ("import pathlib, yaml; [yaml.safe_load(p.read_text(encoding='utf-8')) for p in "
                   f"sorted(pathlib.Path({str(policies_dir())!r}).rglob('*.yaml'))]")
    wall = {
        "process: python -c 'import yaml; safe_load 64 files' (baseline)": whole_process_ms(
            [sys.executable, "-c", pure_script], args.processes),
        "process: medsettle calc E5.yaml": whole_process_ms(
            [MEDSETTLE, "calc", str(CASE)], args.processes),
        "process: python -c 'import medsettle.adapters.cli' (imports only)": whole_process_ms(
            [sys.executable, "-c", "import medsettle.adapters.cli"], args.processes),
    }
    width = max(map(len, [*rows, *wall]))
    for label, ms in rows.items():
        print(f"{label:<{width}}  {ms:9.2f} ms  ×{ms / baseline:6.3f} of baseline")
    wall_base = next(iter(wall.values()))
    for label, ms in wall.items():
        print(f"{label:<{width}}  {ms:9.1f} ms  ×{ms / wall_base:6.3f} of baseline")
    print(json.dumps({"in_process_ms": rows, "whole_process_ms": wall,
                      "machine": {"python": platform.python_version(),
                                  "processor": platform.processor() or platform.machine()},
                      "files": len(paths), "repeat": args.repeat}, ensure_ascii=False))


if __name__ == "__main__":
    main()
