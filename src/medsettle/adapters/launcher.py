"""Launch a federation on this machine: the hub and province nodes as separate processes, each
with its own database (SQLite files, or PostgreSQL databases on a local server). Used by
`medsettle demo`, the benchmarks and the end-to-end tests."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from medsettle.adapters.cli_nodes import new_keys
from medsettle.adapters.db.seed import load_rows
from medsettle.adapters.his.client import HisClient
from medsettle.adapters.peers import SignedClient

MEDSETTLE = str(Path(sys.executable).parent / "medsettle")


#: How many ports a node tries when another process takes the one chosen for it first.
PORT_TRIES = 5


def free_port() -> int:
    """A TCP port on loopback that nobody uses now, below the kernel's range of ephemeral ports:
    a port from that range could be taken, before the node binds it, by any outgoing connection
    (to PostgreSQL, between nodes), and the node would then fail to start."""
    floor = ephemeral_floor()
    for _ in range(500):
        port = random.randrange(max(1024, floor - 12_000), floor)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # the low range is crowded: let the kernel choose
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ephemeral_floor() -> int:
    """The lowest port the kernel gives outgoing connections (32768 where it cannot be read)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class Federation:
    """A hub and province nodes running as processes on loopback."""

    def __init__(self, workdir: Path, rows: Mapping[str, Mapping[str, Sequence[Any]]],
                 pg_url: str | None = None, call_timeout: float = 1.5,
                 his_timeout: float = 2.0,
                 on_loaded: Callable[[str], None] | None = None,
                 anchor_seconds: float = 300.0, allow_early_clearing: bool = False,
                 policies: Path | None = None) -> None:
        self.workdir = workdir
        self.policies = policies  # the provinces' policy folder; None = the shipped one
        self.pg_url = pg_url
        self.keys_path = workdir / "keys.json"
        self.keys_path.write_text(json.dumps(new_keys()), encoding="utf-8")
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.log_from: dict[str, int] = {}  # where each node's last start began its log
        self.urls: dict[str, str] = {}
        self.dbs: dict[str, str] = {}
        self.created_pg: list[str] = []
        self.call_timeout = call_timeout
        self.anchor_seconds = anchor_seconds
        self.allow_early_clearing = allow_early_clearing
        self.his_timeout = his_timeout
        self.hub_url = ""
        for region, tables in rows.items():
            self.dbs[region] = self._db(region)
            load_rows(self.dbs[region], tables)
            if on_loaded:
                on_loaded(region)
        self.dbs["hub"] = self._db("hub")

    def _db(self, name: str) -> str:
        if self.pg_url is None:
            return f"sqlite:///{self.workdir / (name + '.db')}"
        import psycopg
        db = f"medsettle_e2e_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        self.created_pg.append(db)
        return self.pg_url.rsplit("/", 1)[0] + "/" + db

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str] | None = None) -> None:
        path = self.workdir / f"{name}.log"
        self.log_from[name] = path.stat().st_size if path.exists() else 0
        with open(path, "ab") as log:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                [MEDSETTLE, "serve", *args], stdout=log, stderr=subprocess.STDOUT,
                cwd=self.workdir, start_new_session=True,
                env=None if env is None else {**os.environ, **env})

    def start(self, on_started: Callable[[str], None] | None = None) -> Federation:
        """Start the hub, then every province (all spawned before waiting), until all are up."""
        self.start_hub()
        regions = [r for r in self.dbs if r != "hub"]
        fresh = {r for r in regions if r not in self.urls}
        for region in regions:
            self.start_province(region, wait=False)
        for region in regions:
            try:
                self.wait_healthy(self.urls[region], self.procs[region], region, seconds=180)
            except RuntimeError:
                if region not in fresh or not self._port_was_taken(region):
                    raise
                del self.urls[region]  # another process took the port first: another one
                self.start_province(region)
            if on_started:
                on_started(region)
        self.wait_all_up(seconds=60)
        return self

    def start_hub(self) -> None:
        """Start (or restart, on the same port) the hub."""
        fresh = not self.hub_url
        for _ in range(PORT_TRIES):
            port = free_port() if fresh else int(self.hub_url.rsplit(":", 1)[1])
            self.hub_url = f"http://127.0.0.1:{port}"
            self._spawn("hub", ["hub", "--port", str(port), "--db", self.dbs["hub"],
                                "--keys", str(self.keys_path),
                                "--call-timeout", str(self.call_timeout),
                                *(["--allow-early-clearing"] if self.allow_early_clearing
                                  else [])])
            try:
                self.wait_healthy(self.hub_url, self.procs["hub"], "hub")
                return
            except RuntimeError:
                if not (fresh and self._port_was_taken("hub")):
                    raise
        raise RuntimeError(f"the hub found no free port in {PORT_TRIES} tries")

    def _port_was_taken(self, name: str) -> bool:
        """Whether the node's last start failed because another process held its port (a
        free port is chosen before the node binds it: tests running side by side can race)."""
        with open(self.workdir / f"{name}.log", "rb") as log:
            log.seek(self.log_from.get(name, 0))
            said = log.read()
        # the CLI's own check, or the server's bind when another process won the race after it
        return b"is in use" in said or b"address already in use" in said

    def replace_hub_database(self) -> None:
        """Kill the hub and give it a new, empty database (a hub restored from nothing): the
        provinces must notice and register again."""
        proc = self.procs.pop("hub")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        self.dbs["hub"] = self._db(f"hub{len(self.created_pg) + len(self.procs)}")
        self.start_hub()

    def start_province(self, region: str, wait: bool = True,
                       env: Mapping[str, str] | None = None) -> None:
        """Start (or restart, on the same port) one province node, with extra environment
        variables if given (e.g. MEDSETTLE_CRASH_AT for a fault drill)."""
        fresh = region not in self.urls
        for _ in range(PORT_TRIES):
            port = free_port() if fresh else int(self.urls[region].rsplit(":", 1)[1])
            self.urls[region] = f"http://127.0.0.1:{port}"
            self._spawn(region, ["province", "--region", region, "--port", str(port),
                                 "--db", self.dbs[region], "--hub", self.hub_url,
                                 "--keys", str(self.keys_path),
                                 "--timeout", str(self.his_timeout),
                                 "--anchor-seconds", str(self.anchor_seconds),
                                 *(["--policies", str(self.policies)] if self.policies
                                   else [])], env)
            if not wait:
                return
            try:
                self.wait_healthy(self.urls[region], self.procs[region], region)
                return
            except RuntimeError:
                if not (fresh and self._port_was_taken(region)):
                    raise
        raise RuntimeError(f"province {region} found no free port in {PORT_TRIES} tries")

    def stop_province(self, region: str) -> None:
        proc = self.procs.pop(region)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def kill(self, name: str) -> None:
        """SIGKILL the hub or a province node (its whole process group), as `kill -9` would."""
        proc = self.procs.pop(name)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def restart(self, name: str) -> None:
        """Start a killed node again on its port and database, and wait until it is healthy."""
        if name == "hub":
            self.start_hub()
        else:
            self.start_province(name)

    def pause_province(self, region: str) -> None:
        """Freeze a node (it accepts connections but never answers): a slow province."""
        os.killpg(self.procs[region].pid, signal.SIGSTOP)

    def resume_province(self, region: str) -> None:
        os.killpg(self.procs[region].pid, signal.SIGCONT)

    def wait_healthy(self, url: str, proc: subprocess.Popen[bytes], node: str,
                     seconds: float = 30) -> None:
        """Until the node `node` answers its /healthz at `url` (another process answering on
        that port, which took it first, does not count)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{url} exited; see {self.workdir}/*.log")
            try:
                answer = httpx.get(f"{url}/healthz", timeout=1)
                if answer.status_code == 200 and answer.json().get("node") == node:
                    return
            except (httpx.HTTPError, ValueError, AttributeError):
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{url} did not become healthy; see {self.workdir}/*.log")

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(f"{self.hub_url}/status", timeout=5).json()
        return result

    def wait_all_up(self, seconds: float = 30) -> None:
        """Until the hub sees every running province up and each says it has joined (its
        locator published: its insured persons can be found from elsewhere)."""
        provinces = {r for r in self.dbs if r != "hub" and r in self.procs}
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            up = {n["region"] for n in self.status().get("nodes", []) if n["status"] == "up"}
            if provinces <= up and all(self.joined(r) for r in provinces):
                return
            time.sleep(0.1)
        raise TimeoutError(f"not every node joined the federation: {self.status()}, joined: "
                           f"{sorted(r for r in provinces if self.joined(r))}")

    def joined(self, region: str) -> bool:
        """Whether a province node says it has joined the federation."""
        try:
            answer = httpx.get(f"{self.urls[region]}/healthz", timeout=5)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.json().get("joined") is True

    def flush_hub_journal(self) -> None:
        """Make the hub write its queued message log and settlement index now (signed as the
        first province)."""
        region = next(r for r in self.dbs if r != "hub")
        key = json.loads(self.keys_path.read_text(encoding="utf-8"))[region]
        client = SignedClient(region, 30.0, pool=1)
        try:
            client.result("POST", self.hub_url, "/fed/v1/journal/flush", key, {},
                          peer="the hub")
        finally:
            client.close()

    def clear_month(self, month: str, early: bool = False) -> dict[str, Any]:
        """Run the clearing of `month` at the hub (signed as the first province); `early`
        clears the current month so far (a hub started with allow_early_clearing)."""
        region = next(r for r in self.dbs if r != "hub")
        key = json.loads(self.keys_path.read_text(encoding="utf-8"))[region]
        client = SignedClient(region, 60.0, pool=1)
        try:
            result = client.request("POST", self.hub_url, f"/clearing/{month}/run", key,
                                    {"early": early}, peer="the hub")
        finally:
            client.close()
        if result.get("ok") is False:
            raise RuntimeError(f"clearing {month} failed: {result}")
        return result

    def his(self, region: str, fixmedins_code: str, name: str = "示例医院") -> HisClient:
        client = HisClient(self.urls[region], fixmedins_code, name)
        client.sign_in()
        return client

    def close(self, seconds: float = 10) -> None:
        """Stop every node: SIGTERM to all at once, SIGKILL to those still running after
        `seconds` in all (not `seconds` each, which a few slow nodes added up)."""
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGCONT)
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + seconds
        for proc in self.procs.values():
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.pg_url is not None:
            import psycopg
            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                for db in self.created_pg:
                    conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
