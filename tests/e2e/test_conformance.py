"""The conformance kit: it passes MedSettle and the sample HIS, and fails a broken platform and a
broken HIS with a report that names the step, the field and the rule."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from typer.testing import CliRunner

from medsettle.adapters.api.province import serve_province_app
from medsettle.adapters.cli import app as cli_app
from medsettle.adapters.cli_conformance import run_against_his, run_platform
from medsettle.adapters.cli_sandbox import sandbox_node
from medsettle.adapters.kit.config import KitConfig
from medsettle.adapters.kit.recorder import Served, serve_in_thread
from medsettle.adapters.kit.report import html_report, junit_xml
from medsettle.adapters.kit.results import Run
from medsettle.adapters.kit.sample_his import SampleHis
from medsettle.adapters.launcher import MEDSETTLE, free_port
from medsettle.sdk import Client, NoAnswer, hmac_signer
from medsettle.sdk import money as m


def failures_of(run: Run) -> dict[str, list[str]]:
    """scenario → ["step | field: rule …"] of a run."""
    return {s.name: [f"{step.name} | {f.field}: {f.rule}" for step, f in s.failures()]
            for s in run.scenarios}


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`medsettle sandbox` as a process on a fresh SQLite database."""
    folder = tmp_path_factory.mktemp("sandbox")
    port = free_port()
    with open(folder / "sandbox.log", "wb") as log:
        proc = subprocess.Popen([MEDSETTLE, "sandbox", "--port", str(port), "--db",
                                 f"sqlite:///{folder / 'sandbox.db'}"], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (folder / "sandbox.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


def test_the_kit_passes_a_sandbox_node(sandbox_url: str, tmp_path: Path) -> None:
    done = subprocess.run([MEDSETTLE, "conformance", "--platform", sandbox_url, "--report",
                           str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "10/10 scenarios passed" in done.stdout
    suite = ET.parse(tmp_path / "conformance.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("10", "0")
    assert {case.get("name") for case in suite.iter("testcase")} >= {
        "sign-in", "person-info", "outpatient", "inpatient", "chronic", "cancel", "reversal",
        "reconciliation", "bad-input", "cross-institution"}
    assert "10 of 10 scenarios passed" in (tmp_path / "conformance.html").read_text()


class BrokenPlatform:
    """A platform that answers through a sandbox node's gateway, then breaks three rules:
    infcode as text on 9001, ¥0.01 more pooling fund on 2207 than its totals, and a 2601 that
    never says it undid anything."""

    def __init__(self, folder: Path) -> None:
        self.node = sandbox_node(f"sqlite:///{folder / 'broken.db'}")

    def answer(self, raw: bytes) -> dict[str, Any]:
        answer = self.node.gateway.handle(raw)
        output = answer.get("output") or {}
        if b'"infno": "9001"' in raw:
            answer["infcode"] = str(answer["infcode"])
        if b'"infno": "2207"' in raw and "setlinfo" in output:
            output["setlinfo"]["hifp_pay"] = round(output["setlinfo"]["hifp_pay"] + 0.01, 2)
        if b'"infno": "2601"' in raw and "memo" in output:
            output["memo"] = "无需冲正：原交易未生效或已撤销 (nothing to reverse)"
        return answer

    def app(self) -> Starlette:
        async def his(request: Request) -> Response:
            return JSONResponse(await run_in_threadpool(self.answer, await request.body()))
        return Starlette(routes=[Route("/his", his, methods=["POST"])])


def test_the_kit_fails_a_broken_platform_naming_the_field_and_the_rule(tmp_path: Path) -> None:
    broken = BrokenPlatform(tmp_path)
    served = serve_in_thread(broken.app())
    try:
        run = run_platform(served.url, KitConfig(), ["sign-in", "outpatient", "reversal"])
    finally:
        served.stop()
        broken.node.stop()
    found = failures_of(run)
    assert not run.passed
    assert found["sign-in"] == [  # once, not a cascade of findings
        "9001 sign in | infcode: a JSON integer: 0 success, -1 failure (interface.md §3)"]
    assert any(line.startswith("2207 settlement | output.setlinfo.fund_pay_sumamt: "
                               "interface.md §7 balance rule: = hifp_pay") for line in
               found["outpatient"])
    assert any("output.reversed: true: the settlement whose answer was lost is undone" in line
               for line in found["reversal"])
    xml = junit_xml(run)
    assert 'failures="3"' in xml and "output.setlinfo.fund_pay_sumamt" in xml
    assert "output.reversed" in html_report(run)


@pytest.fixture()
def his_server() -> Iterator[Any]:
    servers: list[Served] = []

    def serve(his: SampleHis) -> str:
        servers.append(serve_in_thread(his.app()))
        return servers[-1].url
    yield serve
    for served in servers:
        served.stop()


def test_the_kit_passes_the_sample_his(his_server: Any) -> None:
    run = run_against_his(his_server(SampleHis()), KitConfig(), list(
        ["sign-in", "person-info", "outpatient", "inpatient", "chronic", "cancel", "reversal",
         "reconciliation", "bad-input"]))
    assert failures_of(run) == {s.name: [] for s in run.scenarios}
    assert run.passed


class CarelessHis(SampleHis):
    """A HIS that forgets insuplc_admdvs when it settles and, when a settlement's answer is
    lost, sends the settlement again as a new message instead of reversing it."""

    def settle(self, his: Client, request: m.SettleRequest, insuplc: str
               ) -> m.SettlementAnswer:
        try:
            exchange = his.send(request, insuplc="")
        except NoAnswer:
            return his.call(request, insuplc="")
        if exchange.output is None:
            raise RuntimeError(exchange.answer.err_msg)
        return exchange.output


def test_the_kit_fails_a_careless_his_naming_the_field_and_the_rule(his_server: Any) -> None:
    run = run_against_his(his_server(CarelessHis()), KitConfig(), ["outpatient", "reversal"])
    found = failures_of(run)
    assert "received 2207 | insuplc_admdvs: required when the input carries psn_no: take it " \
           "from 1101 insuinfo (interface.md §5)" in found["outpatient"]
    reversal = found["reversal"]
    assert any("order of the messages | infno: the reversal scenario's messages in order"
               in line for line in reversal)
    assert "order of the messages | msgid: the lost 2207 is only ever resent with its own " \
           "msgid, never as a new message" in reversal
    assert any("input.data.omsgid: 2601 names the lost 2207's msgid" in line
               for line in reversal)


@pytest.mark.parametrize("args, says", [
    ([], "give exactly one of --platform URL, --his URL and --his-pull"),
    (["--his-pull", "--platform", "http://x"], "give exactly one of"),
    (["--platform", "ftp://x"], "--platform: must be an http:// or https:// URL"),
    (["--platform", "http://x", "--scenario", "nap"], "--scenario: unknown nap"),
    (["--his", "http://x", "--config", "k.yaml"], "--config applies to --platform only"),
    (["--platform", "http://x", "--key", "k", "--signature", "rsa"],
     "--signature: must be tif or api"),
])
def test_bad_usage_is_one_line(args: list[str], says: str) -> None:
    result = CliRunner().invoke(cli_app, ["conformance", *args])
    assert result.exit_code == 2
    assert says in result.output
    assert "Traceback" not in result.output


def test_the_cli_checks_a_his_and_writes_both_reports(his_server: Any, tmp_path: Path) -> None:
    url = his_server(CarelessHis())
    result = CliRunner().invoke(cli_app, ["conformance", "--his", url, "--scenario",
                                          "outpatient", "--report", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "0/1 scenarios passed" in result.output
    suite = ET.parse(tmp_path / "conformance.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("1", "1")
    message = next(suite.iter("failure")).get("message") or ""
    assert message.startswith("received 2207 [2207 H44030400123") and "insuplc_admdvs" in message
    assert "FAILED" in (tmp_path / "conformance.html").read_text()


def test_the_kit_signs_when_given_the_institutions_key(tmp_path: Path) -> None:
    node = sandbox_node(f"sqlite:///{tmp_path / 'signed.db'}")
    with node.store.tx() as tx:
        tx.change("institutions", {"fixmedins_code": KitConfig().fixmedins_code},
                  api_key="kit-key")
    served = serve_in_thread(serve_province_app(node, background=False))
    try:
        good = run_platform(served.url, KitConfig(), ["sign-in"],
                            signer=hmac_signer("kit-key", KitConfig().fixmedins_code))
        bad = run_platform(served.url, KitConfig(), ["sign-in"],
                           signer=hmac_signer("wrong", KitConfig().fixmedins_code, "api"))
    finally:
        served.stop()
        node.stop()
    assert good.passed, failures_of(good)
    assert any("infcode: 0: this message succeeds" in line and "authentication_failed" in line
               for line in [f"{f.field}: {f.rule} {f.seen}" for _, f in
                            bad.scenarios[0].failures()])


class SigningHis(SampleHis):
    """The sample HIS, signing every request with its key."""

    def client(self, order: dict[str, Any]) -> Client:
        his = Client(order["platform"], order["fixmedins_code"], order["fixmedins_name"],
                     admdvs=order["mdtrtarea_admvs"],
                     signer=hmac_signer("his-key", order["fixmedins_code"]))
        his.sign_in()
        return his


def test_a_signing_his_is_checked_with_its_key(his_server: Any) -> None:
    url = his_server(SigningHis())
    assert run_against_his(url, KitConfig(), ["sign-in", "outpatient"], key="his-key").passed
    unknown = run_against_his(url, KitConfig(), ["sign-in"])
    assert not unknown.passed
    assert "authentication_failed" in str(unknown.scenarios[0].steps[0].answer)


def test_a_his_can_pull_its_orders_from_the_kit() -> None:
    his = SampleHis()
    played: list[int] = []
    threads: list[threading.Thread] = []

    def start_his(kit_url: str) -> None:
        threads.append(threading.Thread(target=lambda: played.append(his.pull(kit_url, wait=120))))
        threads[0].start()

    run = run_against_his(None, KitConfig(), ["sign-in", "outpatient", "reversal"],
                          on_ready=start_his)
    threads[0].join(30)
    assert failures_of(run) == {"sign-in": [], "outpatient": [], "reversal": []}
    assert played == [3]
    assert run.target.endswith("(pull)")
