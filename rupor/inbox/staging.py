"""Webhook deliveries staged before they are stored: the intake's fast path.

A webhook request is checked at once (hook token, the network's secret, size, shape: a body the
adapter cannot read is a 400 and a recorded channel error, as before) and then kept as one row
(:class:`~rupor.inbox.models.HookDelivery`, one INSERT, committed before the network is told
"ok"). The *drainer* turns staged rows into inbox items in batches through the same path as
polling (:func:`rupor.inbox.service.ingest_for`: stored once per remote id, in arrival order,
edits and deletions applied) and deletes the rows in that same transaction, so a crash at any
point either leaves a row to drain again or has stored it and removed it, never both halves.

Who drains: a thread in each process that stages (started by ``rupor serve`` and on the first
staged delivery, woken by every one), and the worker's periodic job for anything left over (a
process that died, a web server run without the thread). Drains take the write lock (SQLite
``BEGIN IMMEDIATE``; PostgreSQL row locks), so two drainers never interleave and the order of
arrival is kept. A caller already inside a transaction (the Django test client, or a site with
``ATOMIC_REQUESTS``) drains inline: no other connection could see its row before it commits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import secrets
import select
import socket
import threading
import time
from collections.abc import Mapping

from django.db import connection, transaction
from django.db.models import F

from rupor.channels import service as channels
from rupor.core import clock, dbpool, prepared
from rupor.inbox import service
from rupor.inbox.models import HookDelivery
from rupor.networks import registry
from rupor.networks.base import Event

log = logging.getLogger(__name__)

#: Deliveries read per drain transaction (each one item for VK and Telegram).
DRAIN_BATCH = 500
#: A row whose drain failed this many times is left in the table (with the reason) for people.
MAX_ATTEMPTS = 5
#: The drainer thread closes its database connection when it had nothing to do for this long.
IDLE_S = 2.0
#: How long the woken drainer waits for more deliveries before it drains (a batch of one costs
#: as many queries as a batch of hundreds); also the least delay before a delivery is an item.
GATHER_S = 0.05
#: Request headers kept with a delivery (what the adapters read); the rest are not stored.
KEPT_HEADERS = ("content-type", "x-telegram-bot-api-secret-token")

_INSERT = prepared.PreparedInsert(
    HookDelivery, ("channel", "network", "body", "headers", "received_at", "attempts", "last_error")
)


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers worth staging (case as received), for the adapter to read again."""
    return {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}


