"""The worker loop: claim due targets, publish them on a thread pool, keep the books.

``rupor worker`` calls :func:`run_worker`; ``rupor serve`` runs it on a background thread with a
stop event. Any number of workers may run against one database: claims are atomic and leased
(see :mod:`rupor.publishing.engine`). ``python -m rupor.publishing`` runs one directly
(tests and benchmarks start worker processes this way).

When the database refuses or drops connections the worker does not die: the loop notes the
trouble (:mod:`rupor.core.dbwatch`, which the health page reads), waits (``core/backoff.py``,
full jitter, capped at :data:`OUTAGE_CAP_S`) and tries again; the targets it held keep their
leases, which expire, so this or another worker claims them again (a call that may have gone
out is reconciled, never sent twice). Once the database answers, its heartbeat records how many
troubles it met.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    connections,
)

from rupor.core import backoff, clock, config, dbpool, dbwatch
from rupor.core.logging import fields
from rupor.publishing import engine
from rupor.publishing.models import WorkerHeartbeat

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 5.0
NOTIFY_EVERY_S = 2.0
JOBS_EVERY_S = 30.0
#: Retrying a database that refuses connections: the first wait is up to OUTAGE_BASE_S, doubling
#: to at most OUTAGE_CAP_S (full jitter, so many workers do not come back at the same moment).
OUTAGE_BASE_S = 0.5
OUTAGE_CAP_S = 15.0
#: How often the loop touches RUPOR_WORKER_ALIVE_FILE (a container's health check reads its age).
ALIVE_EVERY_S = 5.0


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _heartbeat(worker_id: str, in_flight: int, done: int, *, stopped: bool = False) -> None:
    now = clock.now()
    trouble = dbwatch.totals()
    rate_waits = engine.RATE_WAITS.of(worker_id)
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "hostname": socket.gethostname()[:200],
            "pid": os.getpid(),
            "seen_at": now,
            "in_flight": in_flight,
            "done": done,
            "stopped_at": now if stopped else None,
            "db_errors": trouble.count,
            "db_error_at": trouble.last_at,
            "db_error": trouble.last_message[:300],
            "rate_waits": rate_waits,
        },
        create_defaults={
            "hostname": socket.gethostname()[:200],
            "pid": os.getpid(),
            "started_at": now,
            "seen_at": now,
            "in_flight": in_flight,
            "done": done,
            "rate_waits": rate_waits,
        },
    )
    if stopped:
        engine.RATE_WAITS.forget(worker_id)


#: A publishing thread keeps its database connection between targets (opening one costs more
#: than an attempt's statements); it is checked after every target and recycled this often.
RECYCLE_CONNECTIONS_S = 60.0
_thread_state = threading.local()


def _publish_in_thread(claim: engine.Claim, worker_id: str) -> engine.Result:
    try:
        return engine.publish_claimed(claim, worker_id)
    except Exception as exc:
        # A bug, or the database going away: never recorded as the network's answer. The target
        # keeps its state and lease; when the lease expires it is claimed again (reconciled if a
        # call may have gone out). Keep the worker alive. A bug is said with its traceback; a
        # database that refused or dropped the connection is noted for the health page.
        kind = dbwatch.note_exception(exc) if isinstance(exc, OperationalError | InterfaceError) else None
        if kind is None:
            log.exception(
                "publishing target %s stopped on an internal error; its lease will expire",
                claim.id,
                extra=fields(
                    "publish.attempt",
                    workspace_id=claim.workspace_id,
                    channel_id=claim.channel_id,
                    target_id=claim.id,
                    network=claim.channel_network,
                    worker_id=worker_id,
                    outcome="internal_error",
                ),
            )
        else:
            log.warning(
                "publishing target %s stopped: database connection %s (%s); its lease will expire",
                claim.id,
                kind,
                exc,
                extra=fields(
                    "publish.attempt",
                    workspace_id=claim.workspace_id,
                    channel_id=claim.channel_id,
                    target_id=claim.id,
                    network=claim.channel_network,
                    worker_id=worker_id,
                    outcome="internal_error",
                ),
            )
            _drop_connection()
        return engine.Outcome.ERROR
    finally:
        _tidy_connections()


def _drop_connection() -> None:
    """Close this thread's connection after it failed (a pool discards a broken one)."""
    with contextlib.suppress(DatabaseError):
        connection.close()


