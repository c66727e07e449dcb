"""Nodes are started on ports below the kernel's ephemeral range, which outgoing connections
never take: a node used to fail to start now and then when a PostgreSQL connection opened
between the choice of its port and its bind took that very port."""

from __future__ import annotations

import socket

import pytest

from medsettle.adapters import launcher
from medsettle.adapters.launcher import ephemeral_floor, free_port


def test_ports_are_bindable_and_below_the_ephemeral_range() -> None:
    floor = ephemeral_floor()
    ports = {free_port() for _ in range(20)}
    assert all(1024 <= port < floor for port in ports)
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # nobody holds it


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", free_port()))
        held.listen()
        taken = int(held.getsockname()[1])
        other = free_port()
        draws = iter([taken, taken, other])
        monkeypatch.setattr(launcher.random, "randrange", lambda low, high: next(draws))
        assert free_port() == other
