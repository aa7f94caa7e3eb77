"""The periodic jobs the worker runs beside publishing, composed here at the entry point.

Publishing knows nothing of the inbox or analytics: ``rupor worker`` and ``rupor serve`` hand
this list to :func:`rupor.publishing.worker.run_worker`, which calls each job with the current
time on a thread of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence


def periodic_jobs() -> Sequence[Callable[[dt.datetime], object]]:
    """Token renewal and expiry warnings, staged webhook deliveries, inbox polling, keyword monitoring, triage and alerts (keyword
    trends too), then metric collection, the site traffic of tracked links (web analytics), the
    watched competitor pages and the scheduled client reports, newsletter sends (and their
    reads), the daily email digests, and giveaways closed at their end and drawn at their beacon
    round; each job decides itself what is due."""
    from rupor.analytics import competitors
    from rupor.analytics import jobs as analytics_jobs
    from rupor.analytics import reports as analytics_reports
    from rupor.giveaways import service as giveaways
    from rupor.inbox import alerts as inbox_alerts
    from rupor.inbox import jobs as inbox_jobs
    from rupor.inbox import trends
    from rupor.links import traffic
    from rupor.newsletters import service as newsletters
    from rupor.notifications import service as notifications
    from rupor.publishing import tokens

    return (
        tokens.run_due,
        inbox_jobs.run_staged,
        inbox_jobs.run_due,
        inbox_jobs.run_monitoring,
        inbox_jobs.run_triage,
        inbox_alerts.run_alerts,
        trends.run_alerts,
        analytics_jobs.run_due,
        traffic.run_due,
        competitors.run_due,
        analytics_reports.run_schedules,
        newsletters.run_due,
        notifications.send_digests,
        giveaways.run_due,
    )
