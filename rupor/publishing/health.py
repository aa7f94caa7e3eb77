"""The engine's health: workers alive, backlog, lateness, failures per network, rate-limit waits.

The publishing page, the operations page, the API and /metrics all read :func:`health_snapshot`
(the operations page and /metrics through ``rupor.operations``), so they show the same numbers.
Every query is a count or a range on an index (the scrape runs it every 15-60 s).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from rupor.channels import service as channels
from rupor.core import clock, config, dbwatch, http
from rupor.core.distribution import Distribution, by_group, distribution
from rupor.publishing.models import Attempt, PublicationTarget, TargetState, WorkerHeartbeat

#: A worker that has not checked in for this long is shown as gone.
ALIVE_WITHIN = dt.timedelta(seconds=60)

#: The recent window of the lateness histogram and the attempts by outcome: short enough that an
#: alert fires (and clears) within the hour, long enough to hold a quiet instance's few posts.
RECENT = dt.timedelta(hours=1)

#: Every state a target can be in (the counts of /metrics name each, zeros included).
STATES: tuple[str, ...] = tuple(TargetState.values)

#: Outcomes of an attempt that are not errors.
OK_OUTCOMES = ("published", "waiting", "edited")

#: Networks that fetch pictures and videos from Rupor's public media links (the Graph API takes
#: an address, not the bytes), so they need ``RUPOR_BASE_URL`` reachable from the internet.
MEDIA_BY_URL_NETWORKS = ("facebook", "instagram")


@dataclass(frozen=True)
class WorkerView:
    worker_id: str
    hostname: str
    pid: int
    started_at: dt.datetime
    seen_at: dt.datetime
    in_flight: int
    done: int
    alive: bool
    #: Database connections refused, lost or exhausted since the worker started, and the last one.
    db_errors: int = 0
    db_error_at: dt.datetime | None = None
    db_error: str = ""
    age_s: float = 0.0  # since its last heartbeat
    stopped: bool = False  # said goodbye (a clean stop), as opposed to gone quiet
    #: Since it started, per network: {"inline": n, "inline_s": s, "deferred": n, "deferred_s": s}.
    rate_waits: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishErrorView:
    """The newest publication on a channel that is stuck on an error (failed, unconfirmed, held,
    missed, or retrying after one)."""

    channel_id: int
    name: str
    network: str
    target_id: int
    state: str
    kind: str
    message: str
    at: dt.datetime


@dataclass(frozen=True)
class ChannelErrorView:
    """A channel whose last periodic job (inbox polling, metric collection, a webhook) failed."""

    channel_id: int
    name: str
    network: str
    job: str  # translated name of the job
    message: str
    at: dt.datetime | None


@dataclass(frozen=True)
class HealthSnapshot:
    at: dt.datetime
    workers_alive: int
    workers: tuple[WorkerView, ...]
    backlog: int  # due now and not yet out
    oldest_due_s: float | None  # how late the most overdue waiting target already is
    p50_lateness_s: float | None  # over targets published in the last 24 h
    p99_lateness_s: float | None
    published_24h: int
    failures_24h: dict[str, int]  # network -> failed, missed or unconfirmed targets
    attempt_errors_24h: dict[str, int]  # error kind -> attempts that ended with it
    counts: dict[str, int]  # state -> targets
    channel_errors: tuple[ChannelErrorView, ...] = ()  # newest failure first
    #: Networks of live channels that fetch media from RUPOR_BASE_URL while the internet cannot
    #: reach it (a loopback or private address): their posts with media will fail.
    media_unreachable: tuple[str, ...] = ()
    base_url: str = ""
    #: What every Rupor process met with the database in the last 15 minutes (refused, lost,
    #: exhausted connections), read from the journal the database is not needed for.
    database: tuple[dbwatch.Trouble, ...] = ()
    #: Published in the last :data:`RECENT`, per network: seconds from the planned time.
    lateness_recent: dict[str, Distribution] = field(default_factory=dict)
    #: Attempts that ended in the last :data:`RECENT`: network -> outcome -> attempts.
    attempts_recent: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Rate-limit waits of the workers seen in 24 h, added up per network.
    rate_waits: dict[str, dict[str, float]] = field(default_factory=dict)
    publish_errors: tuple[PublishErrorView, ...] = ()  # one per channel, newest first
    window_s: float = RECENT.total_seconds()

    @property
    def lateness_recent_all(self) -> Distribution:
        """The recent lateness of every network together."""
        return merged(self.lateness_recent.values())


def media_unreachable(workspace_id: int | None) -> tuple[str, ...]:
    """The networks (of :data:`MEDIA_BY_URL_NETWORKS`) with a channel here that cannot fetch media,
    because ``RUPOR_BASE_URL`` is not reachable from the internet; empty when it is. A channel
    whose API address is itself local (the demo's emulators, a stand-in on this network) can
    reach Rupor and is left out."""
    if http.reachable_from_internet(config.base_url()):
        return ()
    present = {
        network
        for network, api in channels.channel_addresses(MEDIA_BY_URL_NETWORKS, workspace_id)
        if not api or http.reachable_from_internet(api)
    }
    return tuple(n for n in MEDIA_BY_URL_NETWORKS if n in present)


def merged(parts: Iterable[Distribution]) -> Distribution:
    """Distributions with the same bounds added up."""
    items = list(parts)
    if not items:
        return distribution(())
    bounds = items[0].bounds
    return Distribution(
        bounds=bounds,
        cumulative=tuple(sum(d.cumulative[i] for d in items) for i in range(len(bounds))),
        count=sum(d.count for d in items),
        total_s=sum(d.total_s for d in items),
    )


def _summed_waits(workers: tuple[WorkerView, ...]) -> dict[str, dict[str, float]]:
    total: dict[str, dict[str, float]] = {}
    for w in workers:
        for network, row in w.rate_waits.items():
            into = total.setdefault(network, {"inline": 0, "inline_s": 0.0, "deferred": 0, "deferred_s": 0.0})
            for key in into:
                into[key] += float(row.get(key, 0) or 0)
    return total


def _publish_errors(targets: QuerySet[PublicationTarget]) -> tuple[PublishErrorView, ...]:
    """The newest error per channel among publications still stuck on one."""
    rows = (
        targets.filter(
            state__in=[
                TargetState.FAILED,
                TargetState.UNCONFIRMED,
                TargetState.HELD,
                TargetState.MISSED,
                TargetState.SCHEDULED,
            ]
        )
        .exclude(error_message="")
        .order_by("-updated_at", "-pk")
        .values_list(
            "channel_id",
            "channel__name",
            "channel__network",
            "pk",
            "state",
            "error_kind",
            "error_message",
            "updated_at",
        )[:500]
    )
    seen: dict[int, PublishErrorView] = {}
    for channel_id, name, network, pk, state, kind, message, at in rows:
        if channel_id not in seen:
            seen[channel_id] = PublishErrorView(channel_id, name, network, pk, state, kind, message, at)
    return tuple(seen.values())[:100]


def _recent(
    targets: QuerySet[PublicationTarget], attempts: QuerySet[Attempt], since: dt.datetime
) -> tuple[dict[str, Distribution], dict[str, dict[str, int]]]:
    """Lateness per network of what was published since ``since``, and the attempts that ended
    since then by network and outcome (both ranges on an index)."""
    late = by_group(
        targets.filter(state=TargetState.PUBLISHED, published_at__gte=since),
        "due_at",
        "published_at",
        "channel__network",
    )
    outcomes: dict[str, dict[str, int]] = {}
    for row in (
        attempts.filter(finished_at__gte=since)
        .exclude(outcome="")
        .values("target__channel__network", "outcome")
        .annotate(n=Count("id"))
    ):
        outcomes.setdefault(row["target__channel__network"], {})[row["outcome"]] = row["n"]
    return late, outcomes


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[index]


def health_snapshot(workspace_id: int | None = None, *, day_percentiles: bool = True) -> HealthSnapshot:
    """The engine's health, for one workspace or (``None``) the whole instance.

    ``day_percentiles=False`` leaves out the exact p50/p99 lateness of the last 24 h (None), which
    reads every publication of the day: the operations snapshot, read on every scrape, has the
    last hour's distribution counted by the database instead (``lateness_recent``)."""
    now = clock.now()
    since = now - dt.timedelta(hours=24)
    targets = PublicationTarget.objects.all()
    attempts = Attempt.objects.all()
    if workspace_id is not None:
        targets = targets.filter(workspace_id=workspace_id)
        attempts = attempts.filter(target__workspace_id=workspace_id)
    workers = tuple(
        WorkerView(
            w.worker_id,
            w.hostname,
            w.pid,
            w.started_at,
            w.seen_at,
            w.in_flight,
            w.done,
            w.stopped_at is None and now - w.seen_at <= ALIVE_WITHIN,
            w.db_errors,
            w.db_error_at,
            w.db_error,
            age_s=max(0.0, (now - w.seen_at).total_seconds()),
            stopped=w.stopped_at is not None,
            rate_waits={str(k): dict(v) for k, v in (w.rate_waits or {}).items() if isinstance(v, dict)},
        )
        for w in WorkerHeartbeat.objects.filter(seen_at__gte=since)[:100]
    )
    due = targets.filter(state=TargetState.SCHEDULED, next_attempt_at__lte=now)
    oldest = due.order_by("due_at").values_list("due_at", flat=True).first()
    day = targets.filter(state=TargetState.PUBLISHED, published_at__gte=since, due_at__isnull=False)
    lateness = (
        [
            max(0.0, (published - due_at).total_seconds())
            for due_at, published in day.values_list("due_at", "published_at")[:100_000]
            if published is not None and due_at is not None
        ]
        if day_percentiles
        else []
    )
    failures = {
        row["channel__network"]: row["n"]
        for row in targets.filter(
            Q(state__in=[TargetState.FAILED, TargetState.MISSED, TargetState.UNCONFIRMED]),
            updated_at__gte=since,
        )
        .values("channel__network")
        .annotate(n=Count("id"))
    }
    errors = {
        row["outcome"]: row["n"]
        for row in attempts.filter(finished_at__gte=since)  # attempt_finished_idx: a range, not a scan
        .exclude(outcome__in=["", "published", "waiting"])
        .values("outcome")
        .annotate(n=Count("id"))
    }
    counts = {row["state"]: row["n"] for row in targets.values("state").annotate(n=Count("id"))}
    lateness_recent, attempts_recent = _recent(targets, attempts, now - RECENT)
    channel_errors = tuple(
        ChannelErrorView(c.pk, c.name, c.network, c.last_error_job_label, c.last_error, c.last_error_at)
        for c in channels.channels_with_errors(workspace_id)[:100]
    )
    return HealthSnapshot(
        at=now,
        workers_alive=sum(1 for w in workers if w.alive),
        workers=workers,
        backlog=due.count(),
        oldest_due_s=(now - oldest).total_seconds() if oldest else None,
        p50_lateness_s=_percentile(lateness, 0.50),
        p99_lateness_s=_percentile(lateness, 0.99),
        published_24h=len(lateness) if day_percentiles else day.count(),
        failures_24h=failures,
        attempt_errors_24h=errors,
        counts=counts,
        channel_errors=channel_errors,
        media_unreachable=media_unreachable(workspace_id),
        base_url=config.base_url(),
        database=dbwatch.recent(),
        lateness_recent=lateness_recent,
        attempts_recent=attempts_recent,
        rate_waits=_summed_waits(workers),
        publish_errors=_publish_errors(targets),
    )


__all__ = [
    "STATES",
    "ChannelErrorView",
    "HealthSnapshot",
    "PublishErrorView",
    "WorkerView",
    "health_snapshot",
    "media_unreachable",
    "merged",
]
