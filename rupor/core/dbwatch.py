"""What went wrong with the database lately, kept where the failing database is not needed.

When PostgreSQL refuses connections (too many for the role or the server, the server restarting)
or drops them, the database cannot record it: each process notes the trouble here as it meets it,
and :func:`recent` reads what every process noted, for the health page and ``/healthz``.

The journal is Redis when ``RUPOR_REDIS_URL`` is set (one sorted set, what several machines
share), else a file under ``RUPOR_HOME`` (the processes of one machine, or containers sharing the
volume). Notes older than :data:`KEEP_S` are dropped. Writing a note never raises: a journal that
cannot be written is logged at debug level and the process carries on. Each process also counts
its own troubles since it started (:func:`totals`), which a worker copies into its heartbeat once
the database answers again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from rupor.core import config
from rupor.core.logging import redact

log = logging.getLogger(__name__)

#: A connection the server refused (too many connections, not accepting, authentication, gone).
REFUSED = "refused"
#: A connection that broke while in use (the server restarted, a proxy or firewall cut it).
LOST = "lost"
#: No pooled connection became free within RUPOR_DB_POOL_TIMEOUT (while the server accepted
#: connections: a wait that followed refusals is named a refusal).
EXHAUSTED = "exhausted"
KINDS = (REFUSED, LOST, EXHAUSTED)

#: How long notes are kept, and the two windows :func:`recent` counts.
KEEP_S = 15 * 60.0
WINDOWS_S = (60.0, KEEP_S)

_REDIS_KEY = "rupor:db-trouble"
_FILE_NAME = "db-trouble.log"
#: The file is rewritten without old notes when it grows past this.
_FILE_TRIM_BYTES = 256 * 1024
#: A pool that had no connection to lend this soon after one of its connects was refused was
#: refused, not exhausted.
REFUSALS_EXPLAIN_S = 30.0
#: A note's message is cut to this many characters.
_MESSAGE_CHARS = 300


@dataclasses.dataclass(frozen=True)
class Trouble:
    """One kind of trouble over the last :data:`KEEP_S` seconds, from every process's notes."""

    kind: str
    last_minute: int
    last_15_minutes: int
    processes: int
    last_at: dt.datetime
    last_message: str


@dataclasses.dataclass(frozen=True)
class Totals:
    """This process's troubles since it started."""

    count: int
    last_at: dt.datetime | None
    last_message: str


_lock = threading.Lock()
_count = 0
_last_at: dt.datetime | None = None
_last_message = ""
_seq = 0
_last_refused = -1e9  # time.monotonic() of this process's last refused connect
_redis_client: Any = None
_redis_url: str | None = None


def _process() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def classify(exc: BaseException, *, connected: bool) -> str | None:
    """Which kind of trouble ``exc`` is (``None``: not a connection problem, e.g. a bad query).

    ``connected``: whether the thread had its connection when it failed (``False``: the error
    came from opening one). Decided from the error's class and SQLSTATE, never its text: Django
    wraps the driver's errors (``django.db.OperationalError`` / ``InterfaceError``, the driver's
    own as ``__cause__``); psycopg_pool's PoolTimeout is an OperationalError too.
    """
    from django.db import InterfaceError, OperationalError

    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    cause = exc.__cause__ or exc
    if _pool_wait(cause):
        return EXHAUSTED
    if not connected:
        return REFUSED
    sqlstate = getattr(cause, "sqlstate", None)
    # No SQLSTATE: the client lost the connection (the server closed it, the network cut it).
    # Class 08: connection exception; 57P: operator intervention (shutdown, terminated backend).
    if sqlstate is None or str(sqlstate).startswith(("08", "57P")):
        return LOST
    if sqlstate == "53300":  # too_many_connections
        return REFUSED
    return None


def _pool_wait(cause: BaseException) -> bool:
    try:
        from psycopg_pool import PoolTimeout, TooManyRequests
    except ImportError:  # no pool installed: no pool to wait for
        return False
    return isinstance(cause, PoolTimeout | TooManyRequests)


def note(kind: str, message: str) -> None:
    """Record one trouble of ``kind`` met by this process now (never raises)."""
    global _count, _last_at, _last_message, _seq, _last_refused
    now = time.time()
    text = redact(" ".join(message.split()))[:_MESSAGE_CHARS]
    with _lock:
        if kind == REFUSED:
            _last_refused = time.monotonic()
        _count += 1
        _last_at = dt.datetime.fromtimestamp(now, dt.UTC)
        _last_message = text
        _seq += 1
        entry = {"k": kind, "t": now, "p": _process(), "m": text, "n": _seq}
    try:
        if config.redis_url():
            _note_redis(entry)
        else:
            _note_file(entry)
    except Exception:  # best effort: a note must never become the failure
        log.debug("could not record a database trouble", exc_info=True)


