"""What the health page shows: workers alive, backlog, lateness, failures per network."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from rupor.channels import service as channels
from rupor.core import clock, config, dbwatch, http
from rupor.publishing.models import Attempt, PublicationTarget, TargetState, WorkerHeartbeat

#: A worker that has not checked in for this long is shown as gone.
ALIVE_WITHIN = dt.timedelta(seconds=60)

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


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    index = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[index]


def health_snapshot(workspace_id: int | None = None) -> HealthSnapshot:
    """The engine's health, for one workspace or (``None``) the whole instance."""
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
        )
        for w in WorkerHeartbeat.objects.filter(seen_at__gte=since)[:100]
    )
    due = targets.filter(state=TargetState.SCHEDULED, next_attempt_at__lte=now)
    oldest = due.order_by("due_at").values_list("due_at", flat=True).first()
    lateness = [
        max(0.0, (published - due_at).total_seconds())
        for due_at, published in targets.filter(
            state=TargetState.PUBLISHED, published_at__gte=since, due_at__isnull=False
        ).values_list("due_at", "published_at")[:100_000]
        if published is not None and due_at is not None
    ]
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
        for row in attempts.filter(started_at__gte=since)
        .exclude(outcome__in=["", "published", "waiting"])
        .values("outcome")
        .annotate(n=Count("id"))
    }
    counts = {row["state"]: row["n"] for row in targets.values("state").annotate(n=Count("id"))}
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
        published_24h=len(lateness),
        failures_24h=failures,
        attempt_errors_24h=errors,
        counts=counts,
        channel_errors=channel_errors,
        media_unreachable=media_unreachable(workspace_id),
        base_url=config.base_url(),
        database=dbwatch.recent(),
    )


__all__ = ["ChannelErrorView", "HealthSnapshot", "WorkerView", "health_snapshot", "media_unreachable"]
