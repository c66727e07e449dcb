"""A node whose port another process took first (a free port is chosen before the node binds
it: test files running side by side can race for one) starts on another port, and a process
that answers on a node's port is not taken for the node."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from medsettle.adapters import launcher
from medsettle.adapters.launcher import Federation


def test_the_hub_starts_on_another_port_when_its_first_is_taken(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = iter([busy, launcher.free_port()])
        monkeypatch.setattr(launcher, "free_port", lambda: next(ports))
        fed = Federation(tmp_path, {})
        try:
            fed.start_hub()
            assert not fed.hub_url.endswith(f":{busy}")
            assert httpx.get(f"{fed.hub_url}/healthz", timeout=5).json()["node"] == "hub"
            assert b"in use" in (tmp_path / "hub.log").read_bytes()
        finally:
            fed.close()
