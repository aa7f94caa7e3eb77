"""The notification outbox, for the operations page and /metrics (``rupor.operations``): emails
and webhook calls waiting to go, how late the oldest due one is, and those given up on."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Min, Q

from rupor.core import clock
from rupor.notifications.models import Delivery

#: Deliveries given up on are counted over this window (they stay in the table).
FAILED_WINDOW = dt.timedelta(hours=24)


@dataclass(frozen=True)
class OutboxBacklog:
    pending: dict[str, int] = field(default_factory=dict)  # email | webhook -> waiting to go
    due: int = 0  # of those, due now (the rest wait for a retry's back-off)
    oldest_due_s: float | None = None  # how long the most overdue one has been due
    failed_24h: int = 0  # given up on after every retry, in the last 24 h


def outbox_backlog(workspace_id: int | None = None) -> OutboxBacklog:
    """The outbox of one workspace, or (``None``) of the whole instance."""
    now = clock.now()
    rows = Delivery.objects.all()
    if workspace_id is not None:
        rows = rows.filter(workspace_id=workspace_id)
    pending = rows.filter(state=Delivery.State.PENDING)
    by_channel = {row["channel"]: row["n"] for row in pending.values("channel").annotate(n=Count("id"))}
    due = pending.filter(next_attempt_at__lte=now).aggregate(n=Count("id"), oldest=Min("next_attempt_at"))
    failed = rows.filter(Q(state=Delivery.State.FAILED), next_attempt_at__gte=now - FAILED_WINDOW).count()
    return OutboxBacklog(
        pending={c: by_channel.get(c, 0) for c in Delivery.Channel.values},
        due=due["n"] or 0,
        oldest_due_s=max(0.0, (now - due["oldest"]).total_seconds()) if due["oldest"] else None,
        failed_24h=failed,
    )


__all__ = ["OutboxBacklog", "outbox_backlog"]
