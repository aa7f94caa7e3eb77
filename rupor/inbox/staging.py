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
import logging
import threading
import time
from collections.abc import Mapping

from django.db import connection, transaction
from django.db.models import F

from rupor.channels import service as channels
from rupor.core import clock, prepared
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


#: Held by this process around its writes to the staging table and its drains. SQLite has one
#: writer at a time and makes the others sleep and retry (up to 100 ms a try); waiting on this
#: lock instead hands over at once. Other processes still meet SQLite's busy timeout.
_WRITE_LOCK = threading.Lock()


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
            with _WRITE_LOCK, transaction.atomic():
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
) -> tuple[list[Event], _Failed | None]:
    """Read the channel's staged bodies again (the adapter checked them when they came)."""
    try:
        access = channels.access_for(channel_id)
    except channels.ChannelError as exc:
        return [], _Failed([r[0] for r in rows], exc.message, final=False)
    events: list[Event] = []
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
        events.extend(result.events)
    if unreadable:
        return events, _Failed(
            unreadable, "the delivery no longer reads as one (secret or settings changed?)", True
        )
    return events, None


def drain(limit: int = DRAIN_BATCH) -> int:
    """Store up to ``limit`` staged deliveries, oldest first, and delete them, in one
    transaction (one savepoint per channel, so one broken channel does not hold up the others).
    Returns how many rows were handled (0: nothing was waiting)."""
    with _WRITE_LOCK if not connection.in_atomic_block else _NO_LOCK, transaction.atomic():
        rows = list(
            HookDelivery.objects.select_for_update()
            .filter(attempts__lt=MAX_ATTEMPTS)
            .order_by("id")
            .values_list("id", "channel_id", "network", "body", "headers")[:limit]
        )
        if not rows:
            return 0
        by_channel: dict[int, list[tuple[int, str, bytes, dict[str, str]]]] = {}
        for row_id, channel_id, network, body, headers in rows:
            by_channel.setdefault(channel_id, []).append((row_id, network, bytes(body), headers))
        done: list[int] = []
        failures: list[_Failed] = []
        for channel_id, deliveries in by_channel.items():
            events, failed = _events(channel_id, deliveries)
            if failed is not None:
                failures.append(failed)
            failed_ids = set(failed.ids) if failed else set()
            ids = [r[0] for r in deliveries if r[0] not in failed_ids]
            if not ids:
                continue
            channel = channels.find_channel(channel_id, removed_too=True)
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


class _Drainer:
    """The process's drainer thread: sleeps until a delivery is staged (or ``IDLE_S``)."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="rupor-hook-drainer", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the batch in hand and stop (what is left waits for the next start)."""
        self._stop.set()
        self._wake.set()
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
                    self._wake.clear()
                    try:
                        while not self._stop.is_set() and drain() == DRAIN_BATCH:
                            pass
                    except Exception:
                        log.exception("draining staged webhook deliveries failed")
                        connection.close()
                        self._stop.wait(1.0)
                else:
                    connection.close()  # idle: give the connection back
                woken = self._wake.wait(IDLE_S)
                if woken:
                    # Let deliveries gather: a drain costs a few queries whatever its size.
                    self._stop.wait(GATHER_S)
        finally:
            connection.close()


#: The one drainer of this process.
drainer = _Drainer()
