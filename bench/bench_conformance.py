"""How long the conformance kit's full scenario set takes against a local sandbox node.

Starts `medsettle sandbox` as a process on a fresh SQLite database, then, in the same run:
- the kit: every `--platform` scenario, `--rounds` times (each round is the whole set);
- the baseline: as many plain 9001 sign-ins, one after another, as the kit sent messages;
and prints seconds per round, messages per round, and the ratio of the kit's time per message
to a sign-in's. `--his` also times the `--his` mode against the sample HIS (same sandbox data,
the kit's own in-process platform).

    .venv/bin/python bench/bench_conformance.py --rounds 3 [--his]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import machine

from medsettle.adapters import sandbox_data as sd
from medsettle.adapters.cli_conformance import run_against_his, run_platform
from medsettle.adapters.kit.config import KitConfig
from medsettle.adapters.kit.his import ORDERS
from medsettle.adapters.kit.platform import SCENARIOS
from medsettle.adapters.kit.recorder import serve_in_thread
from medsettle.adapters.kit.sample_his import SampleHis
from medsettle.adapters.launcher import MEDSETTLE, free_port
from medsettle.sdk import Client


def start_sandbox(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = open(folder / "sandbox.log", "wb")
    proc = subprocess.Popen([MEDSETTLE, "sandbox", "--port", str(port), "--db",
                             f"sqlite:///{folder / 'sandbox.db'}"], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the sandbox did not start")


def sign_ins(url: str, count: int) -> float:
    """Seconds for `count` sequential 9001 sign-ins through the SDK."""
    his = Client(url, sd.HOSPITAL, sd.HOSPITAL_NAME)
    started = time.perf_counter()
    for _ in range(count):
        his.sign_in()
    seconds = time.perf_counter() - started
    his.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--his", action="store_true", help="also time the --his mode")
    args = parser.parse_args()
    import logging
    logging.getLogger("medsettle").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_sandbox(Path(tmp))
        try:
            kit, base, messages = [], [], 0
            for _ in range(args.rounds):
                run = run_platform(url, KitConfig(), list(SCENARIOS))
                if not run.passed:
                    raise SystemExit("a scenario failed against the sandbox: see the kit")
                messages = sum(len(s.steps) for s in run.scenarios)
                kit.append(run.seconds)
                base.append(sign_ins(url, messages))
            his_times = []
            if args.his:
                served = serve_in_thread(SampleHis().app())
                for _ in range(args.rounds):
                    his_times.append(run_against_his(served.url, KitConfig(),
                                                     list(ORDERS)).seconds)
                served.stop()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(20)
    k, b = statistics.median(kit), statistics.median(base)
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.1f}")
    print(f"--platform, full set of {len(SCENARIOS)} scenarios, {messages} messages: "
          f"median {k:.2f} s over {args.rounds} rounds ({', '.join(f'{x:.2f}' for x in kit)})")
    print(f"baseline: {messages} plain 9001 sign-ins: median {b:.2f} s "
          f"({', '.join(f'{x:.2f}' for x in base)})")
    print(f"ratio kit ÷ baseline: {k / b:.2f} (per message: {k / messages * 1000:.1f} ms vs "
          f"{b / messages * 1000:.1f} ms)")
    if his_times:
        print(f"--his, full set of {len(ORDERS)} scenarios against the sample HIS: median "
              f"{statistics.median(his_times):.2f} s ({', '.join(f'{x:.2f}' for x in his_times)})")


if __name__ == "__main__":
    main()
