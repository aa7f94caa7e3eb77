"""What every emulator shares: fault injection, its own clock, a ledger, and a runner.

An emulator is an ASGI app (Starlette) that behaves like the real service. Wrap it with
:class:`FaultMiddleware` to make failures controllable per test, and mount :func:`control_routes`
under ``/_emulator`` so tests, benchmarks and people can steer it over HTTP:

* ``POST /_emulator/faults`` ``{"p_5xx": 0.05, "p_429": 0.05, "p_reset": 0.01,
  "p_timeout_after": 0.01, "p_reset_after": 0.01, "latency_ms": [0, 20], "methods": ["wall.post"],
  "hang_s": 30, "seed": 1}`` sets random faults; ``{"queue": [{"kind": "timeout_after",
  "method": "sendMessage", "count": 1}]}`` queues deterministic ones; ``DELETE`` clears all.
* ``POST /_emulator/clock`` ``{"advance_s": 3600}`` moves the emulator's clock (engagement,
  postponed posts, delete windows, members); ``{"at": 1767225600, "frozen": true}`` sets it to a
  unix time and holds it there (``"frozen": false`` lets it run on); ``GET`` reads it.
* ``GET /_emulator/state`` dumps the emulator's state, ``GET /_emulator/ledger`` every side effect.

Fault kinds: ``5xx`` and ``429`` answer without any effect; ``reset`` drops the connection
before any effect; ``timeout_after`` performs the effect and then never answers (the client
times out); ``reset_after`` performs the effect and then drops the connection; ``latency`` delays.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import pickle
import random
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PRE_FAULTS = ("5xx", "429", "reset")
POST_FAULTS = ("timeout_after", "reset_after")


class EmulatorClock:
    """The emulator's own notion of now: real time plus an offset tests can advance, or a moment
    it is frozen at (the demo builds its history with the emulators' clocks held at Rupor's)."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: float | None = None
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp(), dt.UTC)

    def timestamp(self) -> float:
        with self._lock:
            return self._frozen if self._frozen is not None else time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen += seconds
            else:
                self._offset += seconds

    def set(self, at: float, *, frozen: bool = False) -> None:
        """Jump to unix time ``at``; ``frozen`` holds it there until the next set/advance/run."""
        with self._lock:
            self._offset = at - time.time()
            self._frozen = at if frozen else None

    def run(self) -> None:
        """Let a frozen clock run on from where it stands."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - time.time()
                self._frozen = None


@dataclass
class _Queued:
    kind: str
    method: str | None
    count: int


@dataclass
class FaultInjector:
    """Decides, per call, whether and how to fail. Deterministic for a given seed and call order."""

    seed: int = 0
    p_5xx: float = 0.0
    p_429: float = 0.0
    p_reset: float = 0.0
    p_timeout_after: float = 0.0
    p_reset_after: float = 0.0
    latency_ms: tuple[int, int] = (0, 0)
    methods: frozenset[str] | None = None
    hang_s: float = 30.0
    queue: deque[_Queued] = field(default_factory=deque)
    injected: dict[str, int] = field(default_factory=dict)
    _rng: random.Random = field(default_factory=random.Random)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)

    def configure(self, spec: dict[str, Any]) -> None:
        with self._lock:
            for name in ("p_5xx", "p_429", "p_reset", "p_timeout_after", "p_reset_after", "hang_s"):
                if name in spec:
                    value = float(spec[name])
                    if value < 0 or (name.startswith("p_") and value > 1):
                        raise ValueError(f"{name} must be a probability between 0 and 1")
                    setattr(self, name, value)
            if "latency_ms" in spec:
                low, high = (int(x) for x in spec["latency_ms"])
                self.latency_ms = (low, max(low, high))
            if "methods" in spec:
                self.methods = frozenset(spec["methods"]) if spec["methods"] else None
            if "seed" in spec:
                self.seed = int(spec["seed"])
                self._rng.seed(self.seed)
            for item in spec.get("queue", ()):
                kind = item["kind"]
                if kind not in PRE_FAULTS + POST_FAULTS:
                    raise ValueError(f"unknown fault kind {kind!r}")
                self.queue.append(_Queued(kind, item.get("method"), int(item.get("count", 1))))

    def clear(self) -> None:
        with self._lock:
            self.p_5xx = self.p_429 = self.p_reset = self.p_timeout_after = self.p_reset_after = 0.0
            self.latency_ms = (0, 0)
            self.methods = None
            self.queue.clear()

    def decide(self, method: str) -> tuple[str | None, float]:
        """Return (fault kind or None, latency seconds) for one call of ``method``."""
        with self._lock:
            for item in list(self.queue):
                if item.method in (None, method):
                    item.count -= 1
                    if item.count <= 0:
                        self.queue.remove(item)
                    self.injected[item.kind] = self.injected.get(item.kind, 0) + 1
                    return item.kind, 0.0
            latency = 0.0
            if self.latency_ms[1] > 0:
                latency = self._rng.uniform(*self.latency_ms) / 1000
            if self.methods is not None and method not in self.methods:
                return None, latency
            roll = self._rng.random()
            for kind, p in (
                ("5xx", self.p_5xx),
                ("429", self.p_429),
                ("reset", self.p_reset),
                ("timeout_after", self.p_timeout_after),
                ("reset_after", self.p_reset_after),
            ):
                if roll < p:
                    self.injected[kind] = self.injected.get(kind, 0) + 1
                    return kind, latency
                roll -= p
            return None, latency


class ConnectionDropped(Exception):
    """Raised inside the ASGI app to make the server drop the connection."""


MethodOf = Callable[[Scope, bytes], str | None]
Responder = Callable[[str], Response]


class FaultMiddleware:
    """ASGI middleware applying :class:`FaultInjector` decisions to API calls.

    ``method_of(scope, body)`` names the API method of a request (``None`` for calls that are
    not API calls, which are never faulted). ``rate_limited(method)`` and ``server_error(method)``
    build the network's own responses for injected 429s and 5xx.
    """

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        method_of: MethodOf,
        rate_limited: Responder,
        server_error: Responder | None = None,
    ) -> None:
        self.app = app
        self.injector = injector
        self.method_of = method_of
        self.rate_limited = rate_limited
        self.server_error = server_error or (
            lambda _m: Response("<html><body>502 Bad Gateway</body></html>", 502, media_type="text/html")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_emulator"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        method = self.method_of(scope, body)
        if method is None:
            await self.app(scope, _replay(body), send)
            return
        kind, latency = self.injector.decide(method)
        if latency:
            await asyncio.sleep(latency)
        if kind == "5xx":
            await self.server_error(method)(scope, _replay(body), send)
            return
        if kind == "429":
            await self.rate_limited(method)(scope, _replay(body), send)
            return
        if kind == "reset":
            await _drop(send)
            return
        if kind in POST_FAULTS:
            hang = self.injector.hang_s if kind == "timeout_after" else 0.0

            async def swallow(message: Message) -> None:
                if message["type"] == "http.response.start":
                    if hang:
                        await asyncio.sleep(hang)
                    await _drop(send)

            try:
                await self.app(scope, _replay(body), swallow)
            except ConnectionDropped:
                raise
            return
        await self.app(scope, _replay(body), send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    return receive


async def _drop(send: Send) -> None:
    # Promise a body that never comes, then abort: the client sees the connection die.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
    await send({"type": "http.response.body", "body": b"", "more_body": True})
    raise ConnectionDropped("connection dropped by fault injection")


def _steer(clock: EmulatorClock, spec: Any) -> None:
    """Apply one ``POST /_emulator/clock`` body: ``at`` (with ``frozen``), ``frozen``, ``advance_s``."""
    if not isinstance(spec, dict):
        raise TypeError("the body must be a JSON object")
    if spec.get("at") is not None:
        clock.set(float(spec["at"]), frozen=bool(spec.get("frozen", False)))
    elif spec.get("frozen") is False:
        clock.run()
    clock.advance(float(spec.get("advance_s", 0)))


def control_routes(
    injector: FaultInjector,
    clock: EmulatorClock,
    state: Callable[[], Any],
    ledger: Callable[[], Any],
    reset: Callable[[], Awaitable[None] | None] | None = None,
) -> list[Route]:
    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            injector.clear()
            return JSONResponse({"ok": True})
        if request.method == "GET":
            return JSONResponse({"injected": injector.injected, "queue": len(injector.queue)})
        try:
            injector.configure(json.loads(await request.body() or b"{}"))
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True})

    async def clock_route(request: Request) -> Response:
        if request.method == "POST":
            try:
                _steer(clock, json.loads(await request.body() or b"{}"))
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"now": clock.now().isoformat(), "timestamp": clock.timestamp()})

    async def state_route(_request: Request) -> Response:
        return JSONResponse(state())

    async def ledger_route(_request: Request) -> Response:
        return JSONResponse(ledger())

    async def reset_route(_request: Request) -> Response:
        if reset is not None:
            result = reset()
            if result is not None:
                await result
        injector.clear()
        return JSONResponse({"ok": True})

    return [
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/clock", clock_route, methods=["GET", "POST"]),
        Route("/_emulator/state", state_route, methods=["GET"]),
        Route("/_emulator/ledger", ledger_route, methods=["GET"]),
        Route("/_emulator/reset", reset_route, methods=["POST"]),
    ]


def save_state(state: object, path: Path) -> None:
    """Write an emulator's world (its state object's attributes, less its clock, address, locks
    and threads, which belong to the running process) to ``path``, so a later process can carry on
    from it (the demo's emulators across ``rupor demo`` and restarts of ``serve --demo``)."""
    kept: dict[str, Any] = {}
    with getattr(state, "lock", threading.RLock()):
        for name, value in vars(state).items():
            if name in ("clock", "base_url"):  # this process's: its clock and the address it serves at
                continue
            try:
                kept[name] = pickle.dumps(value)
            except (TypeError, AttributeError, pickle.PicklingError):
                continue  # a lock, an event, a thread: made anew by the next process
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(pickle.dumps(kept))
    tmp.replace(path)


def load_state(state: object, path: Path) -> bool:
    """Put a world :func:`save_state` wrote back into a fresh emulator's state object (same
    class); ``False`` when there is none or it cannot be read (the fresh world stays)."""
    try:
        # The file is the demo's own, under RUPOR_HOME (which only the operator may write).
        kept = pickle.loads(path.read_bytes())  # noqa: S301 - written by save_state of this local demo
        values = {name: pickle.loads(blob) for name, blob in kept.items()}  # noqa: S301 - as above
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return False
    with getattr(state, "lock", threading.RLock()):
        vars(state).update(values)
    return True


class RunningEmulator:
    """An emulator served by uvicorn on a background thread (tests, demo, benchmarks)."""

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit this: without it, each small response waits ~40 ms for a delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        self._sock = sock
        self.host, self.port = sock.getsockname()[:2]
        config = uvicorn.Config(
            app, log_level="critical", access_log=False, lifespan="off", timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"emulator:{self.port}"
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> RunningEmulator:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("emulator did not start")
            time.sleep(0.01)
        from rupor.core.http import allow_origin

        allow_origin(self.url)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        from rupor.core.http import close_pools

        close_pools(self.url)  # its kept-alive connections lead nowhere now

    def __enter__(self) -> RunningEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_SERVE = (
    "import sys\n"
    "from rupor.networks import emulation, registry\n"
    "network, host, port, limits = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == '1'\n"
    "emulation.serve_forever(registry.emulator_factory(network)(seed=0, rate_limits=limits), host, port)\n"
)


class EmulatorProcess:
    """An emulator served by a process of its own, for tests that measure the client alone
    (tracemalloc, CPU): the server's work and memory stay out of the figures. Has ``url``, as
    :class:`RunningEmulator` does, so the ``testing.channel_for`` helpers take it; its state is
    read over the control API only."""

    def __init__(self, network: str, host: str = "127.0.0.1", *, rate_limits: bool = False) -> None:
        self.network, self.host, self.rate_limits = network, host, rate_limits
        with socket.socket() as sock:
            sock.bind((host, 0))
            self.port = int(sock.getsockname()[1])
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The serving process's id while it runs (benchmarks read its memory from ``/proc``)."""
        return self._process.pid if self._process is not None else None

    def start(self) -> EmulatorProcess:
        from rupor.core import http

        argv = [
            sys.executable,
            "-c",
            _SERVE,
            self.network,
            self.host,
            str(self.port),
            "1" if self.rate_limits else "0",
        ]
        # Our own interpreter and a fixed script; the network is looked up in the registry.
        self._process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603 - see above
        http.allow_origin(self.url)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return self
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"the {self.network} emulator did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(app: ASGIApp, host: str, port: int) -> None:
    """Standalone serving for ``rupor emulate``."""
    uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="off")
