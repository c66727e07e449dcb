"""Ctrl-C during `medsettle demo` stops the visits in flight before their next message, so the
demo stops within one answer, not after every visit in flight has run to its end; and a Ctrl-C
is remembered, so the demo stops even if its KeyboardInterrupt was lost on the way (a loaded
machine once left a demo running after Ctrl-C)."""

from __future__ import annotations

import signal
import time
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from medsettle.adapters.cli_demo import CtrlC, wait_for_stop
from medsettle.adapters.player import Interrupted, Player


class Flow:
    """A visit's HIS messages, recorded; Ctrl-C arrives while the one named `ctrl_c_at` is out."""

    def __init__(self, player: Player, ctrl_c_at: str) -> None:
        self.player, self.ctrl_c_at = player, ctrl_c_at
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> Any:
        def send(*args: Any, **kwargs: Any) -> dict[str, Any]:
            self.sent.append(name)
            if name == self.ctrl_c_at:
                self.player.interrupted.set()
            return {"setlinfo": {}}
        return send


def visit(med_type: str) -> Any:
    return SimpleNamespace(med_type=med_type, disease="", emergency=False, acct_used=False,
                           begntime=datetime(2026, 11, 30, 8, 0))


@pytest.mark.parametrize(("med_type", "ctrl_c_at", "sent"), [
    ("11", "register", ["register"]),
    ("11", "fees", ["register", "fees"]),
    ("21", "admit", ["admit"]),
    ("21", "discharge", ["admit", "fees", "discharge"]),
])
def test_a_visit_in_flight_sends_nothing_after_ctrl_c(med_type: str, ctrl_c_at: str,
                                                      sent: list[str]) -> None:
    player = Player({})
    flow = Flow(player, ctrl_c_at)
    with pytest.raises(Interrupted):
        player._settle(flow, visit(med_type), [("001", "1.00", "1")])  # type: ignore[arg-type]
    assert flow.sent == sent


def test_without_ctrl_c_a_visit_sends_every_message() -> None:
    player = Player({})
    flow = Flow(player, ctrl_c_at="none")
    player._settle(flow, visit("21"), [("001", "1.00", "1")])  # type: ignore[arg-type]
    assert flow.sent == ["admit", "fees", "discharge", "settle"]


def test_a_ctrl_c_whose_exception_was_swallowed_still_stops_the_demo() -> None:
    ctrl_c = CtrlC()
    ctrl_c.check()  # not pressed: nothing happens
    try:
        ctrl_c(signal.SIGINT, None)  # as Python calls the handler
    except KeyboardInterrupt:
        pass  # swallowed on the way, as a demo once seemed to
    with pytest.raises(KeyboardInterrupt):
        ctrl_c.check()  # the demo's next look
    previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        started = time.monotonic()
        wait_for_stop(ctrl_c)  # returns at once: the press came before the wait
        assert time.monotonic() - started < 0.5
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])
