"""The web processes of ``rupor serve --processes N`` (decision 0021).

One Python process runs one thread of Python at a time (the GIL), so a single waitress process
answers webhooks with about one core whatever its thread count. With ``--processes N`` the
``serve`` process binds the listening socket and starts N web processes
(``python -m rupor.cli.webprocs``) that inherit it and accept on it, each a waitress server with
``--threads`` threads. The ``serve`` process itself answers no request: it runs the one webhook
drainer (the web processes stage deliveries and wake it through a pipe they inherit,
``inbox/staging.py``), the in-process worker and the demo's emulators, and starts a web process
again when one dies. New processes are started rather than forked, so no thread's lock is copied
into a child half taken.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

#: A web process that dies this soon after its start is not started again (it would only die again).
FAILED_START_S = 5.0


def listen(host: str, port: int) -> socket.socket:
    """The listening socket the web processes share (the address is reusable, as waitress's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class WebProcesses:
    """``count`` web processes serving ``sock``, each waking the drainer through ``wake_fd``."""

    def __init__(self, sock: socket.socket, count: int, threads: int, wake_fd: int) -> None:
        self._sock, self._count, self._threads, self._wake_fd = sock, count, threads, wake_fd
        self._procs: list[tuple[subprocess.Popen[bytes], float]] = []

    def _spawn(self) -> tuple[subprocess.Popen[bytes], float]:
        fd = self._sock.fileno()
        cmd = [sys.executable, "-m", "rupor.cli.webprocs", str(fd), str(self._wake_fd), str(self._threads)]
        proc = subprocess.Popen(cmd, pass_fds=(fd, self._wake_fd))  # noqa: S603 - our own module, fixed arguments
        return proc, time.monotonic()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p, _t in self._procs]

    def start(self) -> None:
        self._procs = [self._spawn() for _ in range(self._count)]

    def supervise(self, stop: threading.Event, every_s: float = 0.5) -> None:
        """Until ``stop``: start a web process again when one exits (unless it died at start)."""
        while not stop.wait(every_s):
            for i, (proc, started) in enumerate(self._procs):
                code = proc.poll()
                if code is None:
                    continue
                if time.monotonic() - started < FAILED_START_S:
                    log.error("a web process exited at start (exit %s); stopping", code)
                    stop.set()
                    return
                log.warning("web process %s exited (exit %s); starting another", proc.pid, code)
                self._procs[i] = self._spawn()

    def stop(self, timeout: float = 30.0) -> None:
        """Ask every web process to finish (SIGTERM), then wait; kill what is still running."""
        for proc, _t in self._procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc, _t in self._procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._sock.close()


def main(argv: list[str]) -> None:
    """A web process: serve the inherited socket ``argv[0]``, wake the drainer through
    ``argv[1]``, with ``argv[2]`` threads; SIGTERM ends it."""
    sock_fd, wake_fd, threads = (int(a) for a in argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rupor.settings")
    import django

    django.setup()
    from waitress.server import create_server

    from rupor.inbox import staging
    from rupor.wsgi import application

    staging.drainer.wake_only(wake_fd)
    sock = socket.socket(fileno=sock_fd)
    server = create_server(application, sockets=[sock], threads=threads, ident="Rupor")

    def shutdown(*_args: object) -> None:
        server.close()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the serve process, which stops us
    with contextlib.suppress(OSError, ValueError):  # closed by the signal handler
        server.run()


if __name__ == "__main__":
    main(sys.argv[1:])
