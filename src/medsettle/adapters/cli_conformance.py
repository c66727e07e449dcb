"""`medsettle conformance --platform URL | --his URL`: the integrator's conformance kit
(docs/conformance.md). Exit status 0 when every scenario passed, 1 when one failed, 2 for bad
usage; the reports are written either way."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from medsettle.adapters.cli_errors import check_port, fail
from medsettle.adapters.kit.config import KitConfig, load_config
from medsettle.adapters.kit.his import ORDERS, hook, pull, run_his
from medsettle.adapters.kit.platform import SCENARIOS, run_scenario
from medsettle.adapters.kit.recorder import Recorder
from medsettle.adapters.kit.report import write_reports
from medsettle.adapters.kit.results import Run, ScenarioResult
from medsettle.adapters.observability import quieter
from medsettle.core.errors import MedSettleError
from medsettle.sdk import hmac_signer
from medsettle.sdk.client import Signer

console = Console()


def run_platform(url: str, config: KitConfig, names: list[str],
                 on_done: Callable[[ScenarioResult], None] | None = None,
                 signer: Signer | None = None) -> Run:
    """Every named scenario, as a HIS, against the platform at `url`."""
    run = Run("platform", url)
    started = time.perf_counter()
    for name in names:
        result = run_scenario(name, url, config, signer=signer)
        run.scenarios.append(result)
        if on_done is not None:
            on_done(result)
    run.seconds = time.perf_counter() - started
    return run


def run_against_his(url: str | None, config: KitConfig, names: list[str],
                    on_done: Callable[[ScenarioResult], None] | None = None,
                    key: str | None = None, port: int = 0,
                    on_ready: Callable[[str], None] | None = None) -> Run:
    """Every named scenario, the kit as the platform: pushed to the HIS's hook at `url`, or,
    with `url` None, offered for the HIS to pull from the kit (on `port`). A HIS's signed
    requests are checked with `key`, if given."""
    recorder = Recorder(key=key)
    started = time.perf_counter()
    try:
        recorder.start(port=port)
        run = Run("his", url or f"{recorder.url} (pull)")
        if on_ready is not None:
            on_ready(recorder.url)
        deliver = hook(url) if url else pull(recorder)
        run.scenarios = run_his(deliver, config, names, recorder, on_done=on_done)
        if url is None:  # let the HIS hear that the run is over before the kit stops
            recorder.finished_seen.wait(10)
    finally:
        recorder.stop()
    run.seconds = time.perf_counter() - started
    return run


def _summary(run: Run) -> Table:
    table = Table(title=f"Conformance ({run.mode}) of {run.target}")
    for column in ("scenario", "result", "steps", "first failure (field: rule)"):
        table.add_column(column)
    for s in run.scenarios:
        first = s.failures()[0] if s.failures() else None
        why = s.error or (f"{first[0].name}: {first[1].text()}" if first else "")
        table.add_row(s.name, "[green]passed[/]" if s.passed else "[red]FAILED[/]",
                      str(len(s.steps)), why)
    return table


def conformance_command(
        platform: Annotated[str | None, typer.Option(
            help="play a HIS against this platform endpoint (its base URL; POST …/his)")] = None,
        his: Annotated[str | None, typer.Option(
            help="play the platform and drive this HIS through its hook (POST …/conformance/run)")]
        = None,
        his_pull: Annotated[bool, typer.Option(
            "--his-pull", help="play the platform; the HIS fetches each order from the kit "
                               "(GET …/conformance/order) and reports it done")] = False,
        port: Annotated[int, typer.Option(help="--his-pull: the kit's port")] = 8190,
        scenario: Annotated[list[str] | None, typer.Option(
            help="run only this scenario (repeatable); default: all")] = None,
        config: Annotated[Path | None, typer.Option(
            help="the platform's test data (JSON/YAML); default: the sandbox's")] = None,
        report: Annotated[Path, typer.Option(help="folder for conformance.html and .xml")]
        = Path("conformance-report"),
        key: Annotated[str | None, typer.Option(
            help="the institution's key: --platform signs every request with it (HMAC-SHA256); "
                 "--his checks the HIS's signatures with it")]
        = None,
        signature: Annotated[str, typer.Option(help="with --key: the header style, tif or api")]
        = "tif",
) -> None:
    """Check a platform (--platform) or a HIS (--his) against the national interface's
    scripted scenarios; reports in HTML and JUnit XML."""
    if [platform is not None, his is not None, his_pull].count(True) != 1:
        fail("give exactly one of --platform URL, --his URL and --his-pull")
    url = platform or his or ""
    if not his_pull and not url.startswith(("http://", "https://")):
        fail(f"{'--platform' if platform else '--his'}: must be an http:// or https:// URL, "
             f"not {url!r}")
    known = SCENARIOS if platform else ORDERS
    names = scenario or list(known)
    unknown = [n for n in names if n not in known]
    if unknown:
        fail(f"--scenario: unknown {', '.join(unknown)}; known: {', '.join(known)}")
    if platform is None and config is not None:
        fail("--config applies to --platform only: with --his the kit's own sandbox is the "
             "platform")
    if signature not in ("tif", "api"):
        fail(f"--signature: must be tif or api, not {signature!r}")
    if his_pull and port:  # 0: any free port
        check_port("127.0.0.1", port)
    try:  # before the run, not after it: a report that cannot be written loses the results
        report.mkdir(parents=True, exist_ok=True)
        probe = report / ".conformance-write-check"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        fail(f"--report: cannot write to {report}: {exc.strerror or exc}")
    try:
        kit_config = load_config(config)
    except MedSettleError as exc:
        fail(str(exc))
    with quieter("medsettle", logging.ERROR), Progress(  # the report says what matters
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("conformance", total=len(names))

        def done(result: ScenarioResult) -> None:
            mark = "[green]✓[/]" if result.passed else "[red]✗[/]"
            progress.console.print(f"{mark} {result.name} ({len(result.steps)} steps, "
                                   f"{result.seconds:.2f} s)")
            progress.advance(task)

        signer = None if key is None else hmac_signer(
            key, kit_config.fixmedins_code, "tif" if signature == "tif" else "api")
        def ready(kit: str) -> None:
            if his_pull:
                progress.console.print(f"The kit's platform: {kit}/his. Your HIS fetches each "
                                       f"order from GET {kit}/conformance/order and reports it "
                                       f"with POST {kit}/conformance/done.", highlight=False)

        run = (run_platform(url, kit_config, names, done, signer) if platform
               else run_against_his(his, kit_config, names, done, key,
                                    port if his_pull else 0, ready))
    page, xml = write_reports(run, report)
    console.print(_summary(run))
    passed, total = run.counts()
    console.print(f"{passed}/{total} scenarios passed in {run.seconds:.2f} s; reports: {page}, "
                  f"{xml}", highlight=False)
    raise typer.Exit(0 if run.passed else 1)
