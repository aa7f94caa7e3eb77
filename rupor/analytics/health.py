"""How metric collection keeps up, for the operations page and /metrics (``rupor.operations``):
readings past their time (``PostStat.next_read_at``, an index range) and how late the oldest is.
The worker reads due posts once an hour and only when publishing leaves room, so up to about an
hour of lag is the normal rhythm; hours more mean collection is stuck."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Min

from rupor.analytics.models import PostStat
from rupor.core import clock


@dataclass(frozen=True)
class CollectionLag:
    overdue: int  # post readings past their time
    oldest_overdue_s: float | None  # how late the most overdue reading is
    overdue_by_network: dict[str, int] = field(default_factory=dict)


def collection_lag(workspace_id: int | None = None) -> CollectionLag:
    """Overdue readings of one workspace, or (``None``) of the whole instance (live channels)."""
    now = clock.now()
    due = PostStat.objects.filter(next_read_at__lte=now, deleted_at__isnull=True).exclude(
        channel__status="archived"
    )
    if workspace_id is not None:
        due = due.filter(workspace_id=workspace_id)
    by_network = {
        row["channel__network"]: row["n"] for row in due.values("channel__network").annotate(n=Count("id"))
    }
    oldest = due.aggregate(at=Min("next_read_at"))["at"]
    return CollectionLag(
        overdue=sum(by_network.values()),
        oldest_overdue_s=max(0.0, (now - oldest).total_seconds()) if oldest else None,
        overdue_by_network=dict(sorted(by_network.items())),
    )


__all__ = ["CollectionLag", "collection_lag"]
