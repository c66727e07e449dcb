"""The kit's platform for `medsettle conformance --his`: a sandbox province node (fresh SQLite, in
process) behind `POST /his`, which records every message a HIS sends, checks its form against
the SDK's models, and can lose the answer to one message on purpose (HTTP 504, no envelope)."""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from medsettle.adapters.cli_sandbox import sandbox_node
from medsettle.adapters.his.envelope import FileAnswer
from medsettle.adapters.kit.results import Failure
from medsettle.adapters.sandbox_data import HOSPITAL
from medsettle.sdk import RequestEnvelope, request_model
from medsettle.sdk.client import model_errors


@dataclass
class Received:
    """One message a HIS sent: its envelope (None if not JSON), the answer, what was wrong."""

    envelope: dict[str, Any] | None
    answer: dict[str, Any] | None
    failures: list[Failure] = field(default_factory=list)
    lost: bool = False  # the kit lost the answer on purpose

    @property
    def infno(self) -> str:
        return str((self.envelope or {}).get("infno", "?"))

    @property
    def msgid(self) -> str:
        return str((self.envelope or {}).get("msgid", ""))


def check_form(raw: bytes) -> tuple[dict[str, Any] | None, list[Failure]]:
    """The envelope and the failures of its form: the envelope's and the input's models."""
    try:
        envelope = json.loads(raw)
    except ValueError as exc:
        return None, [Failure("body", "a JSON object, UTF-8", str(exc)[:80])]
    if not isinstance(envelope, dict):
        return None, [Failure("body", "a JSON object")]
    found: list[Failure] = []
    try:
        RequestEnvelope.model_validate(envelope)
    except ValidationError as exc:
        found += [Failure(path, rule + " (interface.md §2)") for path, rule in model_errors(exc)]
    try:
        model = request_model(str(envelope.get("infno")))
    except KeyError:
        return envelope, [*found, Failure("infno", "a transaction of the national interface "
                                                   "the kit knows", repr(envelope.get("infno")))]
    try:
        model.model_validate(envelope.get("input"))
    except ValidationError as exc:
        found += [Failure(path, rule) for path, rule in model_errors(exc, "input")]
    return envelope, found


class Recorder:
    """The platform a HIS under test talks to; `begin`/`end` bracket one scenario."""

    def __init__(self, folder: Path | None = None, key: str | None = None) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if folder is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="medsettle-kit-")
            folder = Path(self._tmp.name)
        self.node = sandbox_node(f"sqlite:///{folder / 'kit-platform.db'}")
        if key is not None:  # the HIS signs its requests: the institution's key, registered
            with self.node.store.tx() as tx:
                tx.change("institutions", {"fixmedins_code": HOSPITAL}, api_key=key)
        self.lock = threading.Lock()
        self.messages: list[Received] = []
        self.lose: str | None = None  # the infno whose next answer is lost
        self.url = ""
        self.served: Served | None = None
        self.order: dict[str, Any] | None = None  # pull mode: the order a HIS fetches
        self.order_done = threading.Event()
        self.finished_seen = threading.Event()  # the HIS fetched {"finished": true}

    def begin(self, lose: str | None = None) -> None:
        """Start recording a scenario; with `lose`, the answer to that transaction's next
        message is lost."""
        with self.lock:
            self.messages, self.lose = [], lose

    def end(self) -> list[Received]:
        """The messages of the scenario."""
        with self.lock:
            found, self.messages, self.lose = self.messages, [], None
        return found

    def receive(self, raw: bytes, headers: dict[str, str]
                ) -> tuple[dict[str, Any] | FileAnswer | None, bool]:
        """Check, answer (through the sandbox node's gateway) and record one message; the
        answer (a file's bytes for 9102, recorded by name and size), and whether it is to be
        lost."""
        envelope, failures = check_form(raw)
        answer = self.node.gateway.handle(raw, headers)
        kept = ({"infcode": 0, "file": {"filename": answer.filename,
                                        "size": len(answer.content)}}
                if isinstance(answer, FileAnswer) else answer)
        with self.lock:
            lost = envelope is not None and self.lose == envelope.get("infno")
            if lost:
                self.lose = None
            self.messages.append(Received(envelope, kept, failures, lost))
        return answer, lost

    def offer(self, order: dict[str, Any] | None) -> None:
        """Pull mode: the order `GET /conformance/order` hands out next ({"finished": true}
        once `order` is None)."""
        with self.lock:
            self.order = order if order is not None else {"finished": True}
            self.order_done.clear()

    def _take_order(self) -> dict[str, Any] | None:
        with self.lock:
            order, self.order = self.order, (None if self.order is None
                                             or not self.order.get("finished") else self.order)
        if order is not None and order.get("finished"):
            self.finished_seen.set()
        return order

    def app(self) -> Starlette:
        """`POST /his`, `GET /healthz`, and for pull mode `GET /conformance/order` and
        `POST /conformance/done`."""
        async def his(request: Request) -> Response:
            answer, lost = await run_in_threadpool(self.receive, await request.body(),
                                                   dict(request.headers))
            if lost:
                return Response("the conformance kit lost this answer on purpose",
                                status_code=504)
            if isinstance(answer, FileAnswer):
                return Response(answer.content, media_type="application/octet-stream",
                                headers={"content-disposition":
                                         f'attachment; filename="{answer.filename}"'})
            return JSONResponse(answer)

        async def healthz(request: Request) -> Response:
            return JSONResponse({"status": "ok", "kit": True})

        async def next_order(request: Request) -> Response:
            order = self._take_order()
            return Response(status_code=204) if order is None else JSONResponse(order)

        async def done(request: Request) -> Response:
            self.order_done.set()
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/his", his, methods=["POST"]),
                                 Route("/healthz", healthz),
                                 Route("/conformance/order", next_order),
                                 Route("/conformance/done", done, methods=["POST"])])

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a background thread; the base URL."""
        self.served = serve_in_thread(self.app(), host, port)
        self.url = self.served.url
        return self.url

    def stop(self) -> None:
        """Stop serving and drop the temporary database."""
        if self.served is not None:
            self.served.stop()
        self.node.stop()
        self.node.store.engine.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()


@dataclass
class Served:
    """An ASGI app served from a daemon thread."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        """Ask the server to exit and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(10)


def serve_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Served:
    """Serve an ASGI app from a daemon thread (on a free port if 0), once it listens."""
    if port == 0:
        with socket.socket() as sock:
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_config=None,
                                           access_log=False, loop="asyncio", http="h11"))
    thread = threading.Thread(target=server.run, name="kit-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise RuntimeError(f"could not serve on {host}:{port}")
    return Served(f"http://{host}:{port}", server, thread)
