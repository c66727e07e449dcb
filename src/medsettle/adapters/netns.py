"""A federation with each province in its own Linux network namespace (tests and the soak).

Province i runs inside namespace `ms<tag>p<i>`, joined to the host by a veth pair: the host side
is 10.<net>.<i>.1, the province's side 10.<net>.<i>.2. The hub runs on the host and listens on
every address; a province reaches it at its veth's host side, and the hub and the hospitals
(on the host) reach the province at 10.<net>.<i>.2. Nothing but the veth joins a namespace to
the world, so `partition` (the veth down) cuts a province off completely, and `shape` puts a
qdisc (tc netem: latency and loss) on its link.

Needs root and a kernel with network namespaces and veth; `netns_unavailable()` says why not.
Everything made is removed by `close()`.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medsettle.adapters.launcher import MEDSETTLE, Federation, free_port


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def netns_unavailable() -> str | None:
    """Why network namespaces cannot be used here, or None if they can."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"msprobe{secrets.token_hex(3)}"
    made = _ip("netns", "add", name, check=False)
    if made.returncode != 0:
        return f"the kernel refuses network namespaces: {made.stderr.strip()}"
    try:
        veth = _ip("link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b",
                   check=False)
        if veth.returncode != 0:
            return f"the kernel refuses veth pairs: {veth.stderr.strip()}"
        _ip("link", "del", f"{name}a", check=False)
    finally:
        _ip("netns", "del", name, check=False)
    return None


def netem_unavailable() -> str | None:
    """Why tc netem (latency, loss) cannot be used here, or None if it can."""
    name = f"msq{secrets.token_hex(3)}"
    _ip("link", "add", f"{name}a", "type", "veth", "peer", "name", f"{name}b")
    try:
        done = subprocess.run(["tc", "qdisc", "add", "dev", f"{name}a", "root", "netem",
                               "delay", "10ms"], capture_output=True, text=True, check=False)
        return None if done.returncode == 0 else \
            f"tc netem is not available in this kernel: {done.stderr.strip()}"
    finally:
        _ip("link", "del", f"{name}a", check=False)


class NamespacedFederation(Federation):
    """Federation (adapters/launcher.py) with every province in its own network namespace."""

    def __init__(self, workdir: Path, rows: Mapping[str, Mapping[str, Sequence[Any]]],
                 **options: Any) -> None:
        self.tag = secrets.token_hex(2)
        self.net = 200 + secrets.randbelow(50)
        self.links: dict[str, tuple[str, str, str]] = {}  # region → (namespace, host dev, ip)
        super().__init__(workdir, rows, **options)
        try:
            for i, region in enumerate(r for r in rows):
                self._join(region, i + 1)
        except Exception:
            self.remove_namespaces()
            raise

    def _join(self, region: str, i: int) -> None:
        ns, host, inner = f"ms{self.tag}p{i}", f"ms{self.tag}h{i}", f"ms{self.tag}n{i}"
        base = f"10.{self.net}.{i}"
        _ip("netns", "add", ns)
        _ip("link", "add", host, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", ns)
        _ip("addr", "add", f"{base}.1/30", "dev", host)
        _ip("link", "set", host, "up")
        _ip("-n", ns, "addr", "add", f"{base}.2/30", "dev", inner)
        _ip("-n", ns, "link", "set", inner, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        self.links[region] = (ns, host, base)

    def start_hub(self) -> None:
        port = int(self.hub_url.rsplit(":", 1)[1]) if self.hub_url else free_port()
        self.hub_url = f"http://127.0.0.1:{port}"
        self._spawn("hub", ["hub", "--host", "0.0.0.0", "--port", str(port),
                            "--db", self.dbs["hub"], "--keys", str(self.keys_path),
                            "--call-timeout", str(self.call_timeout)])
        self.wait_healthy(self.hub_url, self.procs["hub"], "hub")

    def start_province(self, region: str, wait: bool = True,
                       env: Mapping[str, str] | None = None) -> None:
        ns, _, base = self.links[region]
        port = int(self.urls[region].rsplit(":", 1)[1]) if region in self.urls else free_port()
        self.urls[region] = f"http://{base}.2:{port}"
        hub_port = self.hub_url.rsplit(":", 1)[1]
        log = open(self.workdir / f"{region}.log", "ab")
        self.procs[region] = subprocess.Popen(
            ["ip", "netns", "exec", ns, MEDSETTLE, "serve", "province", "--region", region,
             "--host", f"{base}.2", "--port", str(port), "--db", self.dbs[region],
             "--hub", f"http://{base}.1:{hub_port}", "--keys", str(self.keys_path),
             "--timeout", str(self.his_timeout), "--anchor-seconds", str(self.anchor_seconds)],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True,
            env=None if env is None else {**os.environ, **env})
        if wait:
            self.wait_healthy(self.urls[region], self.procs[region], region)

    def partition(self, region: str) -> None:
        """Cut the province off: the host's end of its veth down (nothing else reaches it)."""
        _, host, _ = self.links[region]
        _ip("link", "set", host, "down")

    def heal(self, region: str) -> None:
        """Join the province to the host again."""
        _, host, _ = self.links[region]
        _ip("link", "set", host, "up")

    def shape(self, region: str, *netem: str) -> None:
        """tc netem on the province's link (e.g. "delay", "80ms", "loss", "5%")."""
        _, host, _ = self.links[region]
        subprocess.run(["tc", "qdisc", "replace", "dev", host, "root", "netem", *netem],
                       check=True, capture_output=True)

    def unshape(self, region: str) -> None:
        _, host, _ = self.links[region]
        subprocess.run(["tc", "qdisc", "del", "dev", host, "root"], check=False,
                       capture_output=True)

    def remove_namespaces(self) -> None:
        for ns, host, _ in self.links.values():
            _ip("link", "del", host, check=False)
            _ip("netns", "del", ns, check=False)
        self.links.clear()

    def close(self, seconds: float = 10) -> None:
        try:
            super().close(seconds)
        finally:
            self.remove_namespaces()
