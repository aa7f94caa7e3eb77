"""One snapshot of how Rupor runs: the engine (``publishing/health.py``), the intake
(``inbox/health.py``), metric collection (``analytics/health.py``), the notification outbox
(``notifications/health.py``), the media library (``planning/health.py``) and RUPOR_HOME on disk
(``core/disk.py``).

For a workspace (the operations page, the API) every figure is that workspace's, except the
workers and RUPOR_HOME, which belong to the whole instance; for ``None`` (/metrics) everything is
the instance's. The page and /metrics read the same snapshot, so they never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rupor.analytics.health import CollectionLag, collection_lag
from rupor.core import clock, config, disk
from rupor.core.disk import HomeUsage
from rupor.inbox.health import IntakeHealth, intake_health
from rupor.notifications.health import OutboxBacklog, outbox_backlog
from rupor.planning.health import MediaUsage, media_usage
from rupor.publishing.health import HealthSnapshot, health_snapshot


@dataclass(frozen=True)
class OperationsSnapshot:
    at: dt.datetime
    workspace_id: int | None  # None: the whole instance
    engine: HealthSnapshot
    intake: IntakeHealth
    collection: CollectionLag
    outbox: OutboxBacklog
    media: MediaUsage  # the workspace's library (every library for None)
    home: HomeUsage  # RUPOR_HOME: the instance's files and free disk


def operations_snapshot(workspace_id: int | None = None) -> OperationsSnapshot:
    return OperationsSnapshot(
        at=clock.now(),
        workspace_id=workspace_id,
        # The last hour's lateness distribution stands in for the day's exact percentiles.
        engine=health_snapshot(workspace_id, day_percentiles=False),
        intake=intake_health(workspace_id),
        collection=collection_lag(workspace_id),
        outbox=outbox_backlog(workspace_id),
        media=media_usage(workspace_id),
        home=disk.home_usage(config.home()),
    )


__all__ = ["OperationsSnapshot", "operations_snapshot"]
