"""Prometheus's /metrics: the operations snapshot of the whole instance, read at scrape time.

Rupor runs several web processes (``serve --processes N``) and workers on other machines, so a
counter kept in one process would say a different thing on every scrape. Every figure here is
read from the database when Prometheus asks (a custom collector over
:func:`rupor.operations.snapshot.operations_snapshot`), so any process answers the same. The few
figures only a process knows (a worker's rate-limit waits) reach the database through that
worker's heartbeat and are read from there. Windowed figures ("in the last hour") are gauges or
gauge histograms; per-worker totals since the worker started are counters.

Names, labels and what to alert on: docs/operations.md.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from rupor import __version__
from rupor.core import config
from rupor.core.distribution import Distribution
from rupor.operations.snapshot import OperationsSnapshot, operations_snapshot
from rupor.publishing.health import STATES

#: The classic text format, which every Prometheus (2.x and 3.x) and every agent reads; Rupor's
#: names are plain ASCII, so nothing of the newer format is needed.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


def _gauge(name: str, doc: str, value: float | None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=0.0 if value is None else float(value))


def _labelled(name: str, doc: str, label: str, values: Mapping[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], float(value))
    return family


def _histogram(name: str, doc: str, by_network: Mapping[str, Distribution]) -> GaugeHistogramMetricFamily:
    family = GaugeHistogramMetricFamily(name, doc, labels=["network"])
    for network, dist in sorted(by_network.items()):
        buckets = [(_bound(b), float(n)) for b, n in zip(dist.bounds, dist.cumulative, strict=True)]
        buckets.append(("+Inf", float(dist.count)))
        family.add_metric([network], buckets, gsum_value=dist.total_s)
    return family


def _bound(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _engine(snap: OperationsSnapshot) -> Iterator[Metric]:
    engine = snap.engine
    window = f"the last {int(engine.window_s // 60)} minutes"
    yield _labelled(
        "rupor_publication_targets",
        "Publication targets (one post on one channel) by state.",
        "state",
        {state: engine.counts.get(state, 0) for state in STATES},
    )
    yield _gauge("rupor_publication_due_targets", "Targets due now and not yet out.", engine.backlog)
    yield _gauge(
        "rupor_publication_oldest_due_seconds",
        "How late the most overdue waiting target already is (0 when none is due).",
        engine.oldest_due_s,
    )
    yield _histogram(
        "rupor_publication_lateness_seconds",
        f"Seconds from the planned time to published, for targets published in {window}.",
        engine.lateness_recent,
    )
    attempts = GaugeMetricFamily(
        "rupor_publication_attempts_recent",
        f"Publishing attempts that ended in {window}, by network and outcome.",
        labels=["network", "outcome"],
    )
    for network, outcomes in sorted(engine.attempts_recent.items()):
        for outcome, n in sorted(outcomes.items()):
            attempts.add_metric([network, outcome], float(n))
    yield attempts
    yield _labelled(
        "rupor_publication_failures_24h",
        "Targets that failed, were missed or are unconfirmed in the last 24 hours, by network.",
        "network",
        engine.failures_24h,
    )
    yield _labelled(
        "rupor_channels_with_errors",
        "Live channels whose last periodic job (inbox polling, metric collection, a webhook) failed.",
        "network",
        _count_by(e.network for e in engine.channel_errors),
    )


def _count_by(values: Iterable[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def _workers(snap: OperationsSnapshot) -> Iterator[Metric]:
    engine = snap.engine
    yield _gauge(
        "rupor_workers_alive", "Workers that checked in within the last minute.", engine.workers_alive
    )
    alive = GaugeMetricFamily(
        "rupor_worker_alive", "1 while a worker checks in, else 0.", labels=["worker", "host"]
    )
    stopped = GaugeMetricFamily(
        "rupor_worker_stopped",
        "1 for a worker that stopped cleanly; a worker neither alive nor stopped died or lost the database.",
        labels=["worker", "host"],
    )
    age = GaugeMetricFamily(
        "rupor_worker_heartbeat_age_seconds",
        "Seconds since a worker last checked in.",
        labels=["worker", "host"],
    )
    in_flight = GaugeMetricFamily(
        "rupor_worker_in_flight", "Targets a worker is publishing now.", labels=["worker"]
    )
    handled = CounterMetricFamily(
        "rupor_worker_handled", "Targets a worker has handled since it started.", labels=["worker"]
    )
    waits = CounterMetricFamily(
        "rupor_rate_limit_waits",
        "Publishes that found the network's rate limit busy, since the worker started: waited "
        "inline (how=inline) or put back for later (how=deferred).",
        labels=["worker", "network", "how"],
    )
    waited = CounterMetricFamily(
        "rupor_rate_limit_wait_seconds",
        "Seconds of those waits: slept inline, or how far targets were put back.",
        labels=["worker", "network", "how"],
    )
    for w in engine.workers:
        alive.add_metric([w.worker_id, w.hostname], 1.0 if w.alive else 0.0)
        stopped.add_metric([w.worker_id, w.hostname], 1.0 if w.stopped else 0.0)
        age.add_metric([w.worker_id, w.hostname], w.age_s)
        in_flight.add_metric([w.worker_id], float(w.in_flight))
        handled.add_metric([w.worker_id], float(w.done))
        for network, row in sorted(w.rate_waits.items()):
            for how in ("inline", "deferred"):
                waits.add_metric([w.worker_id, network, how], float(row.get(how, 0) or 0))
                waited.add_metric([w.worker_id, network, how], float(row.get(f"{how}_s", 0) or 0))
    yield from (alive, stopped, age, in_flight, handled, waits, waited)


def _intake(snap: OperationsSnapshot) -> Iterator[Metric]:
    intake = snap.intake
    yield _gauge("rupor_inbox_waiting_items", "Comments and messages waiting for an answer.", intake.waiting)
    yield _gauge(
        "rupor_inbox_oldest_waiting_seconds",
        "Seconds since the oldest item waiting for an answer was written (0 when none waits).",
        intake.oldest_waiting_s,
    )
    yield _gauge(
        "rupor_inbox_staged_deliveries",
        "Webhook deliveries taken in and not yet stored as items.",
        intake.staged,
    )
    yield _gauge(
        "rupor_inbox_staged_stuck_deliveries",
        "Staged webhook deliveries the drainer gave up on (left for people to look at).",
        intake.staged_stuck,
    )
    yield _gauge(
        "rupor_inbox_oldest_staged_seconds",
        "Seconds since the oldest staged webhook delivery arrived (0 when none is staged).",
        intake.oldest_staged_s,
    )
    yield _gauge(
        "rupor_inbox_polls_failing_channels",
        "Channels whose last inbox poll failed (retried with back-off).",
        intake.polls_failing,
    )
    yield _histogram(
        "rupor_inbox_intake_latency_seconds",
        f"Seconds from written on the network to stored in the inbox, for items received in the last "
        f"{int(intake.window_s // 60)} minutes.",
        intake.latency_recent,
    )


def _collection_and_outbox(snap: OperationsSnapshot) -> Iterator[Metric]:
    yield _labelled(
        "rupor_analytics_overdue_readings",
        "Post metric readings past their scheduled time, by network.",
        "network",
        snap.collection.overdue_by_network,
    )
    yield _gauge(
        "rupor_analytics_collection_lag_seconds",
        "How late the most overdue metric reading is (0 when none is overdue).",
        snap.collection.oldest_overdue_s,
    )
    yield _labelled(
        "rupor_notification_outbox_pending",
        "Emails and webhook calls waiting to be sent, by channel.",
        "channel",
        snap.outbox.pending,
    )
    yield _gauge("rupor_notification_outbox_due", "Pending notifications due now.", snap.outbox.due)
    yield _gauge(
        "rupor_notification_outbox_oldest_due_seconds",
        "How long the most overdue notification has been due (0 when none is).",
        snap.outbox.oldest_due_s,
    )
    yield _gauge(
        "rupor_notification_outbox_failed_24h",
        "Notifications given up on after every retry, in the last 24 hours.",
        snap.outbox.failed_24h,
    )


def _disk(snap: OperationsSnapshot) -> Iterator[Metric]:
    yield _gauge(
        "rupor_media_library_files", "Files in the media libraries of every workspace.", snap.media.files
    )
    yield _gauge("rupor_media_library_bytes", "Bytes of those files, as stored at upload.", snap.media.bytes)
    yield _labelled(
        "rupor_home_bytes",
        "Bytes under RUPOR_HOME: everything, the media directory, the SQLite database (walked at most once a minute).",
        "part",
        {
            "total": snap.home.total_bytes,
            "media": snap.home.media_bytes,
            "database": snap.home.database_bytes,
        },
    )
    yield _gauge(
        "rupor_home_disk_free_bytes",
        "Free bytes on the file system holding RUPOR_HOME.",
        snap.home.disk_free_bytes,
    )
    yield _gauge(
        "rupor_home_disk_size_bytes",
        "Size of the file system holding RUPOR_HOME.",
        snap.home.disk_total_bytes,
    )


class RuporCollector(Collector):
    """Reads one operations snapshot of the whole instance per scrape."""

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        snap = operations_snapshot(None)
        info = InfoMetricFamily("rupor", "The Rupor version answering.")
        info.add_metric([], {"version": __version__})
        yield info
        yield from _engine(snap)
        yield from _workers(snap)
        yield from _intake(snap)
        yield from _collection_and_outbox(snap)
        yield from _disk(snap)
        yield _gauge(
            "rupor_scrape_duration_seconds",
            "Seconds this scrape took to read the database and RUPOR_HOME.",
            time.perf_counter() - started,
        )


def render() -> bytes:
    """The exposition text of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RuporCollector())
    return generate_latest(registry)


def authorized(header: str) -> bool | None:
    """``None`` when /metrics is off (no RUPOR_METRICS_TOKEN); else whether ``header`` (the
    Authorization header) carries the token, compared in constant time."""
    token = config.metrics_token()
    if not token:
        return None
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


__all__ = ["CONTENT_TYPE", "RuporCollector", "authorized", "render"]
