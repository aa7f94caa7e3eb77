"""How the intake is doing, for the operations page and /metrics (``rupor.operations``): what
waits for an answer, webhook deliveries staged and not yet stored, polls failing, and how long
what the audience wrote took to reach the inbox. Counts and index ranges only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, Min, Q

from rupor.core import clock
from rupor.core.distribution import Distribution, by_group
from rupor.inbox import staging
from rupor.inbox.models import HookDelivery, InboxItem, IntakeCursor, ItemStatus

#: The window of the intake latency: items received this recently.
RECENT = dt.timedelta(hours=1)
#: The latency is measured over at most this many of the newest items (a range of the primary
#: key, so a scrape never scans the table): past it, the window is the time these took to arrive.
LATENCY_SAMPLE = 2000
#: What the audience wrote that still waits for an answer (the sidebar's counter).
WAITING = (ItemStatus.NEW, ItemStatus.IN_PROGRESS)


@dataclass(frozen=True)
class IntakeHealth:
    waiting: int  # items from the audience that wait for an answer
    oldest_waiting_s: float | None  # since the oldest of them was written
    staged: int  # webhook deliveries taken in, not yet stored as items
    staged_stuck: int  # of which the drainer gave up on (staging.MAX_ATTEMPTS failures)
    oldest_staged_s: float | None  # since the oldest staged delivery arrived
    polls_failing: int  # channels whose last poll failed (retried with back-off)
    #: Received in the last RECENT, per network: seconds from written on the network to stored.
    latency_recent: dict[str, Distribution] = field(default_factory=dict)
    window_s: float = RECENT.total_seconds()


def _age(now: dt.datetime, at: dt.datetime | None) -> float | None:
    return max(0.0, (now - at).total_seconds()) if at is not None else None


def intake_health(workspace_id: int | None = None) -> IntakeHealth:
    """The intake of one workspace, or (``None``) of the whole instance."""
    now = clock.now()
    items = InboxItem.objects.all()
    staged = HookDelivery.objects.all()
    cursors = IntakeCursor.objects.all()
    if workspace_id is not None:
        items = items.filter(workspace_id=workspace_id)
        staged = staged.filter(channel__workspace_id=workspace_id)
        cursors = cursors.filter(channel__workspace_id=workspace_id)
    waiting = items.filter(outgoing=False, status__in=WAITING).aggregate(
        n=Count("id"), oldest=Min("occurred_at")
    )
    stage = staged.aggregate(
        n=Count("id"),
        stuck=Count("id", filter=Q(attempts__gte=staging.MAX_ATTEMPTS)),
        oldest=Min("received_at"),
    )
    # The newest LATENCY_SAMPLE items of the instance (a range of the primary key), of which
    # those received within RECENT: counted by the database, grouped by network.
    newest = InboxItem.objects.aggregate(top=Max("pk"))["top"] or 0
    recent = items.filter(pk__gt=newest - LATENCY_SAMPLE, outgoing=False, received_at__gte=now - RECENT)
    latency = by_group(recent, "occurred_at", "received_at", "channel__network")
    return IntakeHealth(
        waiting=waiting["n"] or 0,
        oldest_waiting_s=_age(now, waiting["oldest"]),
        staged=stage["n"] or 0,
        staged_stuck=stage["stuck"] or 0,
        oldest_staged_s=_age(now, stage["oldest"]),
        polls_failing=cursors.filter(failures__gt=0).exclude(channel__status="archived").count(),
        latency_recent=latency,
    )


__all__ = ["IntakeHealth", "intake_health"]