def _tidy_connections() -> None:
    """With a pool, give the connection back after every target (core/dbpool.py). Without one,
    drop a connection that saw an error and is no longer usable (or was left in a transaction),
    and every connection now and then; otherwise keep it for the next target."""
    if dbpool.pooled():
        dbpool.give_back()
        return
    now = time.monotonic()
    if now - getattr(_thread_state, "recycled", 0.0) >= RECYCLE_CONNECTIONS_S:
        _thread_state.recycled = now
        close_old_connections()
        return
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None and (
            conn.errors_occurred or conn.in_atomic_block or not conn.get_autocommit()
        ):
            conn.close_if_unusable_or_obsolete()


def _close_thread_connections(pool: ThreadPoolExecutor, threads: int) -> None:
    """Close the database connection each pool thread opened (one task per thread: the barrier
    keeps a thread from taking two)."""
    barrier = threading.Barrier(threads, timeout=10)

    def close() -> None:
        connections.close_all()
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    for future in [pool.submit(close) for _ in range(threads)]:
        future.result()


def _deliver_notifications() -> None:
    from rupor.notifications import service as notifications

    try:
        notifications.deliver_pending(limit=20)
    except Exception as exc:
        if _connection_trouble(exc):
            raise  # the loop waits for the database (see _Outage)
        log.exception("delivering notifications failed")


def _sweep() -> None:
    """The engine's safety net (expired leases, missed targets); a failure is logged and the
    next pass tries again, so the worker keeps publishing."""
    try:
        engine.sweep()
    except Exception as exc:
        if _connection_trouble(exc):
            raise  # the loop waits for the database (see _Outage)
        log.exception("sweeping failed")
        close_old_connections()


def _connection_trouble(exc: BaseException) -> bool:
    return dbwatch.classify(exc, connected=connection.connection is not None) is not None


class _Outage:
    """The loop's database trouble: each failure is noted (core/dbwatch) and followed by a
    backed-off wait; the first is logged as a warning, and so is the database answering again."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.failures = 0
        self.since = 0.0

    @property
    def active(self) -> bool:
        return self.failures > 0

    def failed(self, exc: OperationalError | InterfaceError) -> None:
        """Note ``exc`` and wait before the next try; raise it again when it is no connection
        problem (a bug in a statement must not be retried for ever)."""
        kind = dbwatch.note_exception(exc)
        if kind is None:
            raise exc
        _drop_connection()
        self.failures += 1
        wait = backoff.delay(self.failures, base=OUTAGE_BASE_S, cap=OUTAGE_CAP_S)
        if self.failures == 1:
            self.since = time.monotonic()
            log.warning("the database connection is %s (%s); trying again with backoff", kind, exc)
        else:
            log.info(
                "the database connection is still %s (try %d); next in %.1f s", kind, self.failures, wait
            )
        self.stop.wait(wait)

    def answered(self) -> None:
        if self.failures:
            log.warning(
                "the database answers again after %.1f s and %d failed tries",
                time.monotonic() - self.since,
                self.failures,
            )
            self.failures = 0


def _touch(path: str) -> None:
    """Mark the worker alive for a container's health check (RUPOR_WORKER_ALIVE_FILE)."""
    with contextlib.suppress(OSError):
        with open(path, "a"):
            pass
        os.utime(path)


#: A periodic job: called with the current time, it decides itself what is due.
PeriodicJob = Callable[[dt.datetime], object]