class _WriteLock:
    """Held around every write to the staging table and every drain.

    SQLite has one writer at a time and makes the others sleep and retry (up to 100 ms a try);
    waiting on a lock instead hands the write over at once. Within a process that is a thread
    lock; on SQLite the web processes of ``rupor serve --processes N`` and the drainer also share
    an ``flock`` on a file beside the database (the kernel wakes the next waiter when it is
    released). The file is opened once per process: a descriptor inherited across ``fork`` would
    share the lock with the parent instead of excluding it.
    """

    def __init__(self) -> None:
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int | None:
        if connection.vendor != "sqlite":
            return None  # PostgreSQL: row locks and its own lock manager do it
        if self._pid != os.getpid():
            name = str(connection.settings_dict["NAME"])
            if name == ":memory:" or name.startswith("file:"):
                return None
            self._fd, self._pid = os.open(name + ".write-lock", os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        return self._fd

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def __exit__(self, *_exc: object) -> None:
        try:
            if self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


_WRITE_LOCK = _WriteLock()


class _Ticket:
    __slots__ = ("done", "error", "row")

    def __init__(self, row: tuple[object, ...]) -> None:
        self.row = row
        self.done = False
        self.error: BaseException | None = None


class _GroupCommit:
    """Rows from many request threads written in one transaction (a group commit).

    A thread that finds no write in progress writes every row waiting, its own included, and
    wakes the others; a thread whose row a write took returns once that write committed (or
    raises what it raised). One commit (and on PostgreSQL one WAL flush) serves all of them.
    """

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._pending: list[_Ticket] = []
        self._writing = False

    def submit(self, row: tuple[object, ...]) -> None:
        # A thread that may wait for another's write must not hold a pooled connection that
        # write needs: with as many request threads as the pool has connections, waiters
        # holding them all would leave the writer none until the pool's timeout (a 500 each).
        dbpool.give_back()
        ticket = _Ticket(row)
        with self._cv:
            self._pending.append(ticket)
            while not ticket.done and self._writing:
                self._cv.wait()
            if ticket.done:
                if ticket.error is not None:
                    raise ticket.error
                return
            batch, self._pending, self._writing = self._pending, [], True
        error: BaseException | None = None
        try:
            with _WRITE_LOCK:
                if len(batch) == 1:
                    _INSERT.insert(*batch[0].row)  # autocommit: one statement, its own transaction
                else:
                    with transaction.atomic():
                        _INSERT.insert_many([t.row for t in batch])
        except BaseException as exc:  # noqa: BLE001 - handed to every thread whose row it was
            error = exc
        with self._cv:
            for t in batch:
                t.done, t.error = True, error
            self._writing = False
            self._cv.notify_all()
        if error is not None:
            raise error


_GROUP = _GroupCommit()
_NO_LOCK = contextlib.nullcontext()


def stage(target: channels.HookTarget, headers: Mapping[str, str], body: bytes) -> None:
    """Keep a checked delivery for the drainer (committed when this returns, unless the caller
    holds a transaction: then it is drained here, inside it)."""
    row = (target.ref.id, target.ref.network, body, kept_headers(headers), clock.now(), 0, "")
    if connection.in_atomic_block:
        _INSERT.insert(*row)
        while drain():
            pass
        return
    _GROUP.submit(row)
    drainer.ensure_started()
    drainer.wake()


@dataclasses.dataclass
class _Failed:
    ids: list[int]
    reason: str
    final: bool  # no use trying again (the body no longer reads as a delivery)


def _events(
    channel_id: int, rows: list[tuple[int, str, bytes, dict[str, str]]]
) -> tuple[list[tuple[int, list[Event]]], _Failed | None]:
    """Read the channel's staged bodies again (the adapter checked them when they came): the
    events of each row, in order."""
    try:
        access = channels.access_for(channel_id)
    except channels.ChannelError as exc:
        return [], _Failed([r[0] for r in rows], exc.message, final=False)
    events: list[tuple[int, list[Event]]] = []
    unreadable: list[int] = []
    for row_id, network, body, headers in rows:
        try:
            result = registry.adapter(network).handle_webhook(access, headers, body)
        except Exception:
            log.exception("staged webhook delivery %s cannot be read again", row_id)
            unreadable.append(row_id)
            continue
        if result.status >= 300:
            unreadable.append(row_id)  # e.g. the secret changed since it came
            continue
        events.append((row_id, list(result.events)))
    if unreadable:
        return events, _Failed(
            unreadable, "the delivery no longer reads as one (secret or settings changed?)", True
        )
    return events, None


def drain(limit: int = DRAIN_BATCH) -> int:
    """Store up to ``limit`` staged deliveries, oldest first, and delete them, in one
    transaction (one savepoint per channel, so one broken channel does not hold up the others).
    Returns how many rows were read (0: nothing was waiting).

    The rows are read and their bodies parsed before the write lock is taken (a read does not
    wait for writers, and staging goes on meanwhile); in the transaction the rows are *claimed*
    again by id (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write lock serialises it), so
    of two drainers that read the same rows only the first stores them and the other finds
    them gone. Neither reads rows newer than ones not stored yet, so the order of arrival is kept.
    """
    rows = list(
        HookDelivery.objects.filter(attempts__lt=MAX_ATTEMPTS)
        .order_by("id")
        .values_list("id", "channel_id", "network", "body", "headers")[:limit]
    )
    if not rows:
        return 0
    by_channel: dict[int, list[tuple[int, str, bytes, dict[str, str]]]] = {}
    for row_id, channel_id, network, body, headers in rows:
        by_channel.setdefault(channel_id, []).append((row_id, network, bytes(body), headers))
    parsed = {
        channel_id: (*_events(channel_id, deliveries), channels.find_channel(channel_id, removed_too=True))
        for channel_id, deliveries in by_channel.items()
    }
    with _WRITE_LOCK if not connection.in_atomic_block else _NO_LOCK, transaction.atomic():
        claimed = set(
            HookDelivery.objects.select_for_update()
            .filter(id__in=[r[0] for r in rows])
            .values_list("id", flat=True)
        )
        done: list[int] = []
        failures: list[_Failed] = []
        for channel_id, (per_row, failed, channel) in parsed.items():
            if failed is not None:
                failed = dataclasses.replace(failed, ids=[i for i in failed.ids if i in claimed])
                if failed.ids:
                    failures.append(failed)
            ids = [row_id for row_id, _events in per_row if row_id in claimed]
            if not ids:
                continue
            events = [e for row_id, evs in per_row if row_id in claimed for e in evs]
            try:
                with transaction.atomic():
                    if channel is not None and events:
                        service.ingest_for(channel, events)
            except Exception as exc:
                log.exception("draining webhook deliveries of channel %s failed", channel_id)
                failures.append(_Failed(ids, f"{type(exc).__name__}: {exc}", final=False))
                continue
            done.extend(ids)
        if done:
            HookDelivery.objects.filter(id__in=done).delete()
        for f in failures:
            HookDelivery.objects.filter(id__in=f.ids).update(
                attempts=MAX_ATTEMPTS if f.final else F("attempts") + 1, last_error=f.reason[:300]
            )
    return len(rows)


def drain_all(budget_s: float = 20.0) -> int:
    """Drain until nothing waits or ``budget_s`` has passed; returns the rows handled."""
    started, handled = time.monotonic(), 0
    while time.monotonic() - started < budget_s:
        n = drain()
        handled += n
        if n == 0:
            break
    return handled


def waiting() -> int:
    """Staged deliveries not stored yet (those given up on included)."""
    return HookDelivery.objects.count()


#: The environment variable that names the drainer's wake socket to the web processes of
#: ``rupor serve --processes N`` (:attr:`_Drainer.wake_address`, :meth:`_Drainer.wake_only`).
WAKE_ENV = "RUPOR_DRAIN_WAKE"


def _abstract(address: str) -> str:
    """A socket address in Linux's abstract namespace, written with a leading "@" (as ``ss``
    shows it, and as an environment variable can carry it), as the socket calls take it."""
    return "\0" + address.removeprefix("@")


class _Drainer:
    """The process's drainer thread: sleeps until a delivery is staged (or ``IDLE_S``).

    It is woken through a datagram socket in Linux's abstract namespace (no file, gone with the
    process), so that other processes can wake it too: the web processes of ``rupor serve
    --processes N``, which the web server may start by fork or by a new interpreter alike, learn
    its name from :data:`WAKE_ENV`, stage deliveries and send it a byte (:meth:`wake_only`); the
    one drainer, in the serve process, stores them. A wake that cannot be sent (the socket's
    queue is full, or the drainer is gone) is dropped: the drainer is awake already, or the
    worker's periodic drain (``jobs.run_staged``) stores what waits.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._inbox: socket.socket | None = None
        self._address = ""
        self._out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._out.setblocking(False)
        self._wakes_only = False

    def _bound(self) -> socket.socket:
        """The socket this process's drainer is woken on (bound on first use)."""
        with self._lock:
            if self._inbox is None:
                inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                inbox.setblocking(False)
                # Abstract namespace: unique per process and drainer, nothing on disk.
                address = f"@rupor-drain-{os.getpid()}-{secrets.token_hex(6)}"
                inbox.bind(_abstract(address))
                self._inbox, self._address = inbox, address
            return self._inbox

    @property
    def wake_address(self) -> str:
        """What a process that stages but does not drain is given to wake this drainer
        (:meth:`wake_only`, through :data:`WAKE_ENV`): ``@`` and the abstract socket's name."""
        self._bound()
        return self._address

    def wake_only(self, address: str) -> None:
        """This process stages deliveries but does not drain them: it wakes the drainer of
        another process at ``address`` (that drainer's :attr:`wake_address`)."""
        self._address, self._wakes_only = address, True

    def ensure_started(self) -> None:
        if self._wakes_only or (self._thread is not None and self._thread.is_alive()):
            return
        self._bound()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="rupor-hook-drainer", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        if not self._address:
            return
        # A full queue: the drainer is awake already; no socket there: it is gone (the
        # worker's periodic drain stores what waits).
        with contextlib.suppress(BlockingIOError, ConnectionRefusedError, FileNotFoundError):
            self._out.sendto(b"\0", _abstract(self._address))

    def _woken(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for a wake; take every wake waiting. True when woken."""
        inbox = self._bound()
        ready, _w, _x = select.select([inbox], [], [], timeout)
        if not ready:
            return False
        with contextlib.suppress(BlockingIOError):
            while inbox.recv(64):
                pass
        return True

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in hand and stop (what is left waits for the next start)."""
        self._stop.set()
        self.wake()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        """Drain at start (what a process that died left), then whenever woken; after
        ``IDLE_S`` without work the database connection is closed (leftovers of other processes
        are the worker's job, ``jobs.run_staged``)."""
        woken = True
        try:
            while not self._stop.is_set():
                if woken:
                    try:
                        while not self._stop.is_set() and drain() == DRAIN_BATCH:
                            pass
                        dbpool.give_back()  # pooled: back for the request threads between drains
                    except Exception:
                        log.exception("draining staged webhook deliveries failed")
                        connection.close()
                        self._stop.wait(1.0)
                else:
                    connection.close()  # idle: give the connection back
                woken = self._woken(IDLE_S)
                if woken:
                    # Let deliveries gather: a drain costs a few queries whatever its size.
                    self._stop.wait(GATHER_S)
                    self._woken(0)  # the wakes of the gathered deliveries: this drain takes them
        finally:
            connection.close()


#: The one drainer of this process.
drainer = _Drainer()
