"""The web processes of ``rupor serve --processes N`` (decisions 0021, 0025).

One Python process runs one thread of Python at a time (the GIL), so a single web process
answers webhooks with about one core whatever its thread count. With ``--processes N`` the
``serve`` process starts one child, ``python -m rupor.cli.webprocs``, which runs Granian (an
HTTP server written in Rust, serving Rupor's WSGI application) with N worker processes of
``--threads`` Python threads each: Granian parses HTTP outside Python, which leaves the cores to
Rupor's own work (about half the CPU per webhook of a pure-Python server), and it starts a
worker again when one dies. The ``serve`` process itself answers no request: it runs the one
webhook drainer (the web processes stage deliveries and wake it through the socket named by
``staging.WAKE_ENV``), the in-process worker and the demo's emulators, and starts the web server
again when it exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

#: A web server that exits this soon after its start is not started again (it would only exit again).
FAILED_START_S = 5.0


class WebProcesses:
    """Granian with ``count`` worker processes on ``host:port``, each waking the drainer at
    ``wake_address``; started again when it exits (unless it failed at start)."""

    def __init__(self, host: str, port: int, count: int, threads: int, wake_address: str) -> None:
        self._args = [host, str(port), str(count), str(threads)]
        self._wake_address = wake_address
        self._proc: subprocess.Popen[bytes] | None = None
        self._started = 0.0
        #: Why the web server stopped on its own (empty while it runs or after a normal stop).
        self.failure = ""

    def _spawn(self) -> None:
        from rupor.inbox import staging

        env = {**os.environ, staging.WAKE_ENV: self._wake_address}
        cmd = [sys.executable, "-m", "rupor.cli.webprocs", *self._args]
        self._proc = subprocess.Popen(cmd, env=env)  # noqa: S603 - our own module, fixed arguments
        self._started = time.monotonic()

    @property
    def pid(self) -> int | None:
        """The web server's main process (Granian's; its workers are its children)."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        self._spawn()

    def supervise(self, stop: threading.Event, every_s: float = 0.5) -> None:
        """Until ``stop``: start the web server again when it exits (unless it died at start)."""
        while not stop.wait(every_s):
            proc = self._proc
            if proc is None or (code := proc.poll()) is None:
                continue
            if time.monotonic() - self._started < FAILED_START_S:
                self.failure = f"the web server exited at start (exit {code})"
                log.error("%s; stopping", self.failure)
                stop.set()
                return
            log.warning("the web server (%s) exited (exit %s); starting it again", proc.pid, code)
            self._spawn()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the web server to finish (SIGTERM: Granian stops its workers), then wait; kill
        what is still running."""
        proc = self._proc
        if proc is None:
            return
        workers = _children(proc.pid)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        # Its workers finish on their own (Granian stops them; a worker whose parent is gone
        # stops itself): wait for them, so that nothing of ours still answers once this returns.
        while workers and time.monotonic() < deadline:
            workers = [pid for pid in workers if _running(pid)]
            time.sleep(0.1)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (read from /proc on Linux; none elsewhere)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.scandir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError), open(f"{task.path}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    return found


def _running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _follow_parent(every_s: float = 1.0) -> None:
    """End this process (SIGTERM, so it finishes what it serves) once its parent is gone: a web
    server whose ``serve`` process was killed, or a worker whose web server was, must not go on
    answering on the port with nobody draining or supervising."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        log.warning("the parent process %s is gone; stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="rupor-follow-parent", daemon=True).start()


def application() -> Any:
    """The WSGI application of one Granian worker (Granian calls this factory in each worker):
    Rupor's, with webhook deliveries staged here and drained by the serve process."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
    import django

    django.setup()
    from rupor.inbox import staging
    from rupor.wsgi import application as wsgi

    staging.drainer.wake_only(os.environ[staging.WAKE_ENV])
    _follow_parent()
    return wsgi


def main(argv: list[str]) -> None:
    """The web server: Granian on ``argv[0]:argv[1]`` with ``argv[2]`` workers of ``argv[3]``
    threads; SIGTERM ends it (and its workers)."""
    from granian.constants import Interfaces
    from granian.server import Server

    host, port, workers, threads = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    _follow_parent()
    Server(
        "rupor.cli.webprocs:application",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        factory=True,
        workers=workers,
        blocking_threads=threads,
        backpressure=threads,
        respawn_failed_workers=True,
        log_level="error",  # type: ignore[arg-type]  # Granian takes the level's name (its thread-count advice is noise)
    ).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
