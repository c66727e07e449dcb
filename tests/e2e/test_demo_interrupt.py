"""`make demo` ends with the console running, and Ctrl-C stops every process: the demo runs in a
pseudo-terminal (its controlling terminal, as in a person's shell), Ctrl-C is typed there, and
every node process it started is gone afterwards, its port closed.

A second test types Ctrl-C while the day is still being played: the nodes stop as well.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from medsettle.adapters.launcher import MEDSETTLE

DEMO = ["demo", "--provinces", "3", "--persons", "200", "--visits", "60", "--institutions", "8"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """A process whose controlling terminal is a fresh pseudo-terminal; what it prints is read
    all the time (a full terminal buffer would block it)."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))

        def own_terminal() -> None:  # in the child: a new session whose terminal is the pty
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                                     preexec_fn=own_terminal, close_fds=True)
        os.close(slave)
        self.text = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.text += ANSI.sub("", chunk.decode("utf-8", "replace"))

    def wait_for(self, pattern: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not re.search(pattern, self.text):
            assert self.proc.poll() is None, f"exited {self.proc.returncode}:\n{self.text[-3000:]}"
            assert time.monotonic() < deadline, f"no {pattern!r} after {seconds} s:\n" \
                                                f"{self.text[-3000:]}"
            time.sleep(0.2)

    def ctrl_c(self) -> None:
        """Type Ctrl-C: the terminal sends SIGINT to its foreground process group."""
        os.write(self.master, b"\x03")

    def exit_code(self, seconds: float, logs: Path) -> int:
        """The process's exit status; if it does not end within `seconds`, fail with what it
        printed and the end of each node's log (where it was stuck)."""
        try:
            return self.proc.wait(seconds)
        except subprocess.TimeoutExpired:
            tails = "".join(f"\n--- {log.name}\n" + "\n".join(log.read_text(
                errors="replace").splitlines()[-15:]) for log in sorted(logs.glob("*.log")))
            pytest.fail(f"still running {seconds} s after Ctrl-C:\n{self.text[-3000:]}{tails}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        os.close(self.master)


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture()
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal([MEDSETTLE, *DEMO, "--workdir", str(tmp_path / "demo")], tmp_path)
    try:
        yield term
    finally:
        for pid in children(term.proc.pid):
            os.kill(pid, signal.SIGKILL)
        term.close()


def test_ctrl_c_in_the_terminal_stops_every_node_of_a_running_demo(terminal: Terminal,
                                                                    tmp_path: Path) -> None:
    terminal.wait_for(r"press Ctrl-C to stop it", seconds=150)
    nodes = children(terminal.proc.pid)
    ports = {int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)/console", terminal.text)}
    assert len(nodes) == 4, nodes  # the hub and 3 province nodes
    assert ports and all(listening(port) for port in ports)  # the console is running
    terminal.ctrl_c()
    assert terminal.exit_code(40, tmp_path / "demo") == 0, terminal.text[-2000:]
    assert "stopping every node" in terminal.text
    assert [pid for pid in nodes if alive(pid)] == []
    assert [port for port in ports if listening(port)] == []


def test_ctrl_c_while_the_day_is_played_stops_every_node_too(terminal: Terminal,
                                                              tmp_path: Path) -> None:
    terminal.wait_for(r"play the day", seconds=150)
    nodes = children(terminal.proc.pid)
    assert len(nodes) == 4, nodes
    terminal.ctrl_c()
    assert terminal.exit_code(40, tmp_path / "demo") == 130, terminal.text[-2000:]
    assert "interrupted: stopping every node" in terminal.text
    assert [pid for pid in nodes if alive(pid)] == []