def note_exception(exc: BaseException) -> str | None:
    """Note ``exc``, which the calling thread's default connection has just raised, when it is a
    connection problem; return its kind (``None``: it is not one, and nothing is noted)."""
    from django.db import connection

    kind = classify(exc, connected=connection.connection is not None)
    if kind == EXHAUSTED and time.monotonic() - _last_refused < REFUSALS_EXPLAIN_S:
        # The pool had nothing to lend because the server refused its attempts (each already
        # noted as it happened): that is the trouble to name, not the wait.
        return REFUSED
    if kind is not None:
        note(kind, str(exc.__cause__ or exc))
    return kind


def totals() -> Totals:
    with _lock:
        return Totals(_count, _last_at, _last_message)


def recent(now: float | None = None) -> tuple[Trouble, ...]:
    """Each kind of trouble noted in the last :data:`KEEP_S` seconds, by every process (empty when
    the journal cannot be read)."""
    now = time.time() if now is None else now
    try:
        entries = _read_redis(now) if config.redis_url() else _read_file(now)
    except Exception:  # the health page shows what it can: an unreadable journal is an empty one
        log.debug("could not read the database troubles", exc_info=True)
        return ()
    out = []
    for kind in KINDS:
        mine = [e for e in entries if e.get("k") == kind and now - float(e.get("t", 0)) <= KEEP_S]
        if not mine:
            continue
        last = max(mine, key=lambda e: float(e["t"]))
        out.append(
            Trouble(
                kind=kind,
                last_minute=sum(1 for e in mine if now - float(e["t"]) <= WINDOWS_S[0]),
                last_15_minutes=len(mine),
                processes=len({str(e.get("p", "")) for e in mine}),
                last_at=dt.datetime.fromtimestamp(float(last["t"]), dt.UTC),
                last_message=str(last.get("m", "")),
            )
        )
    return tuple(out)


def forget() -> None:
    """Empty the journal and this process's counts (tests, and an operator starting afresh)."""
    global _count, _last_at, _last_message, _last_refused
    with _lock:
        _count, _last_at, _last_message, _last_refused = 0, None, "", -1e9
    if config.redis_url():
        _redis().delete(_REDIS_KEY)
    else:
        with contextlib.suppress(FileNotFoundError):
            _path().unlink()


# -- Redis --------------------------------------------------------------------------------------


def _redis() -> Any:
    global _redis_client, _redis_url
    url = config.redis_url()
    if _redis_client is None or url != _redis_url:
        import redis

        # Short timeouts: a note is written while something else is already failing.
        _redis_client = redis.Redis.from_url(str(url), socket_timeout=0.5, socket_connect_timeout=0.5)
        _redis_url = url
    return _redis_client


def _note_redis(entry: dict[str, Any]) -> None:
    pipe = _redis().pipeline()
    pipe.zadd(_REDIS_KEY, {json.dumps(entry, separators=(",", ":")): entry["t"]})
    pipe.zremrangebyscore(_REDIS_KEY, "-inf", entry["t"] - KEEP_S)
    pipe.expire(_REDIS_KEY, int(KEEP_S) * 2)
    pipe.execute()


def _read_redis(now: float) -> list[dict[str, Any]]:
    raw = _redis().zrangebyscore(_REDIS_KEY, now - KEEP_S, "+inf")
    return [json.loads(item) for item in raw]


# -- a file under RUPOR_HOME -------------------------------------------------------------------


def _path() -> Path:
    return config.home() / _FILE_NAME


def _note_file(entry: dict[str, Any]) -> None:
    path = _path()
    line = (json.dumps(entry, separators=(",", ":")) + "\n").encode()
    # One write with O_APPEND: lines of several processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, line)
        if os.fstat(fd).st_size > _FILE_TRIM_BYTES:
            _trim(path, float(entry["t"]))
    finally:
        os.close(fd)


def _trim(path: Path, now: float) -> None:
    with path.open("r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        kept = [line for line in handle.read().splitlines(keepends=True) if _fresh(line, now)]
        handle.seek(0)
        handle.write(b"".join(kept))
        handle.truncate()


def _fresh(line: bytes, now: float) -> bool:
    try:
        return now - float(json.loads(line)["t"]) <= KEEP_S
    except (ValueError, KeyError, TypeError):
        return False


def _read_file(now: float) -> list[dict[str, Any]]:
    try:
        with _path().open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - 2 * _FILE_TRIM_BYTES))
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        with contextlib.suppress(ValueError, TypeError):
            entry = json.loads(line)
            if isinstance(entry, dict) and now - float(entry.get("t", 0)) <= KEEP_S:
                out.append(entry)
    return out


__all__ = [
    "EXHAUSTED",
    "KINDS",
    "LOST",
    "REFUSED",
    "Totals",
    "Trouble",
    "classify",
    "forget",
    "note",
    "note_exception",
    "recent",
    "totals",
]