def _run_periodic_jobs(jobs: Sequence[PeriodicJob]) -> None:
    """The entry point's periodic jobs (inbox polling and metric collection, see
    :mod:`rupor.cli.jobs`); each records a channel's failure on that channel and goes on with
    the rest, and a job that raises is logged without stopping the others."""
    for job in jobs:
        try:
            job(clock.now())
        except Exception as exc:
            kind = dbwatch.note_exception(exc) if isinstance(exc, OperationalError | InterfaceError) else None
            if kind is None:
                log.exception("periodic job %s failed", job.__module__)
            else:
                log.warning("periodic job %s stopped: database connection %s (%s)", job.__module__, kind, exc)
                _drop_connection()
        finally:
            close_old_connections()


def run_worker(
    *,
    once: bool = False,
    stop: threading.Event | None = None,
    worker_id: str | None = None,
    concurrency: int = 4,
    jobs: Sequence[PeriodicJob] = (),
) -> int:
    """Publish due targets until ``stop`` is set (or, with ``once``, until nothing is due).

    Returns how many targets this worker handled. Each target is handled on one of
    ``concurrency`` threads, which overlap the network calls' waits (measured: 1, 4, 8 and 16
    threads publish about 9, 36, 68 and 128 targets/s against a network answering in 100 ms).
    The loop claims in batches, topping up to twice ``concurrency`` when half is left, so a
    busy worker holds few leases another worker could use and each claim serves several
    targets. An idle worker sleeps until the next target falls due (at most a poll interval).
    Threads keep their database connection between targets (with a pool, they give it back).
    It runs ``jobs`` (periodic jobs the entry point composes: ``rupor worker`` and ``rupor
    serve`` pass inbox polling and metric collection; tests and benchmarks of publishing pass
    none) on a thread of its own. A database that refuses or drops connections is waited for
    (:class:`_Outage`), never a reason to stop.
    """
    loop = _Loop(worker_id or default_worker_id(), stop or threading.Event(), max(1, concurrency), jobs, once)
    return loop.run()


