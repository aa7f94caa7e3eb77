"""The worker loop: claim due targets, publish them on a thread pool, keep the books.

``rupor worker`` calls :func:`run_worker`; ``rupor serve`` runs it on a background thread with a
stop event. Any number of workers may run against one database: claims are atomic and leased
(see :mod:`rupor.publishing.engine`). ``python -m rupor.publishing`` runs one directly
(tests and benchmarks start worker processes this way).
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

from django.db import close_old_connections, connections

from rupor.core import clock, config
from rupor.core.logging import fields
from rupor.publishing import engine
from rupor.publishing.models import WorkerHeartbeat

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 5.0
NOTIFY_EVERY_S = 2.0
JOBS_EVERY_S = 30.0


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _heartbeat(worker_id: str, in_flight: int, done: int, *, stopped: bool = False) -> None:
    now = clock.now()
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
    except Exception:
        # A bug, or the database going away: said loudly, with the traceback, and never recorded
        # as the network's answer. The target keeps its state and lease; when the lease expires
        # it is claimed again (reconciled if a call may have gone out). Keep the worker alive.
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
        return engine.Outcome.ERROR
    finally:
        _tidy_connections()


def _tidy_connections() -> None:
    """Drop a connection that saw an error and is no longer usable (or was left in a
    transaction), and every connection now and then; otherwise keep it for the next target."""
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
    except Exception:
        log.exception("delivering notifications failed")


def _sweep() -> None:
    """The engine's safety net (expired leases, missed targets); a failure is logged and the
    next pass tries again, so the worker keeps publishing."""
    try:
        engine.sweep()
    except Exception:
        log.exception("sweeping failed")
        close_old_connections()


#: A periodic job: called with the current time, it decides itself what is due.
PeriodicJob = Callable[[dt.datetime], object]


def _run_periodic_jobs(jobs: Sequence[PeriodicJob]) -> None:
    """The entry point's periodic jobs (inbox polling and metric collection, see
    :mod:`rupor.cli.jobs`); each records a channel's failure on that channel and goes on with
    the rest, and a job that raises is logged without stopping the others."""
    for job in jobs:
        try:
            job(clock.now())
        except Exception:
            log.exception("periodic job %s failed", job.__module__)
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
    Threads keep their database connection between targets. It runs ``jobs`` (periodic jobs the
    entry point composes: ``rupor worker`` and ``rupor serve`` pass inbox polling and metric
    collection; tests and benchmarks of publishing pass none) on a thread of its own.
    """
    worker_id = worker_id or default_worker_id()
    stop = stop or threading.Event()
    poll_s = config.worker_poll_s()
    lease_s = engine.lease_seconds()
    concurrency = max(1, concurrency)
    in_flight: dict[int, Future[engine.Result]] = {}
    # Claim in batches: when at most ``concurrency`` targets are left in hand, top up to twice
    # that, so threads never starve and each claim (and its one read) serves many targets.
    refill_at = concurrency
    done = 0
    last_beat = last_sweep = last_notify = 0.0
    beat_every = max(0.2, min(5.0, lease_s / 3))
    wake = threading.Event()

    def finished(_f: Future[engine.Result]) -> None:
        wake.set()

    jobs_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobs")
    jobs_future: Future[None] | None = None
    last_jobs = -JOBS_EVERY_S
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="publish") as pool:
        try:
            while not stop.is_set():
                now_m = time.monotonic()
                for tid in [t for t, f in in_flight.items() if f.done()]:
                    in_flight.pop(tid)
                    done += 1
                if now_m - last_beat >= beat_every:
                    _heartbeat(worker_id, len(in_flight), done)
                    engine.renew_leases(worker_id, list(in_flight))
                    last_beat = now_m
                if now_m - last_sweep >= SWEEP_EVERY_S or (once and not in_flight):
                    _sweep()
                    last_sweep = now_m
                if now_m - last_notify >= NOTIFY_EVERY_S:
                    _deliver_notifications()
                    last_notify = now_m
                if jobs and now_m - last_jobs >= JOBS_EVERY_S and (jobs_future is None or jobs_future.done()):
                    # Polling and metrics run beside publishing, never in its way.
                    jobs_future = jobs_pool.submit(_run_periodic_jobs, jobs)
                    last_jobs = now_m
                free = concurrency * 2 - len(in_flight)
                claimed = engine.claim_batch(worker_id, free) if len(in_flight) <= refill_at else []
                for claim in claimed:
                    future = pool.submit(_publish_in_thread, claim, worker_id)
                    future.add_done_callback(finished)
                    in_flight[claim.id] = future
                if once and not claimed and not in_flight:
                    break
                if not claimed:
                    wake.clear()
                    # Sleep until a thread frees up, the next target falls due or the poll
                    # interval passes (targets due earlier than planned are found by polling).
                    idle = engine.seconds_until_due(at_most=poll_s) if not in_flight else min(poll_s, 0.05)
                    waited = wake.wait(idle)
                    if stop.is_set():
                        break
                    del waited
                elif free - len(claimed) <= 0:
                    wake.clear()
                    wake.wait(min(poll_s, 0.05))
        finally:
            stop.set()
            for future in in_flight.values():
                future.result()
            if jobs_future is not None:
                jobs_future.result()
            jobs_pool.submit(connections.close_all).result()
            jobs_pool.shutdown()
            _close_thread_connections(pool, concurrency)
            done += len(in_flight)
            _deliver_notifications()
            try:
                _heartbeat(worker_id, 0, done, stopped=True)
            finally:
                connections.close_all()
    return done


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