class _Loop:
    """One worker's loop and its books (see :func:`run_worker`)."""

    def __init__(
        self, worker_id: str, stop: threading.Event, concurrency: int, jobs: Sequence[PeriodicJob], once: bool
    ) -> None:
        self.worker_id = worker_id
        self.stop = stop
        self.concurrency = concurrency
        self.jobs = jobs
        self.once = once
        self.poll_s = config.worker_poll_s()
        self.beat_every = max(0.2, min(5.0, engine.lease_seconds() / 3))
        self.alive_file = config.worker_alive_file()
        self.in_flight: dict[int, Future[engine.Result]] = {}
        # Claim in batches: when at most ``concurrency`` targets are left in hand, top up to twice
        # that, so threads never starve and each claim (and its one read) serves many targets.
        self.refill_at = concurrency
        self.done = 0
        self.last_beat = self.last_sweep = self.last_notify = self.last_alive = 0.0
        self.last_jobs = -JOBS_EVERY_S
        self.wake = threading.Event()
        self.outage = _Outage(stop)
        self.jobs_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs")
        self.jobs_future: Future[None] | None = None

    def _finished(self, _f: Future[engine.Result]) -> None:
        self.wake.set()

    def run(self) -> int:
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="publish") as pool:
            try:
                while not self.stop.is_set():
                    try:
                        if not self._pass(pool):
                            break
                    except (OperationalError, InterfaceError) as exc:
                        self.outage.failed(exc)
            finally:
                self._shut_down(pool)
        return self.done

    def _pass(self, pool: ThreadPoolExecutor) -> bool:
        """One turn of the loop; ``False`` when a ``once`` worker has nothing left to do."""
        now_m = time.monotonic()
        for tid in [t for t, f in self.in_flight.items() if f.done()]:
            self.in_flight.pop(tid)
            self.done += 1
        if self.alive_file and now_m - self.last_alive >= ALIVE_EVERY_S:
            _touch(self.alive_file)
            self.last_alive = now_m
        self._duties(now_m)
        free = self.concurrency * 2 - len(self.in_flight)
        claimed = engine.claim_batch(self.worker_id, free) if len(self.in_flight) <= self.refill_at else []
        self.outage.answered()  # the whole pass reached the database: any outage is over
        for claim in claimed:
            future = pool.submit(_publish_in_thread, claim, self.worker_id)
            future.add_done_callback(self._finished)
            self.in_flight[claim.id] = future
        if self.once and not claimed and not self.in_flight:
            return False
        if not claimed:
            self.wake.clear()
            # Sleep until a thread frees up, the next target falls due or the poll interval
            # passes (targets due earlier than planned are found by polling).
            idle = (
                engine.seconds_until_due(at_most=self.poll_s)
                if not self.in_flight
                else min(self.poll_s, 0.05)
            )
            dbpool.give_back()  # nothing to do with the database while asleep
            self.wake.wait(idle)
        elif free - len(claimed) <= 0:
            self.wake.clear()
            dbpool.give_back()
            self.wake.wait(min(self.poll_s, 0.05))
        return True

    def _duties(self, now_m: float) -> None:
        """Heartbeat and lease renewal, the sweep, notifications and the periodic jobs, each when due."""
        if now_m - self.last_beat >= self.beat_every:
            _heartbeat(self.worker_id, len(self.in_flight), self.done)
            engine.renew_leases(self.worker_id, list(self.in_flight))
            self.last_beat = now_m
        if now_m - self.last_sweep >= SWEEP_EVERY_S or (self.once and not self.in_flight):
            _sweep()
            self.last_sweep = now_m
        if now_m - self.last_notify >= NOTIFY_EVERY_S:
            _deliver_notifications()
            self.last_notify = now_m
        if (
            self.jobs
            and now_m - self.last_jobs >= JOBS_EVERY_S
            and (self.jobs_future is None or self.jobs_future.done())
        ):
            # Polling and metrics run beside publishing, never in its way.
            self.jobs_future = self.jobs_pool.submit(_run_periodic_jobs, self.jobs)
            self.last_jobs = now_m

    def _shut_down(self, pool: ThreadPoolExecutor) -> None:
        self.stop.set()
        for future in self.in_flight.values():
            future.result()
        if self.jobs_future is not None:
            self.jobs_future.result()
        self.jobs_pool.submit(connections.close_all).result()
        self.jobs_pool.shutdown()
        _close_thread_connections(pool, self.concurrency)
        self.done += len(self.in_flight)
        try:
            _deliver_notifications()
            _heartbeat(self.worker_id, 0, self.done, stopped=True)
        except (OperationalError, InterfaceError) as exc:
            # Stopping while the database is away: nothing left to record it in but the journal.
            dbwatch.note_exception(exc)
            log.warning("stopped without recording it: the database did not answer (%s)", exc)
        finally:
            connections.close_all()


class _Unlimited:
    """Rate limiting switched off (engine-ceiling benchmarks only)."""

    def acquire(self, charges: object, now: float) -> float:  # noqa: ARG002 - the limiter's interface; switched off, it ignores what it is given
        return 0.0

    def penalize(self, keys: object, until: float) -> None:  # noqa: ARG002 - the limiter's interface; switched off, it ignores what it is given
        return None

    def take_slot(self, slots: list[str], now: float, hold: float) -> tuple[float, str]:  # noqa: ARG002 - the limiter's interface; switched off, it ignores what it is given
        return 0.0, ""

    def put_slot(self, slot: str, held: float, free_at: float) -> None:  # noqa: ARG002 - the limiter's interface; switched off, it ignores what it is given
        return None

    def peek(self, keys: list[str]) -> dict[str, float]:  # noqa: ARG002 - the limiter's interface; switched off, it ignores what it is given
        return {}


def configure(
    *, rate_limits: str = "configured", retry_base: float | None = None, reconcile_delay: float | None = None
) -> None:
    """Tune this process's engine (tests and benchmarks; see ``python -m rupor.publishing``)."""
    from rupor.publishing import ratelimit

    if rate_limits == "off":
        ratelimit.use(_Unlimited())
    elif rate_limits != "configured":
        ratelimit.use(rate_limits)
    if retry_base is not None:
        engine.POLICY.backoff_base_s = retry_base
    if reconcile_delay is not None:
        engine.POLICY.reconcile_delay_s = reconcile_delay
